"""The request the emulator's API surface sees, whatever server parsed it.

:class:`HTTPRequest` is what :meth:`EmulatorApp.handle <agentcore.emulator._app.EmulatorApp.handle>`
takes; the ASGI layer (:mod:`agentcore.emulator._asgi`) builds it from each request.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAX_BODY_BYTES", "HTTPRequest"]

MAX_BODY_BYTES = 32 * 1024 * 1024
"""The Messages API's request size limit; larger bodies get 413."""


@dataclass(slots=True)
class HTTPRequest:
    """One parsed request. Header names are lower-case."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""
    keep_alive: bool = True
