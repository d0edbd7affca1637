"""Throughput of stream parsing + accumulation, against json.loads measured in the same run.

Targets: parse + accumulate reaches at least 0.3x the throughput of plain ``json.loads`` over
the same events' data, for a long text stream and for a large tool_use input stream, and
the time per input_json delta stays flat as the number of deltas grows (linear total).
Run with ``make bench``; figures are printed (``-s``). Times are the best CPU time
(``time.process_time``) of interleaved repeats, which keeps the ratios steady on a busy machine.
"""

from __future__ import annotations

import codecs
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from agentcore.streaming import StreamDecoder
from agentcore.streaming.sse import SSEParser
from agentcore.types import Message, parse_message
from tests.sse_streams import Event, encode, message, stream_events

READ_SIZE = 16 * 1024
"""Bytes per chunk fed to the parser, about what one socket read returns."""

THROUGHPUT_TARGET = 0.3


def best_seconds(*runs: Callable[[], object], repeat: int = 5) -> list[float]:
    """The best CPU time of each run; runs are interleaved so load drift hits all alike."""
    best = [float("inf")] * len(runs)
    for _ in range(repeat):
        for position, run in enumerate(runs):
            start = time.process_time()
            run()
            best[position] = min(best[position], time.process_time() - start)
    return best


def chunks_of(payload: bytes) -> list[bytes]:
    return [payload[i : i + READ_SIZE] for i in range(0, len(payload), READ_SIZE)]


def decode_stream(chunks: list[bytes]) -> Message:
    decoder = StreamDecoder()
    for chunk in chunks:
        decoder.feed(chunk)
    return decoder.close()


def long_text_message() -> dict[str, Any]:
    sentence = (
        "The refund for order A-1001 was approved — €12.99 returned to the card ending 4242. "
    )
    return message([{"type": "text", "text": sentence * 8_000}])


def large_tool_message() -> dict[str, Any]:
    rows = [
        {"sku": f"SKU-{n:06d}", "name": f"Item número {n}", "qty": n % 7, "price": n * 1.25,
         "tags": ["a", "b"], "ok": n % 2 == 0, "note": None}
        for n in range(6_000)
    ]
    return message(
        [{"type": "tool_use", "id": "toolu_big", "name": "bulk_update", "input": {"rows": rows}}],
        stop_reason="tool_use",
    )


def load_each(datas: list[str]) -> None:
    loads = json.loads
    for data in datas:
        loads(data)


def report(name: str, events: list[Event], chunk: int) -> float:
    payload = encode(events)
    datas = [json.dumps(data, ensure_ascii=False) for _, data in events]
    chunks = chunks_of(payload)
    final = decode_stream(chunks)
    final_json = json.dumps(final.model_dump(mode="json"), ensure_ascii=False)

    ours, loads_events, loads_final = best_seconds(
        lambda: decode_stream(chunks), lambda: load_each(datas), lambda: json.loads(final_json)
    )
    megabytes = len(payload) / 1e6
    ratio = loads_events / ours
    print(
        f"\n{name}: {len(events):,} events ({chunk} chars per delta), {megabytes:.2f} MB\n"
        f"  parse + accumulate     {megabytes / ours:8.1f} MB/s  {ours * 1e3:8.1f} ms\n"
        f"  json.loads per event   {megabytes / loads_events:8.1f} MB/s  "
        f"{loads_events * 1e3:8.1f} ms  -> ratio {ratio:.2f}x (target >= {THROUGHPUT_TARGET})\n"
        f"  json.loads final JSON  {len(final_json) / 1e6 / loads_final:8.1f} MB/s  "
        f"{loads_final * 1e3:8.1f} ms  -> ratio {loads_final / ours:.3f}x"
    )
    return ratio


def test_long_text_stream_throughput() -> None:
    source = long_text_message()
    events = stream_events(source, chunk=16)
    assert decode_stream(chunks_of(encode(events))) == parse_message(source)
    assert report("long text stream", events, 16) >= THROUGHPUT_TARGET


def test_large_tool_input_stream_throughput() -> None:
    source = large_tool_message()
    events = stream_events(source, chunk=48)
    assert decode_stream(chunks_of(encode(events))) == parse_message(source)
    assert report("large tool_use input stream", events, 48) >= THROUGHPUT_TARGET


def tool_stream(deltas: int) -> tuple[bytes, dict[str, Any]]:
    """A tool_use stream whose input arrives in exactly ``deltas`` input_json fragments."""
    items = [f"v{n:05d}" for n in range(deltas)]
    source = message(
        [{"type": "tool_use", "id": "toolu_n", "name": "collect", "input": {"items": items}}],
        stop_reason="tool_use",
    )
    events = stream_events(source, chunk=10**9)
    text = json.dumps(source["content"][0]["input"])
    # Split the input JSON into `deltas` fragments of (nearly) equal size.
    cuts = [len(text) * k // deltas for k in range(deltas + 1)]
    fragments = [text[cuts[k] : cuts[k + 1]] for k in range(deltas)]
    start = next(i for i, (name, _) in enumerate(events) if name == "content_block_delta")
    end = next(i for i, (name, _) in enumerate(events) if name == "content_block_stop")
    events[start:end] = [
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "input_json_delta", "partial_json": part}})
        for part in fragments
    ]
    return encode(events), source


def test_input_json_deltas_grow_linearly() -> None:
    print("\ninput_json deltas: time per delta must stay flat (linear total)")
    per_delta: dict[int, float] = {}
    for count in (1_000, 10_000, 100_000):
        payload, source = tool_stream(count)
        chunks = chunks_of(payload)
        assert decode_stream(chunks) == parse_message(source)
        (seconds,) = best_seconds(lambda chunks=chunks: decode_stream(chunks), repeat=3)
        per_delta[count] = seconds / count * 1e6
        print(f"  N = {count:>7,}: {seconds * 1e3:8.1f} ms  {per_delta[count]:6.2f} µs per delta")
    growth = per_delta[100_000] / per_delta[1_000]
    print(f"  µs per delta, N=100k vs N=1k: {growth:.2f}x (1.0 = perfectly linear)")
    assert growth < 3


def folded_stream(deltas: int, kind: str) -> tuple[bytes, str]:
    """A compaction block whose summary arrives in ``deltas`` deltas of type ``kind`` (a
    ``compaction_delta``, or a type this version does not know), and the summary."""
    pieces = [f"turn {n:06d} summarised. " for n in range(deltas)]
    source = message([{"type": "compaction", "content": "", "encrypted_content": "opaque"}])
    events = stream_events(source, chunk=10**9)
    end = next(i for i, (name, _) in enumerate(events) if name == "content_block_stop")
    events[end:end] = [
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": kind, "content": piece}})
        for piece in pieces
    ]
    return encode(events), "".join(pieces)


@pytest.mark.parametrize("kind", ["compaction_delta", "x_future_delta"])
def test_generically_folded_deltas_grow_linearly(kind: str) -> None:
    print(f"\n{kind}s: time per delta must stay flat (linear total)")
    per_delta: dict[int, float] = {}
    for count in (1_000, 8_000, 40_000):
        payload, summary = folded_stream(count, kind)
        chunks = chunks_of(payload)
        block = decode_stream(chunks).content[0]
        assert getattr(block, "content", None) == summary
        (seconds,) = best_seconds(lambda chunks=chunks: decode_stream(chunks), repeat=3)
        per_delta[count] = seconds / count * 1e6
        print(f"  N = {count:>7,}: {seconds * 1e3:8.1f} ms  {per_delta[count]:6.2f} µs per delta")
    growth = per_delta[40_000] / per_delta[1_000]
    print(f"  µs per delta, N=40k vs N=1k: {growth:.2f}x (1.0 = perfectly linear)")
    assert growth < 3


def httpx_sse_events(chunks: list[bytes]) -> int:
    from httpx_sse._decoders import SSEDecoder, SSELineDecoder

    text_decoder = codecs.getincrementaldecoder("utf-8")("replace")
    lines = SSELineDecoder()
    events = SSEDecoder()
    count = 0
    for chunk in chunks:
        for line in lines.decode(text_decoder.decode(chunk)):
            if events.decode(line) is not None:
                count += 1
    return count


def our_sse_events(chunks: list[bytes]) -> int:
    parser = SSEParser()
    return sum(len(parser.feed(chunk)) for chunk in chunks)


def test_sse_parser_against_httpx_sse() -> None:
    pytest.importorskip("httpx_sse", reason="httpx-sse is only installed for this comparison")
    print("\nSSE parsing only (bytes -> events): agentcore.streaming.sse vs httpx-sse")
    for name, source, chunk in (
        ("long text stream", long_text_message(), 16),
        ("large tool_use stream", large_tool_message(), 48),
    ):
        payload = encode(stream_events(source, chunk=chunk), newline="\r\n")
        chunks = chunks_of(payload)
        assert our_sse_events(chunks) == httpx_sse_events(chunks)
        ours, theirs = best_seconds(
            lambda chunks=chunks: our_sse_events(chunks),
            lambda chunks=chunks: httpx_sse_events(chunks),
        )
        megabytes = len(payload) / 1e6
        print(
            f"  {name:22} agentcore {megabytes / ours:7.1f} MB/s   httpx-sse "
            f"{megabytes / theirs:7.1f} MB/s   -> {theirs / ours:.2f}x faster"
        )


def test_official_sdk_accumulation_for_comparison() -> None:
    """The official SDK re-parses the partial tool input on every delta (quadratic)."""
    pytest.importorskip("anthropic")
    from anthropic.lib.streaming._messages import accumulate_event

    print("\nofficial SDK accumulate_event over the same parsed events (for comparison)")
    for count in (1_000, 5_000):
        payload, _ = tool_stream(count)
        parser = SSEParser()
        events = [sse.json() for sse in parser.feed(payload) if sse.event != "ping"]

        def accumulate(events: list[dict[str, Any]] = events) -> None:
            snapshot = None
            buffers: dict[int, bytes] = {}
            for event in events:
                snapshot = accumulate_event(
                    event=event,  # type: ignore[arg-type]
                    current_snapshot=snapshot,
                    json_bufs=buffers,
                )

        (seconds,) = best_seconds(accumulate, repeat=1)
        per_delta = seconds / count * 1e6
        print(f"  N = {count:>7,}: {seconds * 1e3:8.1f} ms  {per_delta:6.1f} µs per delta")
