"""Structured logging for agentcore.

Library code only asks for a logger and emits events (``log.info("model.call", model=...)``);
events travel through the standard library's ``logging`` under the ``agentcore`` logger, so
nothing is printed unless the application configures logging, and a disabled level costs one
``isEnabledFor`` check.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["EventLogger", "get_logger"]


class EventLogger:
    """Emits named events with fields through a stdlib logger.

    The event name is the record's message; the fields travel in ``record.event_fields``
    so a structlog ``ProcessorFormatter`` (see :func:`configure`) renders them as keys.
    """

    __slots__ = ("_context", "_logger")

    def __init__(self, logger: logging.Logger, context: dict[str, Any] | None = None) -> None:
        self._logger = logger
        self._context = context or {}

    def bind(self, **fields: Any) -> EventLogger:
        """Return a logger that adds ``fields`` to every event."""
        return EventLogger(self._logger, {**self._context, **fields})

    def is_enabled_for(self, level: int) -> bool:
        """Whether an event at ``level`` would be emitted."""
        return self._logger.isEnabledFor(level)

    def _emit(self, level: int, event: str, fields: dict[str, Any]) -> None:
        merged = {**self._context, **fields} if self._context else fields
        self._logger.log(level, event, extra={"event_fields": merged}, stacklevel=3)

    def debug(self, event: str, **fields: Any) -> None:
        if self._logger.isEnabledFor(logging.DEBUG):
            self._emit(logging.DEBUG, event, fields)

    def info(self, event: str, **fields: Any) -> None:
        if self._logger.isEnabledFor(logging.INFO):
            self._emit(logging.INFO, event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        if self._logger.isEnabledFor(logging.WARNING):
            self._emit(logging.WARNING, event, fields)

    def error(self, event: str, **fields: Any) -> None:
        if self._logger.isEnabledFor(logging.ERROR):
            self._emit(logging.ERROR, event, fields)


def get_logger(name: str) -> EventLogger:
    """Return the event logger for the stdlib logger ``name`` (use ``agentcore.<module>``)."""
    return EventLogger(logging.getLogger(name))
