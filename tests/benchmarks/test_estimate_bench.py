"""How good the agent's local token estimate is, and what it costs, against count_tokens.

The emulator's ``varied`` tokenizer counts tokens the way a real one varies (English prose
about 4.4 characters per token, JSON about 2, code about 2.4, Japanese about 1). For each
kind of text, a request is estimated locally (:class:`agentcore.context.TokenEstimator`,
four characters per token until corrected) and counted by ``count_tokens`` on loopback:
printed is the estimate's error before any correction, and after the correction the agent
makes from the usage of the previous request of the same conversation (the conversation then
grows by a turn with more text of the same kind; a conversation that changes kind is printed
too, without a target). Target: after correction, within 10% for every kind.
Also timed: one estimate of a 40-message conversation against one ``count_tokens`` round
trip on loopback; target: at most a twentieth of it.
Run with ``make bench``; figures are printed (``-s``).
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

from agentcore import Client
from agentcore.context import TokenEstimator
from agentcore.emulator import DEFAULT_MODELS, Emulator

MODEL = "claude-sonnet-4-6"
ERROR_TARGET = 0.10
TIME_RATIO_TARGET = 0.05


def prose(seed: int) -> str:
    return " ".join(
        f"Order {seed}-{n} left the warehouse on Monday and should arrive before the weekend;"
        " the customer asked us to leave it with a neighbour if nobody answers the door."
        for n in range(40)
    )


def json_text(seed: int) -> str:
    return json.dumps(
        [{"order_id": f"A-{seed:03d}{n:03d}", "total_cents": seed * 977 + n * 13,
          "items": [n, n + 1, n + 2], "shipped": n % 3 == 0} for n in range(60)]
    )  # fmt: skip


def code(seed: int) -> str:
    return "\n".join(
        f"def refund_{seed}_{n}(order: dict) -> int:\n"
        f"    total = sum(item['cents'] * item['qty'] for item in order['items'])\n"
        f"    return min(total, {seed * 100 + n}) if order.get('ok') else 0\n"
        for n in range(25)
    )


def japanese(seed: int) -> str:
    return "".join(
        f"ご注文{seed}-{n}の商品は月曜日に倉庫を出発しました。週末までに届く予定です。"
        for n in range(40)
    )


KINDS = {"English prose": prose, "JSON": json_text, "Python code": code, "Japanese": japanese}


def request(text: str) -> dict[str, Any]:
    return {
        "model": MODEL,
        "system": "You answer questions about orders.",
        "messages": [{"role": "user", "content": text}],
    }


def estimate(estimator: TokenEstimator, params: dict[str, Any]) -> tuple[int, int]:
    """(characters, estimated tokens) of a request."""
    chars = estimator.fixed_chars(params) + estimator.message_chars(params["messages"])
    return chars, estimator.tokens(chars)


def test_the_estimate_corrected_by_reported_usage_is_within_ten_percent() -> None:
    models = [dataclasses.replace(entry, tokenizer="varied") for entry in DEFAULT_MODELS]
    rows = []
    with Emulator(models=models) as emulator:
        client = Client(api_key="bench", base_url=emulator.base_url)
        for kind, make in KINDS.items():
            estimator = TokenEstimator()
            earlier = request(make(1))
            later = {**earlier, "messages": [
                *earlier["messages"],
                {"role": "assistant", "content": "Noted; go on."},
                {"role": "user", "content": make(2)},
            ]}  # fmt: skip
            chars, _ = estimate(estimator, earlier)
            estimator.observe(chars, client.messages.count_tokens(**earlier))
            fresh = TokenEstimator()
            truth = client.messages.count_tokens(**later)
            before = abs(estimate(fresh, later)[1] - truth) / truth
            after = abs(estimate(estimator, later)[1] - truth) / truth
            rows.append((kind, truth, before, after))
        # The hard case, printed without a target: the conversation changes kind (prose,
        # then a JSON tool result), so the ratio learned from the prose is off for the JSON.
        estimator = TokenEstimator()
        earlier = request(prose(1))
        later = {**earlier, "messages": [
            *earlier["messages"], {"role": "assistant", "content": "Looking it up."},
            {"role": "user", "content": json_text(2)},
        ]}  # fmt: skip
        chars, _ = estimate(estimator, earlier)
        estimator.observe(chars, client.messages.count_tokens(**earlier))
        truth = client.messages.count_tokens(**later)
        mixed = (
            abs(estimate(TokenEstimator(), later)[1] - truth) / truth,
            abs(estimate(estimator, later)[1] - truth) / truth,
        )

        conversation = [
            {"role": "user" if n % 2 == 0 else "assistant", "content": prose(n)[:2000]}
            for n in range(40)
        ]
        params = {**request("x"), "messages": conversation}
        estimator = TokenEstimator()
        repeats = 200
        started = time.perf_counter()
        for _ in range(repeats):
            estimator.message_chars(list(conversation))  # a new list: measured from scratch
        per_estimate = (time.perf_counter() - started) / repeats
        trips = 20
        started = time.perf_counter()
        for _ in range(trips):
            client.messages.count_tokens(**params)
        per_count = (time.perf_counter() - started) / trips

    print(f"\nlocal estimate vs count_tokens (emulator, varied tokenizer), {MODEL}")
    for kind, truth, before, after in rows:
        print(f"  {kind:14} {truth:6} tokens: error {before:6.1%} before correction, "
              f"{after:5.1%} after (target <= {ERROR_TARGET:.0%})")  # fmt: skip
    print(f"  prose then JSON: error {mixed[0]:6.1%} before correction, {mixed[1]:5.1%} after "
          "(no target: the next response's usage corrects it again)")  # fmt: skip
    ratio = per_estimate / per_count
    print(
        f"  one estimate of a 40-message conversation: {per_estimate * 1e6:.0f} µs = "
        f"{ratio:.3f}x one count_tokens round trip on loopback ({per_count * 1e3:.2f} ms; "
        f"target <= {TIME_RATIO_TARGET}x)"
    )
    assert max(before for _, _, before, _ in rows) > 0.3  # the tokenizer does vary
    assert all(after <= ERROR_TARGET for _, _, _, after in rows)
    assert ratio <= TIME_RATIO_TARGET
