"""How a run looks on the console: streamed text, compact tool calls, the sources an answer
cites, a live status line while the agent waits, and a cost footer; every line wrapped to the
terminal's width."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, TextIO

from agentcore import (
    AlwaysAllow,
    ApprovalDecided,
    ApprovalRequested,
    Citation,
    Deny,
    Edit,
    ModelTurnCompleted,
    ModelWait,
    ModelWaiting,
    RunEvent,
    RunFinished,
    TextDelta,
    ToolCallStarted,
    ToolResultEvent,
)
from agentcore.state import TurnRecord
from agentcore.terminal import StreamWrapper, terminal_safe, terminal_width, wrap
from agentcore.usage import PriceTable, UsageTotals
from examples.support_agent.status import StatusLine

__all__ = [
    "Ledger",
    "Style",
    "TurnPrinter",
    "compact_call",
    "compact_result",
    "source_line",
    "wait_text",
]

_ASSISTANT = "assistant> "
_SLOW_AFTER_S = 15.0
"""After this long without a reply, the status line says the model is slow to answer."""

_RETRY_CAUSES = MappingProxyType(
    {
        "rate_limit_error": "rate limited",
        "overloaded_error": "the API is overloaded",
        "api_error": "the API failed",
        "timeout": "the request timed out",
        "connection_error": "the connection failed",
        "stream_failed": "the stream broke off",
        "malformed_response": "the reply was malformed",
    }
)


def wait_text(wait: ModelWait, remaining_s: float | None = None) -> str:
    """``rate limited, retrying in 4 s (2/3)`` or ``waiting 4 s for the rate limit``."""
    seconds = wait.seconds if remaining_s is None else max(remaining_s, 0.0)
    shown = f"{math.ceil(seconds)} s" if seconds >= 1 else "under a second"
    if wait.reason == "rate_limit":
        detail = f" ({terminal_safe(wait.detail)})" if wait.detail else ""
        return f"waiting {shown} for the rate limit{detail}"
    detail = wait.detail or ""
    cause = _RETRY_CAUSES.get(detail)
    if cause is None:
        cause = "the server failed" if detail.startswith("http_5") else "the request failed"
    count = ""
    if wait.attempt is not None and wait.max_attempts is not None:
        count = f" ({wait.attempt}/{wait.max_attempts})"
    return f"{cause}, retrying in {shown}{count}"

_ARGUMENT_CHARS = 40
_RESULT_CHARS = 90
_QUOTE_CHARS = 70


_ANSI_CODES = MappingProxyType(
    {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}
)


class Style:
    """ANSI styling, or none (for pipes, files and ``NO_COLOR``)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, *styles: str) -> str:
        if not self.enabled or not styles:
            return text
        return "".join(f"\033[{_ANSI_CODES[s]}m" for s in styles) + text + "\033[0m"


def _cut(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, at a space when one is near."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space >= limit // 2:
        head = head[:space]
    return head.rstrip(" ,") + "…"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    if len(text) <= _ARGUMENT_CHARS:
        return text
    if isinstance(value, str):
        return _cut(text[:-1], _ARGUMENT_CHARS - 1) + '"'
    return _cut(text, _ARGUMENT_CHARS)


def compact_call(name: str, arguments: dict[str, Any]) -> str:
    """``refund_order(order_id="A-1001", amount_cents=2500, …)`` with long values cut."""
    shown = ", ".join(f"{key}={_short(value)}" for key, value in arguments.items())
    return f"{name}({shown})"


def compact_result(content: str | list[dict[str, Any]]) -> str:
    """A tool result in a few words: row counts for table results, else its first words."""
    if isinstance(content, list):
        content = " ".join(str(block.get("text", "")) for block in content)
    try:
        data = json.loads(content)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("rows"), list):
        count = len(data["rows"])
        return "no rows" if count == 0 else f"{count} row{'' if count == 1 else 's'}"
    if isinstance(data, dict):
        # key: value pairs read (and wrap) better than JSON without spaces.
        content = ", ".join(
            f"{key}: {value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)}"
            for key, value in data.items()
        )
    return _cut(" ".join(content.split()), _RESULT_CHARS)


def source_line(number: int, citation: Citation) -> str:
    """One cited source: ``[1] "quoted text…" — where it is``."""
    quote = " ".join(str(citation.cited_text or "").split())
    if len(quote) > _QUOTE_CHARS:
        quote = quote[: _QUOTE_CHARS - 1] + "…"
    where = (getattr(citation, "document_title", None) or getattr(citation, "title", None)
             or getattr(citation, "url", None) or citation.type)
    return terminal_safe(f"[{number}] \"{quote}\" — {where}")


@dataclass
class Ledger:
    """Tokens and dollars: one run's worth, or a whole session's."""

    model_calls: int = 0
    usage: UsageTotals = field(default_factory=UsageTotals)
    cost_usd: Decimal = Decimal(0)
    uncached_cost_usd: Decimal = Decimal(0)
    """What the same tokens would have cost without the prompt cache."""
    unpriced_models: set[str] = field(default_factory=set)

    def add_turn(self, turn: TurnRecord, prices: PriceTable) -> None:
        """Count one model call."""
        self.model_calls += 1
        self.usage.add(turn.usage)
        price = prices.lookup(turn.model)
        if price is None or turn.cost_usd is None:
            self.unpriced_models.add(turn.model)
            return
        usage = turn.usage
        prompt = (
            usage.input_tokens
            + (usage.cache_creation_input_tokens or 0)
            + (usage.cache_read_input_tokens or 0)
        )
        self.cost_usd += turn.cost_usd
        self.uncached_cost_usd += (
            prompt * price.input_per_mtok + usage.output_tokens * price.output_per_mtok
        ) / Decimal(1_000_000)

    def add(self, other: Ledger) -> None:
        """Add another ledger's counts to this one."""
        self.model_calls += other.model_calls
        for name, value in other.usage.to_dict().items():
            setattr(self.usage, name, getattr(self.usage, name) + value)
        self.cost_usd += other.cost_usd
        self.uncached_cost_usd += other.uncached_cost_usd
        self.unpriced_models |= other.unpriced_models

    def summary(self) -> str:
        """``3 model calls · input 8,134 tokens (4,620 read from the prompt cache, 2,310 written
        to it, 1,204 new) · output 187 · $0.0182 (cache saved $0.0125, 41%)``.

        The prompt cache holds the conversation so far, so most of each call's input is read
        from it (or written to it for the next call) and only the rest counts as new.
        """
        usage = self.usage
        calls = f"{self.model_calls} model call{'' if self.model_calls == 1 else 's'}"
        read, written = usage.cache_read_input_tokens, usage.cache_creation_input_tokens
        total = usage.input_tokens + read + written
        cached = []
        if read:
            cached.append(f"{read:,} read from the prompt cache")
        if written:
            cached.append(f"{written:,} written to it" if read else f"{written:,} written to "
                          "the prompt cache")
        split = f" ({', '.join([*cached, f'{usage.input_tokens:,} new'])})" if cached else ""
        parts = [
            calls,
            f"input {total:,} tokens{split}",
            f"output {usage.output_tokens:,}",
        ]
        if self.unpriced_models:
            # The model names come from the replies: a server or proxy chooses them.
            names = ", ".join(terminal_safe(name) for name in sorted(self.unpriced_models))
            parts.append(f"cost unknown (no price for {names})")
            return " · ".join(parts)
        saved = self.uncached_cost_usd - self.cost_usd
        cost = f"${self.cost_usd:.4f}"
        if saved > 0:
            share = saved / self.uncached_cost_usd * 100
            cost += f" (cache saved ${saved:.4f}, {share:.0f}%)"
        elif saved < 0:
            cost += f" (cache writes added ${-saved:.4f}; later turns read them at a tenth)"
        parts.append(cost)
        return " · ".join(parts)


class TurnPrinter:
    """Prints the events of runs as they stream, and counts their model calls.

    Args:
        out: Where to write.
        style: Colors or none.
        prices: Prices used to work out what the cache saved.
        show_approvals: Print approval requests and decisions (the console approver shows
            its own).
        status: The live status line (thinking, running a tool, retrying…); by default one
            that animates on a colour terminal with rich installed and otherwise prints only
            the waits, as lines.
    """

    def __init__(
        self,
        out: TextIO,
        style: Style,
        prices: PriceTable,
        *,
        show_approvals: bool = True,
        status: StatusLine | None = None,
    ) -> None:
        self.out = out
        self.style = style
        self.prices = prices
        self.show_approvals = show_approvals
        self.status = status if status is not None else StatusLine.for_stream(out)
        self.ledger = Ledger()
        self.width = terminal_width(out)
        self._text: StreamWrapper | None = None
        self._since = time.monotonic()

    def start_turn(self) -> None:
        """Begin a new turn of the conversation: the model is asked."""
        self.ledger = Ledger()
        self._text = None
        self.width = terminal_width(self.out)
        self._thinking()

    def _thinking(self) -> None:
        self._since = since = time.monotonic()

        def line() -> str:
            waited = time.monotonic() - since
            if waited >= _SLOW_AFTER_S:
                return f"still waiting for the model… {waited:.0f} s (slow to answer)"
            return f"thinking… {waited:.0f} s"

        self.status.show(line)

    def _running(self, tool_name: str) -> None:
        since = time.monotonic()
        self.status.show(lambda: f"running {tool_name}… {time.monotonic() - since:.0f} s")

    def _waiting(self, wait: ModelWait) -> None:
        until = time.monotonic() + wait.seconds
        self.status.show(lambda: wait_text(wait, until - time.monotonic()))
        if not self.status.live:
            self._line(f"  … {wait_text(wait)}", "yellow")

    def _line(self, text: str = "", *styles: str, indent: str = "    ") -> None:
        """Print a line wrapped to the width, each piece in ``styles`` (``text`` is already
        terminal-safe); the lines the wrapping adds start with ``indent``."""
        self.end_text()
        lead = text[: len(text) - len(text.lstrip(" "))]
        lines = wrap(text[len(lead) :], self.width, first=lead, indent=indent) if text else [""]
        self.out.write("".join(self.style(line, *styles) + "\n" for line in lines))
        self.out.flush()

    def end_text(self) -> None:
        """Finish a line of streamed text, if one is open, and clear the status line."""
        self.status.clear()
        if self._text is not None:
            self.out.write(self._text.end() + "\n")
            self.out.flush()
            self._text = None

    def __call__(self, event: RunEvent) -> None:
        """Show one event."""
        if isinstance(event, TextDelta):
            if self._text is None:
                self.status.clear()
                self.out.write(self.style(_ASSISTANT, "bold", "green"))
                self._text = StreamWrapper(self.width, indent="  ", column=len(_ASSISTANT))
            self.out.write(self._text.feed(terminal_safe(event.text, multiline=True)))
            self.out.flush()
        elif isinstance(event, ModelWaiting):
            self.end_text()
            self._waiting(event.wait)
        elif isinstance(event, ToolCallStarted):
            call = terminal_safe(compact_call(event.tool_name, event.arguments))
            self._line(f"  → {call}", "cyan")
            self._running(terminal_safe(event.tool_name))
        elif isinstance(event, ToolResultEvent):
            result = terminal_safe(compact_result(event.content))
            self._line(f"  ← {result}", "red" if event.is_error else "dim")
            self._thinking()
        elif isinstance(event, ApprovalRequested):
            self.end_text()
            if self.show_approvals:
                request = event.request
                call = terminal_safe(compact_call(request.tool_name, request.display_arguments()))
                reason = terminal_safe(request.reason)
                self._line(f"  ⏸ {call} needs approval: {reason}", "yellow")
        elif isinstance(event, ApprovalDecided):
            self.end_text()
            if self.show_approvals:
                self._line(*self._decision_text(event))
        elif isinstance(event, ModelTurnCompleted):
            self.end_text()
            self.ledger.add_turn(event.turn, self.prices)
        elif isinstance(event, RunFinished):
            for number, citation in enumerate(event.result.citations, start=1):
                self._line(f"  {source_line(number, citation)}", "dim")

    def _decision_text(self, event: ApprovalDecided) -> tuple[str, str]:
        decision = event.decision
        tool_name = terminal_safe(event.tool_name)
        if isinstance(decision, Deny):
            because = f": {terminal_safe(decision.reason)}" if decision.reason else ""
            return f"  ✗ {tool_name} denied{because}", "red"
        how = "approved"
        if isinstance(decision, Edit):
            how = "approved with edited arguments"
        elif isinstance(decision, AlwaysAllow):
            how = "approved, and allowed for the rest of this run"
        return f"  ✓ {tool_name} {how}", "green"

    def footer(self, session: Ledger) -> None:
        """The cost of the turn just shown and of the session so far."""
        indent = " " * 14
        self._line(f"  ── turn:    {self.ledger.summary()}", "dim", indent=indent)
        self._line(f"  ── session: {session.summary()}", "dim", indent=indent)
