"""How a run looks on the console: streamed text, compact tool calls, the sources an answer
cites, and a cost footer."""

from __future__ import annotations

import json
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
    RunEvent,
    RunFinished,
    TextDelta,
    ToolCallStarted,
    ToolResultEvent,
)
from agentcore.state import TurnRecord
from agentcore.terminal import terminal_safe
from agentcore.usage import PriceTable, UsageTotals

__all__ = ["Ledger", "Style", "TurnPrinter", "compact_call", "compact_result", "source_line"]

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


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _ARGUMENT_CHARS else text[: _ARGUMENT_CHARS - 2] + '…"'


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
    text = " ".join(content.split())
    return text if len(text) <= _RESULT_CHARS else text[: _RESULT_CHARS - 1] + "…"


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
        """``3 model calls · in 1,204 · out 187 · cache write 2,310 · cache read 4,620 · $0.0182
        (cache saved $0.0125, 41%)``."""
        usage = self.usage
        calls = f"{self.model_calls} model call{'' if self.model_calls == 1 else 's'}"
        parts = [
            calls,
            f"in {usage.input_tokens:,}",
            f"out {usage.output_tokens:,}",
            f"cache write {usage.cache_creation_input_tokens:,}",
            f"cache read {usage.cache_read_input_tokens:,}",
        ]
        if self.unpriced_models:
            parts.append(f"cost unknown (no price for {', '.join(sorted(self.unpriced_models))})")
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
        show_decisions: Print approval decisions (the console approver prints its own).
    """

    def __init__(
        self, out: TextIO, style: Style, prices: PriceTable, *, show_decisions: bool = True
    ) -> None:
        self.out = out
        self.style = style
        self.prices = prices
        self.show_decisions = show_decisions
        self.ledger = Ledger()
        self._in_text = False

    def start_turn(self) -> None:
        """Begin counting a new turn of the conversation."""
        self.ledger = Ledger()
        self._in_text = False

    def _line(self, text: str = "") -> None:
        self.end_text()
        self.out.write(text + "\n")
        self.out.flush()

    def end_text(self) -> None:
        """Finish a line of streamed text, if one is open."""
        if self._in_text:
            self.out.write("\n")
            self._in_text = False

    def __call__(self, event: RunEvent) -> None:
        """Show one event."""
        if isinstance(event, TextDelta):
            if not self._in_text:
                self.out.write(self.style("assistant> ", "bold", "green"))
                self._in_text = True
            self.out.write(terminal_safe(event.text, multiline=True))
            self.out.flush()
        elif isinstance(event, ToolCallStarted):
            call = terminal_safe(compact_call(event.tool_name, event.arguments))
            self._line(self.style(f"  → {call}", "cyan"))
        elif isinstance(event, ToolResultEvent):
            result = terminal_safe(compact_result(event.content))
            self._line(self.style(f"  ← {result}", "red" if event.is_error else "dim"))
        elif isinstance(event, ApprovalRequested):
            request = event.request
            call = terminal_safe(compact_call(request.tool_name, request.display_arguments()))
            reason = terminal_safe(request.reason)
            self._line(self.style(f"  ⏸ {call} needs approval: {reason}", "yellow"))
        elif isinstance(event, ApprovalDecided):
            self.end_text()
            if self.show_decisions:
                self._line(self._decision_text(event))
        elif isinstance(event, ModelTurnCompleted):
            self.end_text()
            self.ledger.add_turn(event.turn, self.prices)
        elif isinstance(event, RunFinished):
            for number, citation in enumerate(event.result.citations, start=1):
                self._line(self.style(f"  {source_line(number, citation)}", "dim"))

    def _decision_text(self, event: ApprovalDecided) -> str:
        decision = event.decision
        tool_name = terminal_safe(event.tool_name)
        if isinstance(decision, Deny):
            because = f": {terminal_safe(decision.reason)}" if decision.reason else ""
            return self.style(f"  ✗ {tool_name} denied{because}", "red")
        how = "approved"
        if isinstance(decision, Edit):
            how = "approved with edited arguments"
        elif isinstance(decision, AlwaysAllow):
            how = "approved for the rest of this reply"
        return self.style(f"  ✓ {tool_name} {how}", "green")

    def footer(self, session: Ledger) -> None:
        """The cost of the turn just shown and of the session so far."""
        self._line(self.style(f"  ── turn:    {self.ledger.summary()}", "dim"))
        self._line(self.style(f"  ── session: {session.summary()}", "dim"))
