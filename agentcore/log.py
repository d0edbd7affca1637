"""Structured logging for agentcore.

Library code only asks for a logger and emits events (``log.info("model.call", model=...)``);
events travel through the standard library's ``logging`` under the ``agentcore`` logger, so
nothing is printed unless the application configures logging, and a disabled level costs one
``isEnabledFor`` check.

Fields are redacted (see :mod:`agentcore.redaction`) before the record is created, so no
handler, not even one the application wrote itself, ever sees an API key or a secret field.

An application that wants readable output calls :func:`configure` once; a test that wants to
check what was logged uses :func:`capture_events`.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any, Literal, TextIO

import structlog

from agentcore.redaction import Redactor, redact, redact_value

__all__ = [
    "LOGGER_NAME",
    "EventLogger",
    "Redactor",
    "capture_events",
    "configure",
    "get_logger",
    "redact",
    "redact_value",
]

LOGGER_NAME = "agentcore"
"""The stdlib logger every agentcore event goes through (``agentcore.<module>`` below it)."""

# The usual courtesy of a library: without a handler of its own, a warning emitted before the
# application set logging up would reach Python's last-resort handler and print on stderr.
logging.getLogger(LOGGER_NAME).addHandler(logging.NullHandler())

_DEFAULT_REDACTOR = Redactor()


class EventLogger:
    """Emits named events with fields through a stdlib logger.

    The event name is the record's message; the fields, already redacted, travel in
    ``record.event_fields`` so a structlog ``ProcessorFormatter`` (see :func:`configure`)
    renders them as keys.
    """

    __slots__ = ("_context", "_logger", "_redactor")

    def __init__(
        self,
        logger: logging.Logger,
        context: dict[str, Any] | None = None,
        *,
        redactor: Redactor | None = None,
    ) -> None:
        self._logger = logger
        self._context = context or {}
        self._redactor = redactor or _DEFAULT_REDACTOR

    @property
    def redactor(self) -> Redactor:
        """What this logger replaces in every event; a component scrubs the errors it raises
        with the same redactor, so its events and its errors hide the same secrets."""
        return self._redactor

    def bind(self, **fields: Any) -> EventLogger:
        """Return a logger that adds ``fields`` to every event."""
        return EventLogger(self._logger, {**self._context, **fields}, redactor=self._redactor)

    def with_secret_fields(self, names: Iterable[str]) -> EventLogger:
        """Return a logger that also redacts the fields ``names`` (a tool's secret fields)."""
        return EventLogger(
            self._logger, self._context, redactor=self._redactor.with_secret_fields(names)
        )

    def with_secret_values(self, values: Iterable[str]) -> EventLogger:
        """Return a logger that also replaces the texts ``values`` wherever they appear.

        Use it for the arguments a call passed in secret fields, which an exception
        message or a traceback may quote.
        """
        return EventLogger(
            self._logger, self._context, redactor=self._redactor.with_secret_values(values)
        )

    def is_enabled_for(self, level: int) -> bool:
        """Whether an event at ``level`` would be emitted."""
        return self._logger.isEnabledFor(level)

    def _emit(self, level: int, event: str, fields: dict[str, Any]) -> None:
        merged = {**self._context, **fields} if self._context else fields
        self._logger.log(
            level,
            event,
            extra={"event_fields": self._redactor.redact_fields(merged)},
            stacklevel=3,
        )

    def debug(self, event: str, **fields: Any) -> None:
        """Emit ``event`` at DEBUG level."""
        if self._logger.isEnabledFor(logging.DEBUG):
            self._emit(logging.DEBUG, event, fields)

    def info(self, event: str, **fields: Any) -> None:
        """Emit ``event`` at INFO level."""
        if self._logger.isEnabledFor(logging.INFO):
            self._emit(logging.INFO, event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        """Emit ``event`` at WARNING level."""
        if self._logger.isEnabledFor(logging.WARNING):
            self._emit(logging.WARNING, event, fields)

    def error(self, event: str, **fields: Any) -> None:
        """Emit ``event`` at ERROR level."""
        if self._logger.isEnabledFor(logging.ERROR):
            self._emit(logging.ERROR, event, fields)


def get_logger(name: str) -> EventLogger:
    """Return the event logger for the stdlib logger ``name`` (use ``agentcore.<module>``)."""
    return EventLogger(logging.getLogger(name))


# --- rendering -------------------------------------------------------------------------


def _merge_event_fields(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Move an :class:`EventLogger` record's fields into the event dict."""
    record = event_dict.get("_record")
    fields = getattr(record, "event_fields", None)
    if isinstance(fields, dict):
        for key, value in fields.items():
            event_dict.setdefault(key, value)
    return event_dict


class _AgentcoreHandler(logging.StreamHandler[TextIO]):
    """The handler :func:`configure` installs; recognised so that a second call replaces it."""


Renderer = Literal["auto", "console", "json"]


def configure(
    *,
    renderer: Renderer = "auto",
    level: int | str = "INFO",
    stream: TextIO | None = None,
    secret_fields: Iterable[str] = (),
    force: bool = False,
) -> bool:
    """Send agentcore's events to ``stream``: readable in a terminal, JSON lines otherwise.

    Only the ``agentcore`` logger is touched (a handler, its level, and no propagation to
    the root logger while the handler is installed); the root logger and the rest of the
    application's logging are left alone. If logging is already set up, because the
    ``agentcore`` logger or the root logger has handlers the application installed, nothing
    is changed and the events keep flowing to those handlers, unless ``force`` is true.
    Calling it again replaces the handler it installed before.

    Args:
        renderer: ``"console"`` for colored key=value lines, ``"json"`` for one JSON object
            per line, ``"auto"`` for console when ``stream`` is a terminal and JSON otherwise.
        level: The lowest level emitted (a name such as ``"DEBUG"`` or a number).
        stream: Where lines are written; the default is standard error.
        secret_fields: Field names to redact on top of the built-in credential names.
        force: Install even though the application already set logging up.

    Returns:
        Whether the handler was installed.
    """
    logger = logging.getLogger(LOGGER_NAME)
    ours = [handler for handler in logger.handlers if isinstance(handler, _AgentcoreHandler)]
    theirs = [
        handler
        for handler in logger.handlers
        if handler not in ours and type(handler) is not logging.NullHandler
    ]
    if not ours and not force and (theirs or logging.getLogger().handlers):
        return False
    out = stream if stream is not None else sys.stderr
    chosen = renderer
    if chosen == "auto":
        chosen = "console" if _is_terminal(out) else "json"
    final: Any
    if chosen == "console":
        final = structlog.dev.ConsoleRenderer(colors=_is_terminal(out))
    elif chosen == "json":
        final = structlog.processors.JSONRenderer()
    else:
        raise ValueError(f"renderer must be 'auto', 'console' or 'json', not {renderer!r}")
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            _merge_event_fields,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            Redactor(secret_fields),
            final,
        ],
    )
    handler = _AgentcoreHandler(out)
    handler.setFormatter(formatter)
    for old in ours:
        logger.removeHandler(old)
    logger.addHandler(handler)
    logger.setLevel(level.upper() if isinstance(level, str) else level)
    logger.propagate = False
    return True


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


# --- capturing -------------------------------------------------------------------------


class _CapturingHandler(logging.Handler):
    def __init__(self, sink: list[dict[str, Any]]) -> None:
        super().__init__(logging.DEBUG)
        self._sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        fields = getattr(record, "event_fields", None)
        event: dict[str, Any] = {
            "event": record.getMessage(),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        if isinstance(fields, dict):
            event.update(fields)
        self._sink.append(event)


@contextmanager
def capture_events(level: int = logging.DEBUG) -> Iterator[list[dict[str, Any]]]:
    """Collect the events agentcore emits inside the block, as dicts.

    Each dict holds ``event``, ``level`` and ``logger`` plus the event's fields exactly as
    a handler receives them (already redacted)::

        with capture_events() as events:
            agent.run("hello")
        assert [e["event"] for e in events] == ["run.start", "model.call", "run.finish"]

    The ``agentcore`` logger's level is lowered to ``level`` for the block and restored after.
    """
    logger = logging.getLogger(LOGGER_NAME)
    events: list[dict[str, Any]] = []
    handler = _CapturingHandler(events)
    previous_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield events
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
