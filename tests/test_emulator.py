"""The loopback emulator: the Messages API over real HTTP, with validation, caching and faults."""

from __future__ import annotations

import itertools
import json
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from agentcore import cli
from agentcore.agent import Agent, ModelSettings
from agentcore.client import AsyncClient, Client
from agentcore.emulator import Emulator, Fault, ScriptFileError, load_script
from agentcore.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    InternalServerError,
    NotFoundError,
    OverloadedError,
    RateLimitError,
    StreamError,
)
from agentcore.log import capture_events
from agentcore.streaming.events import TextDeltaEvent
from agentcore.testing import ErrorReply, error_reply, sse_events, text_reply, tool_reply
from agentcore.tools import tool
from agentcore.types import Message
from tests._processes import restore_default_sigint

MODEL = "claude-sonnet-4-6"
HEADERS = {"x-api-key": "test-key", "anthropic-version": "2023-06-01"}
ORDER_TOOLS = [
    {
        "name": "lookup_order",
        "description": "Look up an order's status.",
        "input_schema": {
            "type": "object",
            "properties": {"order_id": {"type": "string"}},
            "required": ["order_id"],
        },
    },
    {
        "name": "track_shipment",
        "description": "Get the carrier tracking for a shipment.",
        "input_schema": {
            "type": "object",
            "properties": {"order_id": {"type": "string"}},
            "required": ["order_id"],
        },
    },
    {
        "name": "refund_order",
        "description": "Refund money to the customer.",
        "input_schema": {
            "type": "object",
            "properties": {
                "order_id": {"type": "string"},
                "amount_cents": {"type": "integer"},
                "reason": {"type": "string", "enum": ["damaged", "late", "other"]},
                "notify_email": {"type": "string"},
            },
            "required": ["order_id", "amount_cents", "reason"],
        },
    },
]


def body(**overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 256,
        "messages": [{"role": "user", "content": "Hello"}],
    }
    request.update(overrides)
    return request


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator() as running:
        yield running


@pytest.fixture
def http(emulator: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.base_url, headers=HEADERS) as client:
        yield client


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    data = response.json()
    assert data["type"] == "error"
    assert data["request_id"] == response.headers["request-id"]
    return response.status_code, data["error"]["type"], data["error"]["message"]


def parse_sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for chunk in text.split("\n\n"):
        if chunk.strip():
            fields = dict(line.split(": ", 1) for line in chunk.split("\n"))
            events.append((fields["event"], json.loads(fields["data"])))
    return events


class TestLifecycle:
    def test_context_manager_serves_on_a_free_loopback_port(self) -> None:
        with Emulator() as emulator:
            assert emulator.base_url.startswith("http://127.0.0.1:")
            assert httpx.get(f"{emulator.base_url}/v1/models", headers=HEADERS).status_code == 200
        with pytest.raises(RuntimeError, match="not running"):
            _ = emulator.base_url

    async def test_async_context_manager_serves_in_the_running_loop(self) -> None:
        async with Emulator([text_reply("hi")]) as emulator, httpx.AsyncClient(
            base_url=emulator.base_url, headers=HEADERS
        ) as client:
            response = await client.post("/v1/messages", json=body())
        assert response.json()["content"] == [{"type": "text", "text": "hi"}]

    def test_a_port_in_use_fails_start_with_the_os_error(self, emulator: Emulator) -> None:
        port = int(emulator.base_url.rsplit(":", 1)[1])
        with pytest.raises(OSError):
            Emulator(port=port).start()

    def test_starting_twice_is_refused(self, emulator: Emulator) -> None:
        with pytest.raises(RuntimeError, match="already running"):
            emulator.start()

    def test_keep_alive_serves_many_requests_on_one_connection(self, http: httpx.Client) -> None:
        ports = set()
        for _ in range(3):
            response = http.get("/v1/models", extensions={})
            ports.add(response.extensions["network_stream"].get_extra_info("client_addr"))
        assert len(ports) == 1


class TestLogging:
    def test_each_request_is_one_emulator_request_event(self, emulator: Emulator,
                                                        http: httpx.Client) -> None:
        emulator.faults.add(Fault.overloaded())
        with capture_events() as events:
            failed = http.post("/v1/messages", json=body())
            ok = http.get("/v1/models")
        requests = [event for event in events if event["event"] == "emulator.request"]
        assert [(e["method"], e["path"], e["status"], e["request_id"]) for e in requests] == [
            ("POST", "/v1/messages", 529, failed.headers["request-id"]),
            ("GET", "/v1/models", 200, ok.headers["request-id"]),
        ]

    def test_each_injected_fault_is_named_in_the_log_as_the_command_line_spells_it(
        self, emulator: Emulator, http: httpx.Client
    ) -> None:
        for spec in ("429", "529", "slow:0.01", "reset"):
            fault, times = Fault.parse(spec)
            emulator.faults.add(fault, times=times)
        with capture_events() as events:
            for _ in range(3):
                http.post("/v1/messages", json=body())
            with pytest.raises(httpx.TransportError):
                http.post("/v1/messages", json=body())
            http.post("/v1/messages", json=body())
        logged = [(e["status"], e["fault"]) for e in events if e["event"] == "emulator.request"]
        assert logged == [(429, "429"), (529, "529"), (200, "slow:0.01"), (None, "reset"),
                          (200, None)]


class TestAuthenticationAndHeaders:
    def test_missing_key_is_401(self, emulator: Emulator) -> None:
        response = httpx.post(f"{emulator.base_url}/v1/messages", json=body(),
                              headers={"anthropic-version": "2023-06-01"})
        assert error_of(response) == (401, "authentication_error", "x-api-key header is required")

    def test_only_configured_keys_are_accepted_as_key_or_bearer_token(self) -> None:
        with Emulator([text_reply("ok")], api_keys=["good"]) as emulator:
            url = f"{emulator.base_url}/v1/messages"
            version = {"anthropic-version": "2023-06-01"}
            wrong = httpx.post(url, json=body(), headers={**version, "x-api-key": "bad"})
            bearer = httpx.post(url, json=body(),
                                headers={**version, "authorization": "Bearer good"})
        assert error_of(wrong) == (401, "authentication_error", "invalid x-api-key")
        assert bearer.status_code == 200

    def test_missing_anthropic_version_is_400(self, emulator: Emulator) -> None:
        response = httpx.post(f"{emulator.base_url}/v1/messages", json=body(),
                              headers={"x-api-key": "k"})
        assert error_of(response) == (
            400, "invalid_request_error", "anthropic-version: header is required"
        )

    def test_every_response_carries_request_id_and_rate_limit_headers(
        self, http: httpx.Client
    ) -> None:
        for response in (http.get("/v1/models"), http.get("/v1/nope")):
            assert response.headers["request-id"].startswith("req_")
            assert response.headers["anthropic-ratelimit-requests-limit"] == "4000"
            assert response.headers["anthropic-ratelimit-tokens-remaining"] == "1999999"
            assert response.headers["anthropic-ratelimit-requests-reset"].endswith("Z")


INVALID_REQUESTS = [
    (body(model="claude-nope"), 404, "not_found_error", "model: claude-nope"),
    ({"max_tokens": 5, "messages": []}, 400, "invalid_request_error", "model: Field required"),
    ({k: v for k, v in body().items() if k != "max_tokens"}, 400, "invalid_request_error",
     "max_tokens: Field required"),
    (body(max_tokens="ten"), 400, "invalid_request_error",
     "max_tokens: Input should be a valid integer"),
    (body(max_tokens=0), 400, "invalid_request_error",
     "max_tokens: Input should be greater than or equal to 1"),
    (body(messages=[]), 400, "invalid_request_error",
     "messages: at least one message is required"),
    (body(messages=[{"role": "assistant", "content": "Hi"}]), 400, "invalid_request_error",
     'messages: first message must use the "user" role'),
    (body(messages=[{"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_x", "content": "ok"}]}]),
     400, "invalid_request_error",
     "messages.0.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_x. "
     "Each `tool_result` block must have a corresponding `tool_use` block in the previous "
     "message."),
    (body(messages=[
        {"role": "user", "content": "Go"},
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}]},
        {"role": "user", "content": "and?"}]),
     400, "invalid_request_error",
     "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: "
     "toolu_1. Each `tool_use` block must have a corresponding `tool_result` block in the "
     "next message."),
    (body(messages=[
        {"role": "user", "content": "Go"},
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}]},
        {"role": "user", "content": [
            {"type": "text", "text": "here"},
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}]}]),
     400, "invalid_request_error",
     "messages.2.content: `tool_result` blocks must come first in the user message that "
     "answers tool calls, before any other content."),
    (body(messages=[
        {"role": "user", "content": "Go"},
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": "x"}]}]),
     400, "invalid_request_error",
     "messages.1.content.0.tool_use.input: Input should be a valid dictionary"),
    (body(temperature=1.5), 400, "invalid_request_error", "temperature: range: 0..1"),
    (body(tools=[{"name": "bad name", "input_schema": {"type": "object"}}]), 400,
     "invalid_request_error",
     "tools.0.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'"),
    (body(system=[{"type": "text", "text": str(n), "cache_control": {"type": "ephemeral"}}
                  for n in range(5)]),
     400, "invalid_request_error",
     "A maximum of 4 blocks with cache_control may be provided. Found 5."),
]


class TestRequestValidation:
    @pytest.mark.parametrize(("request_body", "status", "error_type", "message"),
                             INVALID_REQUESTS)
    def test_broken_rules_get_the_api_error(
        self, http: httpx.Client, request_body: dict[str, Any], status: int, error_type: str,
        message: str,
    ) -> None:
        assert error_of(http.post("/v1/messages", json=request_body)) == (
            status, error_type, message
        )

    def test_body_that_is_not_json_is_400(self, http: httpx.Client) -> None:
        response = http.post("/v1/messages", content=b"{nope")
        status, error_type, message = error_of(response)
        assert (status, error_type) == (400, "invalid_request_error")
        assert message.startswith("The request body is not valid JSON")

    def test_a_final_assistant_prefill_is_accepted(self, http: httpx.Client) -> None:
        response = http.post("/v1/messages", json=body(messages=[
            {"role": "user", "content": "Count"}, {"role": "assistant", "content": "1, 2,"}]))
        assert response.status_code == 200


class TestScriptedReplies:
    def test_replies_fill_in_model_and_usage_and_are_recorded(self) -> None:
        with Emulator([text_reply("Shipped.")]) as emulator, httpx.Client(
            base_url=emulator.base_url, headers=HEADERS
        ) as http:
            response = http.post("/v1/messages", json=body())
            count = http.post("/v1/messages/count_tokens", json=body())
        data = response.json()
        assert data["model"] == MODEL
        assert data["content"] == [{"type": "text", "text": "Shipped."}]
        assert data["usage"] == {
            "input_tokens": count.json()["input_tokens"],
            "output_tokens": 9,  # 35 characters of compact content JSON
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
            "service_tier": "standard",
        }
        assert emulator.requests == [body()]

    def test_function_script_and_error_replies(self) -> None:
        def script(request: dict[str, Any]) -> dict[str, Any] | ErrorReply:
            if request["max_tokens"] == 1:
                return error_reply(529, "overloaded_error", "Overloaded")
            return text_reply(str(request["max_tokens"]))

        with Emulator(script) as emulator, httpx.Client(
            base_url=emulator.base_url, headers=HEADERS
        ) as http:
            ok = http.post("/v1/messages", json=body(max_tokens=7))
            overloaded = http.post("/v1/messages", json=body(max_tokens=1))
        assert ok.json()["content"][0]["text"] == "7"
        assert error_of(overloaded) == (529, "overloaded_error", "Overloaded")

    def test_exhausted_script_answers_a_non_retryable_500(self) -> None:
        with Emulator([]) as emulator, httpx.Client(
            base_url=emulator.base_url, headers=HEADERS
        ) as http:
            response = http.post("/v1/messages", json=body())
        assert response.headers["x-should-retry"] == "false"
        assert error_of(response) == (
            500, "api_error",
            "emulator script exhausted: 0 replies were scripted and request #1 asked for another",
        )

    def test_stream_sends_the_sse_sequence_in_chunks(self) -> None:
        scripted = tool_reply(("lookup_order", {"order_id": "A-1001"}, "toolu_1"),
                              usage={"input_tokens": 9, "output_tokens": 4})
        with Emulator([scripted]) as emulator, httpx.Client(
            base_url=emulator.base_url, headers=HEADERS
        ) as http, http.stream("POST", "/v1/messages", json=body(stream=True)) as response:
            raw = b"".join(response.iter_raw())
        assert response.headers["content-type"] == "text/event-stream"
        assert response.headers["transfer-encoding"] == "chunked"
        expected = sse_events({**scripted, "model": MODEL})
        assert raw.decode() == "".join(expected)

    def test_script_file_in_json_or_jsonl(self, tmp_path: Path) -> None:
        lines = [text_reply("one"), {"type": "error", "status": 429,
                                     "error": {"type": "rate_limit_error", "message": "slow"},
                                     "headers": {"retry-after": "1"}}]
        jsonl = tmp_path / "replies.jsonl"
        jsonl.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
        array = tmp_path / "replies.json"
        array.write_text(json.dumps(lines))
        expected = [lines[0], ErrorReply(429, "rate_limit_error", "slow", {"retry-after": "1"})]
        assert load_script(jsonl) == expected
        assert load_script(array) == expected

    def test_bad_script_file_is_a_clear_error(self, tmp_path: Path) -> None:
        bad = tmp_path / "bad.json"
        bad.write_text('[{"role": "assistant"}]')
        with pytest.raises(ScriptFileError, match="reply 1 is neither a message"):
            load_script(bad)
        with pytest.raises(ScriptFileError, match="cannot read reply script"):
            load_script(tmp_path / "missing.json")


class TestOfficialSDK:
    def test_create_stream_with_tools_and_count_tokens(self, emulator: Emulator) -> None:
        sdk = anthropic.Anthropic(base_url=emulator.base_url, api_key="sk-test", max_retries=0)
        messages: list[Any] = [{"role": "user", "content": "What is the status of A-1001?"}]
        created = sdk.messages.create(model=MODEL, max_tokens=200, messages=messages,
                                      tools=ORDER_TOOLS)  # type: ignore[arg-type]
        with sdk.messages.stream(model=MODEL, max_tokens=200, messages=messages,
                                 tools=ORDER_TOOLS) as stream:  # type: ignore[arg-type]
            final = stream.get_final_message()
        counted = sdk.messages.count_tokens(model=MODEL, messages=messages,
                                            tools=ORDER_TOOLS)  # type: ignore[arg-type]
        for message in (created, final):
            tool_use = message.content[-1]
            assert message.stop_reason == "tool_use"
            assert tool_use.type == "tool_use"
            assert (tool_use.name, tool_use.input) == ("lookup_order", {"order_id": "A-1001"})
        assert counted.input_tokens == created.usage.input_tokens
        sdk.close()

    def test_batches_and_models(self) -> None:
        with Emulator([text_reply("Hello!")], batch_delay_seconds=0.01) as emulator:
            sdk = anthropic.Anthropic(base_url=emulator.base_url, api_key="sk-test")
            created = sdk.messages.batches.create(requests=[
                {"custom_id": "a", "params": {"model": MODEL, "max_tokens": 50,
                                              "messages": [{"role": "user", "content": "Hi"}]}}
            ])
            for _ in range(200):
                if sdk.messages.batches.retrieve(created.id).processing_status == "ended":
                    break
                time.sleep(0.02)
            results = [(r.custom_id, r.result.type) for r in
                       sdk.messages.batches.results(created.id)]
            deleted = sdk.messages.batches.delete(created.id)
            models = [model.id for model in sdk.models.list()]
            sdk.close()
        assert results == [("a", "succeeded")]
        assert deleted.type == "message_batch_deleted"
        assert models[:3] == ["claude-opus-4-7", "claude-sonnet-4-6", "claude-haiku-4-5"]


def demo(http: httpx.Client, messages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    extra.setdefault("tools", ORDER_TOOLS)
    response = http.post("/v1/messages", json=body(messages=messages, **extra))
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    assert data["emulator"] == "demo-policy"
    return data


def answer_tools(message: dict[str, Any], results: dict[str, str]) -> dict[str, Any]:
    return {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": block["id"], "content": results[block["name"]]}
        for block in message["content"] if block["type"] == "tool_use"
    ]}


class TestDemoPolicy:
    def test_drives_a_two_tool_conversation_to_end_turn(self, http: httpx.Client) -> None:
        results = {"lookup_order": '{"status": "shipped"}',
                   "track_shipment": '{"carrier": "UPS", "tracking": "1Z999"}'}
        messages: list[dict[str, Any]] = [
            {"role": "user", "content": "What's the status of order A-1001 and its tracking?"}
        ]
        calls = []
        for _ in range(3):
            message = demo(http, messages)
            if message["stop_reason"] != "tool_use":
                break
            calls += [(b["name"], b["input"]) for b in message["content"] if b["type"] ==
                      "tool_use"]
            messages += [{"role": "assistant", "content": message["content"]},
                         answer_tools(message, results)]
        assert calls == [("lookup_order", {"order_id": "A-1001"}),
                         ("track_shipment", {"order_id": "A-1001"})]
        assert message["stop_reason"] == "end_turn"
        assert message["content"] == [{"type": "text", "text": (
            "[demo policy] Here is what the tools returned:\n"
            "- lookup_order returned: status: shipped\n"
            "- track_shipment returned: carrier: UPS, tracking: 1Z999"
        )}]

    def test_fills_cents_enum_and_email_arguments_from_the_text(
        self, http: httpx.Client
    ) -> None:
        message = demo(http, [{"role": "user", "content":
                               "Refund $25.50 on order B-2002, it arrived damaged; email "
                               "jo@example.com"}])
        assert message["content"][-1]["name"] == "refund_order"
        assert message["content"][-1]["input"] == {
            "order_id": "B-2002", "amount_cents": 2550, "reason": "damaged",
            "notify_email": "jo@example.com",
        }

    def test_no_matching_tool_gives_a_labelled_text_answer(self, http: httpx.Client) -> None:
        message = demo(http, [{"role": "user", "content": "Sing me a song"}])
        assert message["stop_reason"] == "end_turn"
        assert message["content"][0]["text"].startswith("[demo policy] I am the agentcore "
                                                        "emulator's scripted stand-in, not a "
                                                        "model.")

    def test_tool_choice_forces_the_named_tool(self, http: httpx.Client) -> None:
        message = demo(http, [{"role": "user", "content": "Order A-1001"}],
                       tool_choice={"type": "tool", "name": "track_shipment"})
        assert message["content"][-1]["name"] == "track_shipment"

    def test_a_reply_longer_than_max_tokens_is_cut_with_stop_reason_max_tokens(
        self, http: httpx.Client
    ) -> None:
        message = demo(http, [{"role": "user", "content": "Status of A-1001?"}], max_tokens=5)
        assert message["stop_reason"] == "max_tokens"
        assert message["content"] == [{"type": "text", "text": "[demo policy] Callin"}]  # 5 x 4

    def test_a_stop_sequence_in_the_text_ends_the_reply_there(
        self, http: httpx.Client
    ) -> None:
        message = demo(http, [{"role": "user", "content": "Sing"}], tools=[],
                       stop_sequences=["stand-in", "policy"])
        assert (message["stop_reason"], message["stop_sequence"]) == ("stop_sequence", "policy")
        assert message["content"] == [{"type": "text", "text": "[demo "}]

    def test_with_thinking_on_the_reply_starts_with_a_thinking_block_that_must_come_back(
        self, http: httpx.Client
    ) -> None:
        thinking = {"type": "enabled", "budget_tokens": 1024}
        question = {"role": "user", "content": "Status of A-1001?"}
        first = demo(http, [question], thinking=thinking, max_tokens=2048)
        results = answer_tools(first, {"lookup_order": "shipped"})
        dropped = [block for block in first["content"] if block["type"] != "thinking"]
        rejected = http.post("/v1/messages", json=body(
            messages=[question, {"role": "assistant", "content": dropped}, results],
            tools=ORDER_TOOLS, thinking=thinking, max_tokens=2048))
        kept = demo(http, [question, {"role": "assistant", "content": first["content"]},
                           results], thinking=thinking, max_tokens=2048)
        assert first["content"][0]["type"] == "thinking"
        assert first["content"][0]["thinking"] == (
            "[demo policy] Matched the request against the tools: calling lookup_order.")
        assert first["content"][0]["signature"].startswith("demo-")
        status, error_type, message = error_of(rejected)
        assert (status, error_type) == (400, "invalid_request_error")
        assert message.startswith("messages.1.content.0.type: Expected `thinking` or "
                                  "`redacted_thinking`, but found `text`.")
        assert kept["stop_reason"] == "end_turn"

    def test_is_deterministic(self, http: httpx.Client) -> None:
        messages = [{"role": "user", "content": "Status of A-1001?"}]
        first, second = demo(http, messages), demo(http, messages)
        assert first["content"] == second["content"]

    def test_a_tie_goes_to_the_tool_named_with_the_requests_word_forms(
        self, http: httpx.Client
    ) -> None:
        """"refund" and "refunds" share a stem; the request's own word decides."""
        tools = [
            {"name": "refunds_for_order", "description": "Refunds given on an order.",
             "input_schema": {"type": "object", "properties": {"order_id": {"type": "string"}},
                              "required": ["order_id"]}},
            {"name": "refund_order", "description": "Refund an order.",
             "input_schema": {"type": "object", "properties": {
                 "order_id": {"type": "string"}, "amount_cents": {"type": "integer"}},
                 "required": ["order_id", "amount_cents"]}},
        ]
        response = http.post("/v1/messages", json=body(
            messages=[{"role": "user", "content": "Please refund $25 on order A-1001"}],
            tools=tools))
        assert response.json()["content"][-1]["input"] == {"order_id": "A-1001",
                                                           "amount_cents": 2500}
        assert response.json()["content"][-1]["name"] == "refund_order"

    def test_no_follow_up_call_whose_required_arguments_would_be_made_up(
        self, http: httpx.Client
    ) -> None:
        """After a lookup, a tool needing a subject and body the text lacks is not called."""
        email_tool = {
            "name": "send_email", "description": "Email the customer.",
            "input_schema": {"type": "object", "properties": {
                "to": {"type": "string"}, "subject": {"type": "string"},
                "body": {"type": "string"}}, "required": ["to", "subject", "body"]},
        }
        messages: list[dict[str, Any]] = [
            {"role": "user", "content": "Status of order A-1001? My email is jo@example.com"}
        ]
        first = http.post("/v1/messages", json=body(
            messages=messages, tools=[*ORDER_TOOLS[:1], email_tool])).json()
        assert first["content"][-1]["name"] == "lookup_order"
        table = '{"columns": ["order_id", "status"], "rows": [["A-1001", "delivered"]]}'
        messages += [{"role": "assistant", "content": first["content"]},
                     answer_tools(first, {"lookup_order": table})]
        second = http.post("/v1/messages", json=body(
            messages=messages, tools=[*ORDER_TOOLS[:1], email_tool])).json()
        assert second["stop_reason"] == "end_turn"
        assert second["content"] == [{"type": "text", "text": (
            "[demo policy] Here is what the tools returned:\n"
            "- lookup_order returned: order_id: A-1001, status: delivered"
        )}]


def cached_body(text_chars: int, question: str = "Hi", **extra: Any) -> dict[str, Any]:
    return body(
        system=[{"type": "text", "text": "policy " * (text_chars // 7),
                 "cache_control": {"type": "ephemeral", **extra}}],
        messages=[{"role": "user", "content": question}],
    )


class TestPromptCaching:
    def test_first_request_writes_the_prefix_and_the_next_reads_it(
        self, http: httpx.Client
    ) -> None:
        first = http.post("/v1/messages", json=cached_body(8000)).json()["usage"]
        second = http.post("/v1/messages", json=cached_body(8000, "Other")).json()["usage"]
        total = http.post("/v1/messages/count_tokens",
                          json=cached_body(8000)).json()["input_tokens"]
        written = first["cache_creation_input_tokens"]
        assert written > 1024
        assert first["input_tokens"] + written == total
        assert (first["cache_read_input_tokens"], first["cache_creation"]) == (
            0, {"ephemeral_5m_input_tokens": written, "ephemeral_1h_input_tokens": 0})
        assert (second["cache_read_input_tokens"], second["cache_creation_input_tokens"]) == (
            written, 0)
        assert second["input_tokens"] == first["input_tokens"] + 1  # "Other" vs "Hi"

    def test_prefix_below_the_model_minimum_is_not_cached(self, http: httpx.Client) -> None:
        usage = http.post("/v1/messages", json=cached_body(2000)).json()["usage"]
        assert (usage["cache_creation_input_tokens"], usage["cache_read_input_tokens"]) == (0, 0)

    def test_one_hour_ttl_is_reported_separately(self, http: httpx.Client) -> None:
        usage = http.post("/v1/messages", json=cached_body(8000, ttl="1h")).json()["usage"]
        assert usage["cache_creation"] == {
            "ephemeral_5m_input_tokens": 0,
            "ephemeral_1h_input_tokens": usage["cache_creation_input_tokens"],
        }

    def test_entries_expire_after_their_ttl(self) -> None:
        now = [0.0]
        with Emulator(clock=lambda: now[0]) as emulator, httpx.Client(
            base_url=emulator.base_url, headers=HEADERS
        ) as http:
            http.post("/v1/messages", json=cached_body(8000))
            now[0] = 301.0
            usage = http.post("/v1/messages", json=cached_body(8000)).json()["usage"]
        assert usage["cache_read_input_tokens"] == 0
        assert usage["cache_creation_input_tokens"] > 0

    def test_a_breakpoint_moved_forward_reads_the_earlier_entry(
        self, http: httpx.Client
    ) -> None:
        marker = {"type": "ephemeral"}
        turn_one = [{"role": "user", "content": [
            {"type": "text", "text": "context " * 1200, "cache_control": marker}]}]
        first = http.post("/v1/messages", json=body(messages=turn_one)).json()
        turn_two = [
            {"role": "user", "content": [{"type": "text", "text": "context " * 1200}]},
            {"role": "assistant", "content": first["content"]},
            {"role": "user", "content": [{"type": "text", "text": "more", "cache_control":
                                          marker}]},
        ]
        second = http.post("/v1/messages", json=body(messages=turn_two)).json()["usage"]
        assert second["cache_read_input_tokens"] == first["usage"][
            "cache_creation_input_tokens"]
        assert second["cache_creation_input_tokens"] > 0
        assert second["input_tokens"] == 0


class TestBatches:
    def test_lifecycle_from_create_to_results_and_delete(self) -> None:
        requests = [
            {"custom_id": "ok", "params": body(messages=[{"role": "user", "content": "Hi"}])},
            {"custom_id": "bad", "params": body(model="claude-nope")},
        ]
        with Emulator([text_reply("Hello!")], batch_delay_seconds=0.2) as emulator, \
                httpx.Client(base_url=emulator.base_url, headers=HEADERS) as http:
            created = http.post("/v1/messages/batches", json={"requests": requests}).json()
            early = http.get(f"/v1/messages/batches/{created['id']}/results")
            batch = created
            for _ in range(100):
                batch = http.get(f"/v1/messages/batches/{created['id']}").json()
                if batch["processing_status"] == "ended":
                    break
                time.sleep(0.02)
            results = http.get(f"/v1/messages/batches/{created['id']}/results")
            listed = http.get("/v1/messages/batches").json()
            deleted = http.delete(f"/v1/messages/batches/{created['id']}").json()
            gone = http.get(f"/v1/messages/batches/{created['id']}")
        assert created["processing_status"] == "in_progress"
        assert created["request_counts"] == {"processing": 2, "succeeded": 0, "errored": 0,
                                             "canceled": 0, "expired": 0}
        assert error_of(early)[:2] == (400, "invalid_request_error")
        assert batch["request_counts"] == {"processing": 0, "succeeded": 1, "errored": 1,
                                           "canceled": 0, "expired": 0}
        assert batch["results_url"] == (
            f"{emulator_url(batch)}/v1/messages/batches/{created['id']}/results")
        lines = [json.loads(line) for line in results.text.splitlines()]
        assert [line["custom_id"] for line in lines] == ["ok", "bad"]
        assert lines[0]["result"]["type"] == "succeeded"
        assert lines[0]["result"]["message"]["content"] == [{"type": "text", "text": "Hello!"}]
        assert lines[0]["result"]["message"]["usage"]["service_tier"] == "batch"
        assert lines[1]["result"]["type"] == "errored"
        assert lines[1]["result"]["error"]["error"] == {"type": "not_found_error",
                                                        "message": "model: claude-nope"}
        assert [item["id"] for item in listed["data"]] == [created["id"]]
        assert deleted == {"id": created["id"], "type": "message_batch_deleted"}
        assert error_of(gone) == (404, "not_found_error", f"message_batch: {created['id']}")

    def test_cancel_before_processing_marks_requests_canceled(self) -> None:
        requests = [{"custom_id": f"r{n}", "params": body()} for n in range(3)]
        with Emulator(batch_delay_seconds=0.2) as emulator, httpx.Client(
            base_url=emulator.base_url, headers=HEADERS
        ) as http:
            created = http.post("/v1/messages/batches", json={"requests": requests}).json()
            canceling = http.post(f"/v1/messages/batches/{created['id']}/cancel").json()
            batch = wait_until_ended(http, created["id"])
        assert canceling["processing_status"] == "canceling"
        assert batch["request_counts"]["canceled"] == 3

    def test_requests_past_the_expiry_end_expired(self) -> None:
        with Emulator(batch_delay_seconds=0.01, batch_expiry=timedelta(0)) as emulator, \
                httpx.Client(base_url=emulator.base_url, headers=HEADERS) as http:
            created = http.post("/v1/messages/batches",
                                json={"requests": [{"custom_id": "a", "params": body()}]}).json()
            batch = wait_until_ended(http, created["id"])
        assert batch["request_counts"]["expired"] == 1

    def test_batch_without_requests_is_400(self, http: httpx.Client) -> None:
        response = http.post("/v1/messages/batches", json={"requests": []})
        assert error_of(response) == (400, "invalid_request_error",
                                      "requests: at least one request is required")


def emulator_url(batch: dict[str, Any]) -> str:
    return str(batch["results_url"]).split("/v1/")[0]


def wait_until_ended(http: httpx.Client, batch_id: str) -> dict[str, Any]:
    for _ in range(200):
        batch: dict[str, Any] = http.get(f"/v1/messages/batches/{batch_id}").json()
        if batch["processing_status"] == "ended":
            return batch
        time.sleep(0.02)
    raise AssertionError(f"batch {batch_id} did not end")


class TestFaultsOnTheWire:
    def test_rate_limit_fires_the_given_number_of_times_with_retry_headers(
        self, emulator: Emulator, http: httpx.Client
    ) -> None:
        emulator.faults.add(Fault.rate_limit(retry_after=0.25), times=2)
        statuses = [http.post("/v1/messages", json=body()) for _ in range(3)]
        assert [r.status_code for r in statuses] == [429, 429, 200]
        assert (statuses[0].headers["retry-after"], statuses[0].headers["retry-after-ms"]) == (
            "0.25", "250")
        assert error_of(statuses[0])[1] == "rate_limit_error"

    def test_connection_reset_drops_the_connection(
        self, emulator: Emulator, http: httpx.Client
    ) -> None:
        emulator.faults.add(Fault.connection_reset())
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            http.post("/v1/messages", json=body())
        assert http.post("/v1/messages", json=body()).status_code == 200

    def test_stream_cut_resets_after_n_events(
        self, emulator: Emulator, http: httpx.Client
    ) -> None:
        emulator.faults.add(Fault.stream_cut(after_events=3))
        received = bytearray()
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)), http.stream(
            "POST", "/v1/messages", json=body(stream=True)
        ) as response:
            for chunk in response.iter_raw():
                received += chunk
        assert [name for name, _ in parse_sse(received.decode())] == [
            "message_start", "ping", "content_block_start"]

    def test_error_event_ends_the_stream_after_n_events(
        self, emulator: Emulator, http: httpx.Client
    ) -> None:
        emulator.faults.add(Fault.error_event(after_events=2))
        with http.stream("POST", "/v1/messages", json=body(stream=True)) as response:
            events = parse_sse(response.read().decode())
        assert [name for name, _ in events] == ["message_start", "ping", "error"]
        assert events[-1][1]["error"] == {"type": "overloaded_error", "message": "Overloaded"}

    def test_malformed_json_body_is_cut_short(
        self, emulator: Emulator, http: httpx.Client
    ) -> None:
        emulator.faults.add(Fault.malformed_json())
        response = http.post("/v1/messages", json=body())
        assert response.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            response.json()

    def test_stream_faults_skip_plain_requests_and_path_scoping_holds(
        self, emulator: Emulator, http: httpx.Client
    ) -> None:
        emulator.faults.add(Fault.stream_cut(after_events=1))
        emulator.faults.add(Fault.server_error(), path="/v1/messages/count_tokens")
        assert http.post("/v1/messages", json=body()).status_code == 200
        assert http.post("/v1/messages/count_tokens", json=body()).status_code == 500
        assert emulator.faults.pending == 1

    def test_skip_lets_requests_through_first(
        self, emulator: Emulator, http: httpx.Client
    ) -> None:
        emulator.faults.add(Fault.overloaded(), skip=1)
        statuses = [http.post("/v1/messages", json=body()).status_code for _ in range(3)]
        assert statuses == [200, 529, 200]


class TestFaultSpecs:
    @pytest.mark.parametrize(("spec", "expected"), [
        ("429:2", (Fault.rate_limit(retry_after=0.05), 2)),
        ("529", (Fault.overloaded(), 1)),
        ("500:*", (Fault.server_error(), None)),
        ("reset", (Fault.connection_reset(), 1)),
        ("cut-after:5", (Fault.stream_cut(5), 1)),
        ("error-event:3:2", (Fault.error_event(3), 2)),
        ("malformed", (Fault.malformed_json(), 1)),
        ("slow:0.5", (Fault.slow(0.5), 1)),
    ])
    def test_command_line_specs(self, spec: str, expected: tuple[Fault, int | None]) -> None:
        assert Fault.parse(spec) == expected

    @pytest.mark.parametrize(("spec", "message"), [
        ("cut-after", "cut-after needs an argument"),
        ("slow:fast", "'fast' is not a number"),
        ("429:0", "times must be a positive count"),
        ("teapot", "unknown kind 'teapot'"),
        ("200", "200 is not an error status"),
    ])
    def test_bad_specs_say_what_is_wrong(self, spec: str, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            Fault.parse(spec)


class TestCommandLine:
    @pytest.mark.e2e
    def test_agentcore_emulator_prints_the_url_first_and_stops_on_ctrl_c(self) -> None:
        with subprocess.Popen(
            [sys.executable, "-c", "import sys; from agentcore.cli import main; "
             "sys.exit(main(['emulator', '--port', '0', '--fault', '529:1']))"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=restore_default_sigint,
        ) as process:
            try:
                assert process.stdout is not None
                url = process.stdout.readline().strip()
                first = httpx.post(f"{url}/v1/messages", json=body(), headers=HEADERS)
                second = httpx.post(f"{url}/v1/messages", json=body(), headers=HEADERS)
                process.send_signal(signal.SIGINT)
                _, errors = process.communicate(timeout=10)
                code = process.returncode
            finally:
                process.kill()
        assert url.startswith("http://127.0.0.1:")
        assert "Traceback" not in errors
        assert (first.status_code, second.status_code) == (529, 200)
        assert second.json()["emulator"] == "demo-policy"
        assert code == 0

    @pytest.mark.e2e
    def test_module_entry_point_reports_a_bad_fault_spec(self) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "agentcore.emulator", "--port", "0", "--fault", "nope"],
            capture_output=True, text=True, timeout=30,
        )
        assert result.returncode == 2
        assert "unknown kind 'nope'" in result.stderr

    def test_cli_without_a_subcommand_prints_help(self, capsys: pytest.CaptureFixture[str]
                                                  ) -> None:
        assert cli.main([]) == 2
        assert "emulator" in capsys.readouterr().err


CLIENT_REQUEST: dict[str, Any] = {
    "model": MODEL,
    "max_tokens": 200,
    "messages": [{"role": "user", "content": "What is the status of order A-1001?"}],
    "tools": ORDER_TOOLS,
}


@pytest.fixture
def delays() -> list[float]:
    return []


@pytest.fixture
def client(emulator: Emulator, delays: list[float]) -> Iterator[Client]:
    with Client(api_key="test-key", base_url=emulator.base_url, sleep=delays.append,
                rng=random.Random(7), timeout=5) as made:
        yield made


def lookup_call(message: Message) -> tuple[str, dict[str, Any]]:
    tool_use = message.tool_uses[0]
    return tool_use.name, tool_use.input


class TestAgentcoreClientRetries:
    """Each fault mode, through agentcore's retry path for plain calls."""

    def test_rate_limits_are_retried_after_the_servers_hint(
        self, emulator: Emulator, client: Client, delays: list[float]
    ) -> None:
        emulator.faults.add(Fault.rate_limit(retry_after=0.01), times=2)
        message = client.messages.create(**CLIENT_REQUEST)
        assert lookup_call(message) == ("lookup_order", {"order_id": "A-1001"})
        assert delays == [0.01, 0.01]

    @pytest.mark.parametrize("fault", [Fault.overloaded(), Fault.server_error(),
                                       Fault.connection_reset()])
    def test_overload_server_errors_and_resets_are_retried_with_backoff(
        self, emulator: Emulator, client: Client, delays: list[float], fault: Fault
    ) -> None:
        emulator.faults.add(fault, times=2)
        message = client.messages.create(**CLIENT_REQUEST)
        assert lookup_call(message) == ("lookup_order", {"order_id": "A-1001"})
        assert len(delays) == 2 and all(0 < delay <= 8 for delay in delays)

    @pytest.mark.parametrize(("fault", "error"), [
        (Fault.overloaded(), OverloadedError),
        (Fault.server_error(), InternalServerError),
        (Fault.rate_limit(retry_after=0.01), RateLimitError),
        (Fault.connection_reset(), APIConnectionError),
    ])
    def test_persistent_faults_surface_as_typed_errors_once_retries_are_spent(
        self, emulator: Emulator, client: Client, delays: list[float], fault: Fault,
        error: type[Exception],
    ) -> None:
        emulator.faults.add(fault, times=None)
        with pytest.raises(error):
            client.messages.create(**CLIENT_REQUEST)
        assert len(delays) == 2

    def test_a_slow_response_times_out_and_the_retry_succeeds(
        self, emulator: Emulator, delays: list[float]
    ) -> None:
        emulator.faults.add(Fault.slow(1.0))
        with Client(api_key="k", base_url=emulator.base_url, sleep=delays.append,
                    timeout=0.2) as client:
            message = client.messages.create(**CLIENT_REQUEST)
        assert message.stop_reason == "tool_use"
        assert len(delays) == 1

    def test_a_slow_response_without_retries_is_a_timeout_error(
        self, emulator: Emulator
    ) -> None:
        emulator.faults.add(Fault.slow(1.0))
        with Client(api_key="k", base_url=emulator.base_url, timeout=0.2,
                    max_retries=0) as client, pytest.raises(APITimeoutError):
            client.messages.create(**CLIENT_REQUEST)

    def test_a_malformed_body_is_a_typed_error_with_the_request_id(
        self, emulator: Emulator, client: Client
    ) -> None:
        emulator.faults.add(Fault.malformed_json())
        with pytest.raises(APIError) as raised:
            client.messages.create(**CLIENT_REQUEST, max_retries=0)
        assert str(raised.value.request_id).startswith("req_")

    def test_validation_errors_are_not_retried(
        self, client: Client, delays: list[float]
    ) -> None:
        with pytest.raises(NotFoundError, match="model: claude-nope"):
            client.messages.create(**{**CLIENT_REQUEST, "model": "claude-nope"})
        assert delays == []

    def test_count_tokens_and_models(self, client: Client) -> None:
        counted = client.messages.count_tokens(
            model=MODEL, messages=CLIENT_REQUEST["messages"], tools=ORDER_TOOLS)
        created = client.messages.create(**CLIENT_REQUEST)
        assert counted == created.usage.input_tokens
        assert [model.id for model in client.models.list()][:3] == [
            "claude-opus-4-7", "claude-sonnet-4-6", "claude-haiku-4-5"]
        assert client.models.retrieve("claude-haiku-4-5").display_name == "Claude Haiku 4.5"


class TestAgentcoreClientStreaming:
    """Each stream fault mode, through agentcore's streaming path."""

    def test_a_clean_stream_gives_the_tool_call_with_parsed_input(self, client: Client) -> None:
        with client.messages.stream(**CLIENT_REQUEST) as stream:
            message = stream.get_final_message()
        assert lookup_call(message) == ("lookup_order", {"order_id": "A-1001"})
        assert message.text == "[demo policy] Calling lookup_order."

    @pytest.mark.parametrize("fault", [
        Fault.stream_cut(after_events=2),
        Fault.error_event(after_events=2),
        Fault.rate_limit(retry_after=0.01),
        Fault.connection_reset(),
    ])
    def test_failures_before_output_are_retried_transparently(
        self, emulator: Emulator, client: Client, delays: list[float], fault: Fault
    ) -> None:
        emulator.faults.add(fault)
        with client.messages.stream(**CLIENT_REQUEST) as stream:
            names = [type(event).__name__ for event in stream]
            message = stream.get_final_message()
        assert lookup_call(message) == ("lookup_order", {"order_id": "A-1001"})
        assert names.count("MessageStartEvent") == 1
        assert len(delays) == 1

    @pytest.mark.parametrize(("fault", "message_start"), [
        (Fault.stream_cut(after_events=5), "the stream was cut after output began"),
        (Fault.stream_cut(after_events=5, clean_end=True), "the stream ended before"),
        (Fault.error_event(after_events=5), "200 overloaded_error: Overloaded"),
        (Fault.malformed_json(after_events=5), "malformed JSON"),
    ])
    def test_failures_after_output_raise_stream_error_keeping_the_partial_text(
        self, emulator: Emulator, client: Client, delays: list[float], fault: Fault,
        message_start: str,
    ) -> None:
        emulator.faults.add(fault)
        text = ""
        with pytest.raises(StreamError) as raised, client.messages.stream(
            **CLIENT_REQUEST
        ) as stream:
            for event in stream:
                if isinstance(event, TextDeltaEvent):
                    text += event.text
        partial = raised.value.partial
        assert str(raised.value).startswith(message_start)
        assert isinstance(partial, Message)
        assert text and partial.text == text
        assert "[demo policy] Calling lookup_order.".startswith(text)
        assert delays == []

    async def test_async_client_retries_and_streams_against_the_emulator(self) -> None:
        delays: list[float] = []

        async def sleep(seconds: float) -> None:
            delays.append(seconds)

        async with Emulator() as emulator, AsyncClient(
            api_key="k", base_url=emulator.base_url, sleep=sleep
        ) as client:
            emulator.faults.add(Fault.overloaded())
            created = await client.messages.create(**CLIENT_REQUEST)
            emulator.faults.add(Fault.error_event(after_events=1))
            async with client.messages.stream(**CLIENT_REQUEST) as stream:
                streamed = await stream.get_final_message()
        assert lookup_call(created) == lookup_call(streamed)
        assert len(delays) == 2


@tool
def lookup_order(order_id: str) -> dict[str, str]:
    """Look up an order's status.

    Args:
        order_id: Order number such as "A-1001".
    """
    return {"order_id": order_id, "status": "shipped"}


@tool
def track_shipment(order_id: str) -> dict[str, str]:
    """Get the carrier tracking for a shipment.

    Args:
        order_id: Order number such as "A-1001".
    """
    return {"carrier": "UPS", "tracking": "1Z999"}


class TestAgentAgainstTheEmulator:
    def test_demo_policy_drives_a_two_tool_agent_run_to_end_turn(
        self, emulator: Emulator
    ) -> None:
        with Client(api_key="k", base_url=emulator.base_url) as client:
            agent = Agent(MODEL, "You help customers.", [lookup_order, track_shipment],
                          client=client)
            result = agent.run("What's the status of order A-1001 and its tracking?")
        assert (result.status, result.stop_reason) == ("completed", "end_turn")
        assert [turn.stop_reason for turn in result.turns] == ["tool_use", "tool_use",
                                                                "end_turn"]
        assert result.output == (
            "[demo policy] Here is what the tools returned:\n"
            "- lookup_order returned: order_id: A-1001, status: shipped\n"
            "- track_shipment returned: carrier: UPS, tracking: 1Z999"
        )
        final_request = emulator.requests[-1]["messages"]
        assert [(block["name"], block["input"]) for message in final_request
                if message["role"] == "assistant" for block in message["content"]
                if block["type"] == "tool_use"] == [("lookup_order", {"order_id": "A-1001"}),
                                                    ("track_shipment", {"order_id": "A-1001"})]

    def test_agent_with_thinking_sends_thinking_blocks_back(self, emulator: Emulator) -> None:
        with Client(api_key="k", base_url=emulator.base_url) as client:
            agent = Agent(MODEL, "You help customers.", [lookup_order, track_shipment],
                          client=client,
                          model_settings=ModelSettings(
                              max_tokens=2048, thinking={"type": "enabled", "budget_tokens": 1024}
                          ))
            result = agent.run("What's the status of order A-1001 and its tracking?")
        assert (result.status, len(result.turns)) == ("completed", 3)

    async def test_async_agent_with_caching_writes_then_reads_the_prefix(self) -> None:
        system = "You help customers with their orders. " * 200
        async with Emulator() as emulator, AsyncClient(
            api_key="k", base_url=emulator.base_url
        ) as client:
            agent = Agent(MODEL, system, [lookup_order, track_shipment], async_client=client,
                          model_settings=ModelSettings(cache=True))
            result = await agent.arun("What's the status of order A-1001 and its tracking?")
        cache = [(turn.usage.cache_creation_input_tokens or 0,
                  turn.usage.cache_read_input_tokens or 0) for turn in result.turns]
        assert result.status == "completed"
        assert len(cache) == 3 and cache[0][0] > 1024 and cache[0][1] == 0
        for (written_before, read_before), (written, read) in itertools.pairwise(cache):
            assert read == read_before + written_before  # each turn reads all written so far
            assert written > 0


class TestHTTPEdges:
    def test_a_chunked_request_body_is_read_whole(self, http: httpx.Client) -> None:
        payload = json.dumps(body()).encode()
        chunks = iter([payload[:10], payload[10:]])
        response = http.post("/v1/messages/count_tokens", content=chunks)
        assert response.status_code == 200
        assert response.json()["input_tokens"] > 0

    def test_a_request_that_is_not_http_gets_400_and_a_closed_connection(
        self, emulator: Emulator
    ) -> None:
        host, port = emulator.base_url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as connection:
            connection.sendall(b"HELLO\r\n\r\n")
            reply = b""
            while chunk := connection.recv(65536):
                reply += chunk
        head, _, payload = reply.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400 Bad Request")
        assert json.loads(payload)["error"] == {
            "type": "invalid_request_error", "message": "malformed HTTP/1.1 request"}

    def test_unknown_paths_are_404_not_found_error(self, http: httpx.Client) -> None:
        assert error_of(http.get("/v1/skills")) == (404, "not_found_error",
                                                    "Not found: GET /v1/skills")
