"""ScriptedModel and the reply helpers: a fake Messages API at the httpx transport seam."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from agentcore.testing import (
    ErrorReply,
    ScriptedModel,
    ScriptExhausted,
    error_reply,
    reply,
    sse_events,
    text_reply,
    tool_reply,
)

HEADERS = {"x-api-key": "test", "anthropic-version": "2023-06-01"}
BASE = "https://api.anthropic.com"


def request_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "Where is order A-1001?"}],
    }
    body.update(overrides)
    return body


def post(client: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    return client.post(f"{BASE}/v1/messages", json=body, headers=HEADERS)


def parse_sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for chunk in text.split("\n\n"):
        if not chunk.strip():
            continue
        lines = dict(line.split(": ", 1) for line in chunk.split("\n"))
        events.append((lines["event"], json.loads(lines["data"])))
    return events


class TestReplyHelpers:
    def test_text_reply_is_a_final_message_with_one_text_block(self) -> None:
        message = text_reply("Hello.")
        assert message["id"].startswith("msg_")
        assert {key: value for key, value in message.items() if key != "id"} == {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "text", "text": "Hello."}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
        }

    def test_tool_reply_with_several_calls_makes_parallel_tool_uses_with_fresh_ids(self) -> None:
        message = tool_reply(("lookup", {"id": 1}), ("track", {"id": 1}), text="Checking.")
        content = message["content"]
        assert message["stop_reason"] == "tool_use"
        assert content[0] == {"type": "text", "text": "Checking."}
        assert [(block["type"], block["name"], block["input"]) for block in content[1:]] == [
            ("tool_use", "lookup", {"id": 1}),
            ("tool_use", "track", {"id": 1}),
        ]
        ids = [block["id"] for block in content[1:]]
        assert all(tool_id.startswith("toolu_") for tool_id in ids)
        assert ids[0] != ids[1]

    def test_tool_reply_keeps_an_explicit_tool_use_id(self) -> None:
        message = tool_reply(("lookup", {}, "toolu_fixed"))
        assert message["content"][0]["id"] == "toolu_fixed"

    def test_tool_reply_without_calls_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="at least one"):
            tool_reply()

    def test_reply_carries_usage_model_and_stop_sequence_when_given(self) -> None:
        message = reply(
            [{"type": "text", "text": "a"}],
            stop_reason="stop_sequence",
            stop_sequence="END",
            usage={"input_tokens": 3, "output_tokens": 1},
            model="claude-haiku-4-5",
            message_id="msg_1",
        )
        assert message == {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-haiku-4-5",
            "content": [{"type": "text", "text": "a"}],
            "stop_reason": "stop_sequence",
            "stop_sequence": "END",
            "usage": {"input_tokens": 3, "output_tokens": 1},
        }

    def test_error_reply_holds_status_type_message_and_headers(self) -> None:
        assert error_reply(429, "rate_limit_error", "slow", headers={"retry-after": "1"}) == (
            ErrorReply(429, "rate_limit_error", "slow", {"retry-after": "1"})
        )


class TestSSEEvents:
    def test_text_and_tool_use_render_as_the_api_event_sequence(self) -> None:
        message = reply(
            [
                {"type": "text", "text": "Let me look that up for you."},
                {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"order": "A-1"}},
            ],
            stop_reason="tool_use",
            usage={"input_tokens": 10, "output_tokens": 20},
            model="claude-sonnet-4-6",
            message_id="msg_1",
        )
        events = parse_sse("".join(sse_events(message, json_chunk_chars=6)))
        names = [name for name, _ in events]
        text_deltas = [data["delta"]["text"] for name, data in events if name ==
                       "content_block_delta" and data["index"] == 0]
        json_deltas = [data["delta"]["partial_json"] for name, data in events if name ==
                       "content_block_delta" and data["index"] == 1]
        assert names == [
            "message_start", "ping",
            "content_block_start", *["content_block_delta"] * 3, "content_block_stop",
            "content_block_start", *["content_block_delta"] * 4, "content_block_stop",
            "message_delta", "message_stop",
        ]
        assert events[0][1]["message"] == {
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 1},
        }
        assert len(text_deltas) > 1 and "".join(text_deltas) == "Let me look that up for you."
        assert json_deltas[0] == "" and len(json_deltas) > 2
        assert json.loads("".join(json_deltas)) == {"order": "A-1"}
        tool_start = next(data for name, data in events if name == "content_block_start"
                          and data["index"] == 1)
        assert tool_start["content_block"] == {
            "type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {}
        }
        assert events[-2][1] == {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"input_tokens": 10, "output_tokens": 20},
        }

    def test_thinking_streams_as_thinking_and_signature_deltas(self) -> None:
        message = reply([{"type": "thinking", "thinking": "Let me think.", "signature": "sig"}],
                        stop_reason="end_turn", model="m", usage={"output_tokens": 3})
        events = parse_sse("".join(sse_events(message, text_chunk_chars=5)))
        assert [data for name, data in events if name.startswith("content_block")] == [
            {"type": "content_block_start", "index": 0,
             "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
            {"type": "content_block_delta", "index": 0,
             "delta": {"type": "thinking_delta", "thinking": "Let m"}},
            {"type": "content_block_delta", "index": 0,
             "delta": {"type": "thinking_delta", "thinking": "e thi"}},
            {"type": "content_block_delta", "index": 0,
             "delta": {"type": "thinking_delta", "thinking": "nk."}},
            {"type": "content_block_delta", "index": 0,
             "delta": {"type": "signature_delta", "signature": "sig"}},
            {"type": "content_block_stop", "index": 0},
        ]

    def test_each_string_is_one_complete_event(self) -> None:
        for event in sse_events(text_reply("hi", model="m", usage={"output_tokens": 1})):
            assert event.startswith("event: ") and event.endswith("\n\n")
            assert event.count("\n\n") == 1


class TestScriptedModel:
    def test_replies_in_order_and_records_request_bodies(self) -> None:
        model = ScriptedModel([tool_reply(("lookup", {"id": "A-1001"})), text_reply("Shipped.")])
        with httpx.Client(transport=model) as client:
            first = post(client, request_body())
            second = post(client, request_body(max_tokens=50))
        assert first.json()["content"][0]["name"] == "lookup"
        assert second.json()["content"] == [{"type": "text", "text": "Shipped."}]
        assert model.requests == [request_body(), request_body(max_tokens=50)]
        assert [request.url.path for request in model.raw_requests] == ["/v1/messages"] * 2
        assert model.remaining == 0

    def test_unused_replies_fail_the_completeness_check(self) -> None:
        model = ScriptedModel([text_reply("one"), text_reply("two")])
        with httpx.Client(transport=model) as client:
            post(client, request_body())
        with pytest.raises(AssertionError, match="1 unused replies: 2 scripted, 1 requested"):
            model.assert_all_replies_used()
        with httpx.Client(transport=model) as client:
            post(client, request_body())
        model.assert_all_replies_used()

    def test_reply_reports_requested_model_and_usage_estimated_from_sizes(self) -> None:
        model = ScriptedModel([text_reply("x" * 40)])
        body = request_body(model="claude-haiku-4-5")
        with httpx.Client(transport=model) as client:
            response = post(client, body)
        content_length = len(response.request.content)
        assert response.status_code == 200
        assert response.headers["request-id"].startswith("req_")
        data = response.json()
        assert data["model"] == "claude-haiku-4-5"
        assert data["usage"] == {
            "input_tokens": content_length // 4,
            "output_tokens": 17,  # 67 characters of compact content JSON, rounded up
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        }

    def test_a_message_dict_of_only_model_and_usage_is_still_valid_json(self) -> None:
        """The fields filled in per request are joined to the rest without a stray comma."""
        usage = {"input_tokens": 3, "output_tokens": 1}
        model = ScriptedModel([{"model": "claude-haiku-4-5", "usage": usage}])
        with httpx.Client(transport=model) as client:
            response = post(client, request_body())
        assert response.json() == {"model": "claude-haiku-4-5", "usage": usage}

    def test_function_script_answers_from_the_request_body(self) -> None:
        def echo(body: dict[str, Any]) -> dict[str, Any]:
            return text_reply(f"you said: {body['messages'][-1]['content']}")

        model = ScriptedModel(echo)
        with httpx.Client(transport=model) as client:
            response = post(client, request_body())
        assert response.json()["content"][0]["text"] == "you said: Where is order A-1001?"
        assert model.remaining is None

    def test_running_out_of_replies_fails_clearly_with_the_last_messages(self) -> None:
        model = ScriptedModel([text_reply("only one")])
        with httpx.Client(transport=model) as client:
            post(client, request_body())
            with pytest.raises(ScriptExhausted) as raised:
                post(client, request_body(messages=[
                    {"role": "user", "content": "Refund A-1001"},
                    {"role": "assistant", "content": [
                        {"type": "tool_use", "id": "toolu_9", "name": "refund", "input": {}}]},
                    {"role": "user", "content": [
                        {"type": "tool_result", "tool_use_id": "toolu_9", "content": "ok"}]},
                ]))
        assert str(raised.value) == (
            "ScriptedModel ran out of replies: 1 scripted, and request #2 arrived asking for "
            "more. Its messages:\n"
            "  user: 'Refund A-1001'\n"
            "  assistant: tool_use refund({})\n"
            "  user: tool_result for toolu_9"
        )
        assert isinstance(raised.value, AssertionError)

    def test_error_reply_becomes_an_api_error_response(self) -> None:
        model = ScriptedModel([
            error_reply(429, "rate_limit_error", "Too many requests", headers={"retry-after": "2"})
        ])
        with httpx.Client(transport=model) as client:
            response = post(client, request_body())
        request_id = response.headers["request-id"]
        assert response.status_code == 429
        assert response.headers["retry-after"] == "2"
        assert response.json() == {
            "type": "error",
            "error": {"type": "rate_limit_error", "message": "Too many requests"},
            "request_id": request_id,
        }

    def test_exception_reply_is_raised_like_a_connection_failure(self) -> None:
        model = ScriptedModel([httpx.ConnectError("connection refused")])
        with httpx.Client(transport=model) as client, pytest.raises(httpx.ConnectError):
            post(client, request_body())

    def test_ready_response_is_returned_unchanged(self) -> None:
        model = ScriptedModel([httpx.Response(502, text="<html>bad gateway</html>")])
        with httpx.Client(transport=model) as client:
            response = post(client, request_body())
        assert (response.status_code, response.text) == (502, "<html>bad gateway</html>")

    def test_stream_request_gets_the_sse_sequence_of_the_same_reply(self) -> None:
        scripted = tool_reply(("lookup", {"order_id": "A-1001"}, "toolu_1"),
                              usage={"input_tokens": 5, "output_tokens": 7})
        model = ScriptedModel([scripted])
        with httpx.Client(transport=model) as client, client.stream(
            "POST", f"{BASE}/v1/messages", json=request_body(stream=True), headers=HEADERS
        ) as response:
            chunks = list(response.iter_bytes())
        assert response.headers["content-type"] == "text/event-stream"
        rendered = sse_events({**scripted, "model": "claude-sonnet-4-6"})
        assert b"".join(chunks).decode() == "".join(rendered)

    async def test_async_clients_are_served_too(self) -> None:
        model = ScriptedModel([text_reply("async hello")])
        async with httpx.AsyncClient(transport=model) as client:
            response = await client.post(f"{BASE}/v1/messages", json=request_body(),
                                         headers=HEADERS)
        assert response.json()["content"] == [{"type": "text", "text": "async hello"}]
        assert model.requests == [request_body()]

    def test_count_tokens_and_models_are_answered_without_using_the_script(self) -> None:
        model = ScriptedModel([])
        with httpx.Client(transport=model) as client:
            count = client.post(f"{BASE}/v1/messages/count_tokens", json=request_body())
            models = client.get(f"{BASE}/v1/models")
            one = client.get(f"{BASE}/v1/models/claude-haiku-4-5")
            missing = client.get(f"{BASE}/v1/models/claude-nope")
        assert count.json() == {"input_tokens": len(count.request.content) // 4}
        assert models.json()["data"][0]["id"] == "claude-opus-4-7"
        assert one.json() == {"type": "model", "id": "claude-haiku-4-5",
                              "display_name": "Claude Haiku 4.5",
                              "created_at": "2025-10-15T00:00:00Z"}
        assert missing.status_code == 404
        assert missing.json()["error"] == {"type": "not_found_error",
                                           "message": "model: claude-nope"}
        assert model.requests == []

    def test_threads_sharing_the_transport_each_get_their_own_reply_and_request_id(self) -> None:
        """Concurrent requests take distinct replies and never share a request-id."""
        calls = 400
        model = ScriptedModel([text_reply(f"reply {n}") for n in range(calls)])

        def ask(_: int) -> tuple[str, str]:
            with httpx.Client(transport=model) as client:
                response = post(client, request_body())
            return response.headers["request-id"], response.json()["content"][0]["text"]

        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(ask, range(calls)))
        assert sorted(request_id for request_id, _ in answers) == [
            f"req_scripted_{n:06d}" for n in range(1, calls + 1)
        ]
        assert sorted(text for _, text in answers) == sorted(f"reply {n}" for n in range(calls))
        assert model.remaining == 0
