"""Versioned system prompts: treat a prompt like code, know which one every call used.

A :class:`SystemPrompt` is the text plus a name and a version. The version defaults to a
hash of the text, so any edit changes it; a file may set both in a small front matter::

    ---
    name: support-triage
    version: 2026-03-01
    ---
    You are a support agent for ...

The agent logs ``prompt_name`` and ``prompt_version`` on every ``model.call`` event and
stores them with the run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from agentcore.errors import ConfigurationError

__all__ = ["SystemPrompt", "content_version"]

_FRONT_MATTER_FENCE = "---"
_FRONT_MATTER_KEYS = frozenset({"name", "version"})


def content_version(text: str) -> str:
    """The default version of a prompt: ``"sha256:"`` and 12 hex digits of its UTF-8 text."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class SystemPrompt:
    """A system prompt with a name and a version; ``str(prompt)`` is its text."""

    text: str
    """What is sent as the request's ``system``."""
    name: str | None = None
    """A stable name for logs and stored runs (a file's name when loaded from one)."""
    version: str = field(default="")
    """An explicit version, or the content hash (see :func:`content_version`) when empty."""

    def __post_init__(self) -> None:
        if not self.text.strip():
            label = f" {self.name!r}" if self.name else ""
            raise ConfigurationError(f"system prompt{label} is empty")
        if not self.version:
            object.__setattr__(self, "version", content_version(self.text))

    def __str__(self) -> str:
        return self.text

    @classmethod
    def from_file(
        cls, path: str | Path, *, name: str | None = None, version: str | None = None
    ) -> SystemPrompt:
        """Read a prompt from a UTF-8 text file, with an optional front matter.

        Args:
            path: The file. It may start with a ``---`` fenced block of ``name:`` and
                ``version:`` lines; the text is what follows, without surrounding blank lines.
            name: Overrides the front matter's name; the default is the file's stem.
            version: Overrides the front matter's version; the default is the content hash.

        Raises:
            ConfigurationError: The file cannot be read, its front matter is malformed, or
                it holds no prompt text.
        """
        location = Path(path)
        try:
            raw = location.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise ConfigurationError(
                f"cannot read system prompt file {str(location)!r}: {reason}"
            ) from exc
        meta, text = _split_front_matter(raw, location)
        return cls(
            text=text.strip("\r\n"),
            name=name or meta.get("name") or location.stem,
            version=version or meta.get("version") or "",
        )


def _split_front_matter(raw: str, location: Path) -> tuple[dict[str, str], str]:
    lines = raw.lstrip("\ufeff").splitlines(keepends=True)
    if not lines or lines[0].strip() != _FRONT_MATTER_FENCE:
        return {}, raw.lstrip("\ufeff")
    meta: dict[str, str] = {}
    for number, line in enumerate(lines[1:], start=2):
        stripped = line.strip()
        if stripped == _FRONT_MATTER_FENCE:
            return meta, "".join(lines[number:])
        if not stripped or stripped.startswith("#"):
            continue
        key, colon, value = stripped.partition(":")
        key = key.strip()
        if not colon or key not in _FRONT_MATTER_KEYS:
            raise ConfigurationError(
                f"{str(location)!r} line {number}: front matter takes 'name: ...' and "
                f"'version: ...' lines only, got {stripped!r}"
            )
        meta[key] = value.strip().strip("'\"")
    raise ConfigurationError(
        f"{str(location)!r}: front matter opened with '---' on line 1 is never closed"
    )
