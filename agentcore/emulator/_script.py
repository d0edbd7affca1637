"""Reply scripts on disk for the emulator: a JSON list or JSONL, one reply per item."""

from __future__ import annotations

import json
from pathlib import Path

from agentcore.testing._replies import ErrorReply, Reply

__all__ = ["ScriptFileError", "load_script"]


class ScriptFileError(ValueError):
    """A reply script file that cannot be read as replies."""


def load_script(path: str | Path) -> list[Reply]:
    """Read replies from a JSON file (a list) or a JSONL file (one reply per line).

    A reply is a Message dict, or an error: ``{"type": "error", "status": 429, "error":
    {"type": "rate_limit_error", "message": "..."}, "headers": {"retry-after": "1"}}``.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise ScriptFileError(f"cannot read reply script {file}: {error.strerror}") from None
    try:
        stripped = text.lstrip()
        if stripped.startswith("["):
            items = json.loads(text)
        else:
            items = [json.loads(line) for line in text.splitlines() if line.strip()]
    except ValueError as error:
        raise ScriptFileError(f"reply script {file} is not JSON or JSONL: {error}") from None
    replies: list[Reply] = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise ScriptFileError(f"reply script {file}: reply {number} is not an object")
        if item.get("type") == "error":
            details = item.get("error") or {}
            status = item.get("status")
            if not isinstance(status, int) or not isinstance(details, dict):
                raise ScriptFileError(f"reply script {file}: error reply {number} needs an "
                                      "integer 'status' and an 'error' object")
            replies.append(ErrorReply(status, str(details.get("type", "api_error")),
                                      str(details.get("message", "")),
                                      dict(item.get("headers") or {})))
        elif isinstance(item.get("content"), list):
            replies.append(item)
        else:
            raise ScriptFileError(f"reply script {file}: reply {number} is neither a message "
                                  "(with a 'content' list) nor an error")
    return replies
