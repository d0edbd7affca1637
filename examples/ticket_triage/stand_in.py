"""The emulator's stand-in for the model in this example: keyword rules, not a model.

It lets the example run offline and deterministically; every printed report says so.
"""

from __future__ import annotations

import re
from typing import Any

from agentcore.testing import text_reply

# First match wins, so wishes are recognised before the words they mention.
_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("feature_request", re.compile(
        r"would (love|be great|make)|could you (add|offer)|please (add|consider)|"
        r"could the app|would be lovely|lovely\b", re.I)),
    ("bug", re.compile(
        r"crash|error|blank screen|freez|does nothing|do not load|empties itself|"
        r"someone else's name", re.I)),
    ("account", re.compile(
        r"sign in|signed|log(ged)? ?(in|out)|password|account|profile|email|two-factor", re.I)),
    ("billing", re.compile(
        r"refund|charged|charge|invoice|billed|card|price|paid|payment|fee", re.I)),
    ("shipping", re.compile(
        r"parcel|deliver|tracking|courier|ship|address|box arrived|collection point|"
        r"warehouse|package", re.I)),
)


def categorize(ticket: str) -> str:
    """The category the keyword rules give ``ticket``."""
    for category, pattern in _RULES:
        if pattern.search(ticket):
            return category
    return "other"


def reply(body: dict[str, Any]) -> dict[str, Any]:
    """Answer one Messages request of the batch with the ticket's category."""
    content = body["messages"][-1]["content"]
    text = content if isinstance(content, str) else " ".join(
        block.get("text", "") for block in content if isinstance(block, dict)
    )
    return text_reply(categorize(text))
