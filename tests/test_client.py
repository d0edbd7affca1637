"""The Messages API client: what it sends, what it returns, how it fails, retries and falls back.

Every behaviour the two clients share runs against both (``kind`` is "sync" or "async");
the server is a scripted ``httpx.MockTransport`` and retries wait on a recording fake sleep
with a fixed jitter, so delays are checked exactly and no test waits.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import httpx
import pytest

from agentcore import AsyncClient, Client, PriceTable
from agentcore.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BillingError,
    ConfigurationError,
    ConflictError,
    GatewayTimeoutError,
    InternalServerError,
    InvalidRequestError,
    MalformedResponseError,
    MissingAPIKeyError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    RequestTooLargeError,
)
from agentcore.log import capture_events
from agentcore.types import (
    MessageParam,
    ModelInfo,
    TextBlock,
    ToolParam,
    UnknownBlock,
    parse_message,
)
from tests._client_harness import (
    API_KEY,
    Harness,
    Reply,
    error_response,
    fixed_random,
    message_body,
    ok,
)

KINDS = ["sync", "async"]
HELLO = [{"role": "user", "content": "Hi"}]
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


@pytest.fixture(autouse=True)
def _no_anthropic_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("API_KEY", "AUTH_TOKEN", "BASE_URL", "VERSION"):
        monkeypatch.delenv(f"ANTHROPIC_{name}", raising=False)


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# --- what is sent ---------------------------------------------------------------------------


class TestRequest:
    def test_create_posts_the_exact_body_and_headers(self, kind: str) -> None:
        harness = Harness(kind, [ok()])
        harness.create(
            model="claude-haiku-4-5",
            max_tokens=100,
            messages=HELLO,
            system="Be brief.",
            temperature=0.2,
            stop_sequences=["END"],
            metadata={"user_id": "u-1"},
        )
        [seen] = harness.script.seen
        assert (seen.method, seen.path) == ("POST", "/v1/messages")
        assert seen.body == {
            "max_tokens": 100,
            "messages": HELLO,
            "system": "Be brief.",
            "temperature": 0.2,
            "stop_sequences": ["END"],
            "metadata": {"user_id": "u-1"},
            "model": "claude-haiku-4-5",
        }
        assert {key: seen.headers.get(key) for key in (
            "x-api-key", "anthropic-version", "content-type", "user-agent",
            "anthropic-beta", "authorization",
        )} == {
            "x-api-key": API_KEY,
            "anthropic-version": "2023-06-01",
            "content-type": "application/json",
            "user-agent": f"agentcore/0.1.0 python/{PYTHON}",
            "anthropic-beta": None,
            "authorization": None,
        }

    def test_pydantic_wire_models_are_sent_as_their_json(self, kind: str) -> None:
        harness = Harness(kind, [ok()])
        tool = ToolParam(name="lookup", input_schema={"type": "object", "properties": {}})
        message = MessageParam(role="user", content=[TextBlock(text="Find A-1")])
        harness.create(messages=[message], tools=[tool])
        assert harness.script.seen[0].body["messages"] == [
            {"role": "user", "content": [{"type": "text", "text": "Find A-1"}]}
        ]
        assert harness.script.seen[0].body["tools"] == [
            {"name": "lookup", "input_schema": {"type": "object", "properties": {}}}
        ]

    def test_none_parameters_are_left_out_and_extra_body_is_merged(self, kind: str) -> None:
        harness = Harness(kind, [ok()])
        harness.create(
            system=None, tools=None, extra_body={"context_management": {"edits": []}}
        )
        assert harness.script.seen[0].body == {
            "max_tokens": 256,
            "messages": HELLO,
            "context_management": {"edits": []},
            "model": "claude-sonnet-4-6",
        }

    def test_betas_of_client_and_call_are_joined_and_extra_headers_added(
        self, kind: str
    ) -> None:
        harness = Harness(kind, [ok()], betas=["files-api-2025-04-14"])
        harness.create(betas=["context-1m-2025-08-07"], extra_headers={"X-Trace": "t-1"})
        headers = harness.script.seen[0].headers
        assert headers["anthropic-beta"] == "files-api-2025-04-14,context-1m-2025-08-07"
        assert headers["x-trace"] == "t-1"

    def test_a_misspelled_keyword_is_a_type_error_naming_it(self, kind: str) -> None:
        harness = Harness(kind, [])
        with pytest.raises(TypeError, match="unexpected keyword argument\\(s\\): max_token"):
            harness.run(
                lambda client: client.messages.create(
                    model="m", max_token=5, max_tokens=5, messages=HELLO
                )
            )
        assert harness.script.seen == []

    def test_asking_create_to_stream_points_to_messages_stream(self, kind: str) -> None:
        harness = Harness(kind, [])
        with pytest.raises(TypeError, match=r"call messages\.stream\(\.\.\.\) instead"):
            harness.create(stream=True)

    def test_a_missing_required_keyword_is_a_type_error_naming_it(self, kind: str) -> None:
        harness = Harness(kind, [])
        with pytest.raises(TypeError, match="missing required keyword argument\\(s\\): max_tokens"):
            harness.run(lambda client: client.messages.create(model="m", messages=HELLO))

    def test_timeouts_default_to_five_seconds_to_connect_and_ten_minutes_to_read(
        self, kind: str
    ) -> None:
        harness = Harness(kind, [ok(), ok()])
        harness.create()
        harness.create(timeout=30)
        assert [seen.timeout for seen in harness.script.seen] == [
            {"connect": 5.0, "read": 600.0, "write": 600.0, "pool": 600.0},
            {"connect": 5.0, "read": 30.0, "write": 30.0, "pool": 30.0},
        ]

    def test_a_client_timeout_applies_to_every_request(self, kind: str) -> None:
        harness = Harness(kind, [ok()], timeout=httpx.Timeout(20.0, connect=2.0))
        harness.create()
        assert harness.script.seen[0].timeout == {
            "connect": 2.0, "read": 20.0, "write": 20.0, "pool": 20.0
        }


# --- configuration --------------------------------------------------------------------------


class TestConfiguration:
    def test_missing_key_fails_at_construction_saying_how_to_set_it(self, kind: str) -> None:
        with pytest.raises(MissingAPIKeyError) as caught:
            Harness(kind, [], api_key=None)
        assert "ANTHROPIC_API_KEY" in str(caught.value)
        assert "Client(api_key=...)" in str(caught.value)

    def test_missing_key_with_a_base_url_set_names_the_key_alone(
        self, kind: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:8765")
        with pytest.raises(MissingAPIKeyError) as caught:
            Harness(kind, [], api_key=None)
        assert caught.value.server == "ANTHROPIC_BASE_URL"
        assert "set ANTHROPIC_BASE_URL" not in str(caught.value)
        assert "needs a key too" in str(caught.value)

    def test_a_blank_key_in_the_environment_counts_as_missing(
        self, kind: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "   ")
        with pytest.raises(MissingAPIKeyError):
            Harness(kind, [], api_key=None)

    def test_a_key_read_with_its_trailing_newline_is_sent_without_it(
        self, kind: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-from-a-file\n")
        harness = Harness(kind, [ok()], api_key=None)
        harness.create()
        assert harness.script.seen[0].headers["x-api-key"] == "sk-from-a-file"

    @pytest.mark.parametrize(
        "key", ["sk-one\nsk-two", "sk-with space", "sk-\x00-nul", "sk-\u201cquoted\u201d"]
    )
    def test_a_key_with_whitespace_controls_or_non_ascii_inside_is_refused_unquoted(
        self, kind: str, key: str
    ) -> None:
        with pytest.raises(ConfigurationError) as caught:
            Harness(kind, [], api_key=key)
        assert "api key" in str(caught.value).lower()
        assert key not in str(caught.value)

    def test_environment_is_read_when_the_client_is_built(
        self, kind: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-from-env")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:8765/")
        monkeypatch.setenv("ANTHROPIC_VERSION", "2099-01-01")
        harness = Harness(kind, [ok()], api_key=None)
        harness.create()
        seen = harness.script.seen[0]
        assert seen.headers["x-api-key"] == "sk-from-env"
        assert seen.headers["anthropic-version"] == "2099-01-01"
        assert seen.headers["host"] == "127.0.0.1:8765"

    def test_arguments_win_over_the_environment(
        self, kind: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-from-env")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:8765")
        harness = Harness(
            kind, [ok()], api_key="sk-arg", base_url="http://localhost:9", version="v"
        )
        harness.create()
        headers = harness.script.seen[0].headers
        assert (headers["x-api-key"], headers["host"], headers["anthropic-version"]) == (
            "sk-arg", "localhost:9", "v"
        )

    def test_an_auth_token_is_sent_as_a_bearer_token(self, kind: str) -> None:
        harness = Harness(kind, [ok()], api_key=None, auth_token="tok-1")
        harness.create()
        headers = harness.script.seen[0].headers
        assert (headers["authorization"], headers.get("x-api-key")) == ("Bearer tok-1", None)

    def test_the_auth_token_environment_variable_is_used_without_a_key(
        self, kind: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", "tok-env")
        harness = Harness(kind, [ok()], api_key=None)
        harness.create()
        assert harness.script.seen[0].headers["authorization"] == "Bearer tok-env"

    def test_passing_both_a_key_and_a_token_is_a_configuration_error(self, kind: str) -> None:
        with pytest.raises(ConfigurationError, match=r"either api_key .* or auth_token"):
            Harness(kind, [], auth_token="tok")

    @pytest.mark.parametrize("url", ["ftp://example.com", "api.anthropic.com"])
    def test_a_base_url_that_is_not_http_is_a_configuration_error(
        self, kind: str, url: str
    ) -> None:
        with pytest.raises(ConfigurationError, match="must start with https://"):
            Harness(kind, [], base_url=url)

    def test_the_key_is_not_in_the_repr(self, kind: str) -> None:
        harness = Harness(kind, [])
        name = "Client" if kind == "sync" else "AsyncClient"
        assert repr(harness.client) == (
            f"{name}(base_url='https://api.anthropic.com', version='2023-06-01', max_retries=2)"
        )

    def test_a_negative_max_retries_is_rejected(self, kind: str) -> None:
        with pytest.raises(ValueError, match="max_retries must be 0 or more"):
            Harness(kind, [], max_retries=-1)


# --- what comes back ------------------------------------------------------------------------


class TestResponse:
    def test_create_returns_the_message_with_its_request_id(self, kind: str) -> None:
        harness = Harness(kind, [ok(request_id="req_42")])
        message = harness.create()
        assert message == parse_message(message_body(), request_id="req_42")
        assert (message.text, message.request_id) == ("Hello!", "req_42")

    def test_unknown_fields_and_blocks_round_trip_through_create(self, kind: str) -> None:
        from_the_future = message_body(
            content=[
                {"type": "text", "text": "Hi", "new_field": {"x": 1}},
                {"type": "hologram", "payload": [1, 2, 3]},
            ],
            stop_reason="a_reason_from_the_future",
            novel_top_level=True,
        )
        harness = Harness(kind, [ok(from_the_future), ok()])
        message = harness.create()
        assert isinstance(message.content[1], UnknownBlock)
        assert message.stop_reason == "a_reason_from_the_future"
        harness.create(messages=[*HELLO, message.to_param(), {"role": "user", "content": "Go"}])
        assert harness.script.seen[1].body["messages"][1] == {
            "role": "assistant",
            "content": from_the_future["content"],
        }

    def test_a_body_that_is_not_a_message_is_retried_then_a_malformed_response_error(
        self, kind: str
    ) -> None:
        garbled = httpx.Response(200, content=b'{"id": "msg_01", "type": "mess',
                                 headers={"request-id": "req_bad"})
        harness = Harness(kind, [garbled, garbled], max_retries=1)
        with pytest.raises(MalformedResponseError) as caught:
            harness.create()
        assert caught.value.request_id == "req_bad"
        assert caught.value.body == '{"id": "msg_01", "type": "mess'
        assert len(harness.script.seen) == 2

    def test_count_tokens_sends_no_max_tokens_and_returns_the_count(self, kind: str) -> None:
        harness = Harness(kind, [ok({"input_tokens": 1234})])
        count = harness.run(
            lambda client: client.messages.count_tokens(
                model="claude-sonnet-4-6", messages=HELLO, system="Be brief."
            )
        )
        assert count == 1234
        [seen] = harness.script.seen
        assert (seen.path, seen.body) == (
            "/v1/messages/count_tokens",
            {"messages": HELLO, "system": "Be brief.", "model": "claude-sonnet-4-6"},
        )

    def test_count_tokens_rejects_a_reply_without_a_count(self, kind: str) -> None:
        harness = Harness(kind, [ok({"input_tokens": "many"})], max_retries=0)
        with pytest.raises(MalformedResponseError, match="input_tokens is 'many'"):
            harness.run(lambda client: client.messages.count_tokens(model="m", messages=HELLO))

    def test_models_list_follows_every_page(self, kind: str) -> None:
        def model(model_id: str) -> dict[str, Any]:
            return {"type": "model", "id": model_id, "display_name": model_id.upper(),
                    "created_at": "2026-01-01T00:00:00Z"}

        pages = [
            ok({"data": [model("a"), model("b")], "has_more": True, "first_id": "a",
                "last_id": "b"}),
            ok({"data": [model("c")], "has_more": False, "first_id": "c", "last_id": "c"}),
        ]
        harness = Harness(kind, pages)
        models = harness.run(lambda client: client.models.list())
        assert models == [ModelInfo.model_validate(model(name)) for name in "abc"]
        assert [(seen.method, seen.path, seen.query) for seen in harness.script.seen] == [
            ("GET", "/v1/models", {"limit": "100"}),
            ("GET", "/v1/models", {"limit": "100", "after_id": "b"}),
        ]

    def test_models_retrieve_escapes_the_id_and_raises_not_found(self, kind: str) -> None:
        found = ok({"type": "model", "id": "claude-haiku-4-5", "display_name": "Haiku"})
        harness = Harness(kind, [found, error_response(404, "not_found_error", "no such model")])
        info = harness.run(lambda client: client.models.retrieve("claude-haiku-4-5"))
        assert info == ModelInfo(id="claude-haiku-4-5", display_name="Haiku")
        with pytest.raises(NotFoundError):
            harness.run(lambda client: client.models.retrieve("a/b"))
        assert [seen.path for seen in harness.script.seen] == [
            "/v1/models/claude-haiku-4-5", "/v1/models/a%2Fb"
        ]


# --- errors ---------------------------------------------------------------------------------

ERRORS = [
    (400, "invalid_request_error", InvalidRequestError),
    (401, "authentication_error", AuthenticationError),
    (402, "billing_error", BillingError),
    (403, "permission_error", PermissionDeniedError),
    (404, "not_found_error", NotFoundError),
    (408, "request_timeout", RequestTimeoutError),
    (409, "conflict", ConflictError),
    (413, "request_too_large", RequestTooLargeError),
    (429, "rate_limit_error", RateLimitError),
    (500, "api_error", InternalServerError),
    (503, "api_error", InternalServerError),
    (504, "timeout_error", GatewayTimeoutError),
    (529, "overloaded_error", OverloadedError),
]


class TestErrors:
    @pytest.mark.parametrize(("status", "error_type", "error_class"), ERRORS)
    def test_each_status_raises_its_typed_error_with_all_details(
        self, kind: str, status: int, error_type: str, error_class: type[APIStatusError]
    ) -> None:
        harness = Harness(kind, [error_response(status, error_type, "what went wrong")],
                          max_retries=0)
        with pytest.raises(error_class) as caught:
            harness.create()
        error = caught.value
        assert type(error) is error_class
        assert (error.status_code, error.error_type, error.message, error.request_id) == (
            status, error_type, "what went wrong", f"req_{status}"
        )
        assert error.body == {"type": "error",
                              "error": {"type": error_type, "message": "what went wrong"}}
        assert str(error) == f"{status} {error_type}: what went wrong (request-id: req_{status})"

    def test_a_non_json_502_becomes_a_server_error_quoting_the_body(self, kind: str) -> None:
        proxy_page = httpx.Response(
            502, content=b"<html><body>\n<h1>502 Bad Gateway</h1>\n</body></html>",
            headers={"content-type": "text/html"},
        )
        harness = Harness(kind, [proxy_page], max_retries=0)
        with pytest.raises(InternalServerError) as caught:
            harness.create()
        assert (caught.value.status_code, caught.value.error_type) == (502, None)
        assert caught.value.message == (
            "non-JSON error body: '<html><body> <h1>502 Bad Gateway</h1> </body></html>'"
        )

    def test_a_refused_connection_is_an_api_connection_error(self, kind: str) -> None:
        harness = Harness(kind, [httpx.ConnectError("connection refused")], max_retries=0)
        with pytest.raises(APIConnectionError) as caught:
            harness.create()
        assert type(caught.value) is APIConnectionError
        assert str(caught.value) == "connection failed (ConnectError): connection refused"

    def test_a_garbled_compressed_body_is_a_typed_error_and_retried(self, kind: str) -> None:
        """httpx's DecodingError is no transport error, yet must not reach the user raw."""
        def garbled(request: httpx.Request) -> httpx.Response:
            return httpx.Response(
                200, headers={"content-encoding": "gzip"}, content=b"not gzip at all"
            )

        harness = Harness(kind, [garbled, garbled], max_retries=1)
        with pytest.raises(APIConnectionError) as caught:
            harness.create()
        assert str(caught.value) == (
            "connection failed (DecodingError): Error -3 while decompressing data: "
            "incorrect header check"
        )
        assert len(harness.script.seen) == 2

    def test_a_timeout_is_an_api_timeout_error(self, kind: str) -> None:
        harness = Harness(kind, [httpx.ReadTimeout("timed out")], max_retries=0)
        with pytest.raises(APITimeoutError, match=r"request timed out \(ReadTimeout\)"):
            harness.create()


# --- retries --------------------------------------------------------------------------------


def overloaded(**headers: str) -> httpx.Response:
    return error_response(529, "overloaded_error", "Overloaded", **headers)


class TestRetries:
    def test_backoff_doubles_from_half_a_second_less_jitter(self, kind: str) -> None:
        harness = Harness(kind, [overloaded(), overloaded(), overloaded(), ok()], max_retries=3)
        message = harness.create()
        assert message.text == "Hello!"
        assert harness.delays == [0.4375, 0.875, 1.75]

    def test_jitter_takes_off_at_most_a_quarter(self, kind: str) -> None:
        for value, expected in [(0.0, 0.5), (0.999, 0.5 * (1 - 0.25 * 0.999))]:
            harness = Harness(kind, [overloaded(), ok()], rng=fixed_random(value))
            harness.create()
            assert harness.delays == [expected]

    def test_backoff_is_capped_at_eight_seconds(self, kind: str) -> None:
        harness = Harness(kind, [overloaded()] * 7, max_retries=6, rng=fixed_random(0.0))
        with pytest.raises(OverloadedError):
            harness.create()
        assert harness.delays == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]

    def test_after_the_last_retry_the_last_error_is_raised(self, kind: str) -> None:
        replies = [overloaded(), error_response(500, "api_error", "boom")]
        harness = Harness(kind, replies, max_retries=1)
        with pytest.raises(InternalServerError, match="boom"):
            harness.create()
        assert len(harness.script.seen) == 2

    @pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 529])
    def test_retryable_statuses_are_retried(self, kind: str, status: int) -> None:
        harness = Harness(kind, [error_response(status, "any"), ok()])
        assert harness.create().text == "Hello!"
        assert harness.delays == [0.4375]

    @pytest.mark.parametrize("status", [400, 401, 403, 404, 413])
    def test_client_errors_are_never_retried(self, kind: str, status: int) -> None:
        harness = Harness(kind, [error_response(status, "any")], max_retries=5)
        with pytest.raises(APIStatusError):
            harness.create()
        assert (len(harness.script.seen), harness.delays) == (1, [])

    def test_retry_after_ms_is_followed_exactly(self, kind: str) -> None:
        replies = [overloaded(**{"retry-after-ms": "1250", "retry-after": "9"}), ok()]
        harness = Harness(kind, replies)
        harness.create()
        assert harness.delays == [1.25]

    def test_retry_after_seconds_may_be_a_float(self, kind: str) -> None:
        limited = error_response(429, "rate_limit_error", **{"retry-after": "2.5"})
        harness = Harness(kind, [limited, ok()])
        harness.create()
        assert harness.delays == [2.5]

    def test_retry_after_may_be_an_http_date_relative_to_the_response_date(
        self, kind: str
    ) -> None:
        headers = {"retry-after": "Wed, 21 Oct 2026 07:28:07 GMT",
                   "date": "Wed, 21 Oct 2026 07:28:00 GMT"}
        harness = Harness(kind, [error_response(429, "rate_limit_error", **headers), ok()])
        harness.create()
        assert harness.delays == [7.0]

    def test_a_server_hint_is_capped_at_sixty_seconds(self, kind: str) -> None:
        harness = Harness(kind, [overloaded(**{"retry-after": "600"}), ok()])
        harness.create()
        assert harness.delays == [60.0]

    def test_an_unreadable_hint_falls_back_to_backoff(self, kind: str) -> None:
        harness = Harness(kind, [overloaded(**{"retry-after": "soon"}), ok()])
        harness.create()
        assert harness.delays == [0.4375]

    def test_x_should_retry_false_stops_a_retryable_status(self, kind: str) -> None:
        harness = Harness(kind, [overloaded(**{"x-should-retry": "false"})])
        with pytest.raises(OverloadedError):
            harness.create()
        assert len(harness.script.seen) == 1

    def test_x_should_retry_true_retries_a_status_that_is_not(self, kind: str) -> None:
        replies = [error_response(400, "invalid_request_error", **{"x-should-retry": "true"}), ok()]
        harness = Harness(kind, replies)
        assert harness.create().text == "Hello!"
        assert harness.delays == [0.4375]

    def test_max_retries_of_a_call_overrides_the_clients(self, kind: str) -> None:
        harness = Harness(kind, [overloaded()] * 5, max_retries=3)
        with pytest.raises(OverloadedError):
            harness.create(max_retries=0)
        assert len(harness.script.seen) == 1
        harness.script.replies = [overloaded(), overloaded(), ok()]
        harness.create(max_retries=5)
        assert len(harness.script.seen) == 4

    def test_a_negative_max_retries_of_a_call_is_rejected_before_sending(self, kind: str) -> None:
        harness = Harness(kind, [ok()])
        with pytest.raises(ValueError, match="max_retries must be 0 or more, not -1"):
            harness.create(max_retries=-1)
        assert harness.script.seen == []

    def test_connection_errors_and_timeouts_are_retried(self, kind: str) -> None:
        replies: list[Reply] = [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), ok()]
        harness = Harness(kind, replies)
        with capture_events() as events:
            assert harness.create().text == "Hello!"
        assert harness.delays == [0.4375, 0.875]
        assert [(e["reason"], e["status_code"]) for e in events if e["event"] == "model.retry"] == [
            ("connection_error", None), ("timeout", None)
        ]

    def test_each_retry_and_each_call_is_logged_without_the_key(self, kind: str) -> None:
        harness = Harness(kind, [overloaded(), ok(request_id="req_ok")])
        with capture_events() as events:
            harness.create()
        retry, call = events
        assert retry == {
            "event": "model.retry", "level": "warning", "logger": "agentcore.client",
            "model": "claude-sonnet-4-6", "attempt": 1, "delay_s": 0.4375,
            "reason": "overloaded_error", "status_code": 529, "request_id": "req_529",
        }
        assert call["latency_ms"] >= 0
        assert {**call, "latency_ms": 0} == {
            "event": "model.call", "level": "info", "logger": "agentcore.client",
            "model": "claude-sonnet-4-6", "latency_ms": 0, "input_tokens": 12,
            "output_tokens": 3, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
            "cost_usd": "0.000081", "stop_reason": "end_turn", "request_id": "req_ok",
            "attempt": 2,
        }
        assert API_KEY not in json.dumps(events)

    def test_log_fields_name_the_run_and_prices_price_the_call(self, kind: str) -> None:
        """The caller's fields are added to the one model.call event, never sent."""
        harness = Harness(kind, [ok(request_id="req_ok")])
        fields = {"run_id": "run_1", "turn": 3, "prompt_name": "support", "prompt_version": "v2"}
        with capture_events() as events:
            harness.create(log_fields=fields, prices=PriceTable({"claude-sonnet-4-6": (10, 100)}))
        [call] = events
        assert {**call, "latency_ms": 0} == {
            "event": "model.call", "level": "info", "logger": "agentcore.client",
            "model": "claude-sonnet-4-6", "latency_ms": 0, "input_tokens": 12,
            "output_tokens": 3, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
            "cost_usd": "0.00042", "stop_reason": "end_turn", "request_id": "req_ok",
            "attempt": 1, "prompt_name": "support", "prompt_version": "v2", "run_id": "run_1",
            "turn": 3,
        }
        assert harness.script.seen[0].body == {
            "model": "claude-sonnet-4-6",
            "max_tokens": 256,
            "messages": [{"role": "user", "content": "Hi"}],
        }

    def test_log_fields_go_on_the_retries_of_the_call_too(self, kind: str) -> None:
        harness = Harness(kind, [overloaded(), ok(request_id="req_ok")])
        with capture_events() as events:
            harness.create(log_fields={"run_id": "run_1", "turn": 2})
        assert [(e["event"], e["run_id"], e["turn"]) for e in events] == [
            ("model.retry", "run_1", 2),
            ("model.call", "run_1", 2),
        ]

    def test_counting_tokens_takes_no_log_fields(self, kind: str) -> None:
        harness = Harness(kind, [])
        with pytest.raises(TypeError, match="log_fields"):
            harness.run(
                lambda client: client.messages.count_tokens(
                    model="claude-sonnet-4-6",
                    messages=[{"role": "user", "content": "Hi"}],
                    log_fields={"run_id": "run_1"},
                )
            )


# --- model fallback -------------------------------------------------------------------------


class TestFallback:
    def test_a_model_not_found_gives_way_to_the_next(self, kind: str) -> None:
        replies = [error_response(404, "not_found_error"), ok(message_body(model="backup"))]
        harness = Harness(kind, replies, fallback_models=["backup"])
        with capture_events() as events:
            message = harness.create(model="retired")
        assert message.model == "backup"
        assert (harness.script.models, harness.delays) == (["retired", "backup"], [])
        assert [e for e in events if e["event"] == "model.fallback"] == [{
            "event": "model.fallback", "level": "warning", "logger": "agentcore.client",
            "from_model": "retired", "to_model": "backup", "reason": "not_found_error",
            "request_id": "req_404",
        }]

    def test_a_permission_error_gives_way_to_the_next(self, kind: str) -> None:
        replies = [error_response(403, "permission_error"), ok(message_body(model="b"))]
        harness = Harness(kind, replies, fallback_models=["b"])
        assert harness.create(model="a").model == "b"

    def test_an_overloaded_model_gives_way_after_its_retries(self, kind: str) -> None:
        replies = [overloaded(), overloaded(), overloaded(), ok(message_body(model="b"))]
        harness = Harness(kind, replies, fallback_models=["b"])
        assert harness.create(model="a").model == "b"
        assert (harness.script.models, harness.delays) == (["a", "a", "a", "b"], [0.4375, 0.875])

    def test_other_errors_do_not_fall_back(self, kind: str) -> None:
        harness = Harness(kind, [error_response(400, "invalid_request_error")],
                          fallback_models=["b"])
        with pytest.raises(InvalidRequestError):
            harness.create(model="a")
        assert harness.script.models == ["a"]

    def test_when_every_model_fails_the_last_error_is_raised(self, kind: str) -> None:
        replies = [error_response(404, "not_found_error", "no a"),
                   error_response(404, "not_found_error", "no b")]
        harness = Harness(kind, replies, fallback_models=["b"])
        with pytest.raises(NotFoundError, match="no b"):
            harness.create(model="a")

    def test_fallback_models_of_a_call_replace_the_clients(self, kind: str) -> None:
        replies = [error_response(404, "not_found_error"), ok(message_body(model="c"))]
        harness = Harness(kind, replies, fallback_models=["b"])
        harness.create(model="a", fallback_models=["a", "c"])
        assert harness.script.models == ["a", "c"]


# --- lifecycle ------------------------------------------------------------------------------


def test_closing_a_client_closes_its_own_pool_but_not_one_passed_in() -> None:
    transport = httpx.MockTransport(lambda request: ok())
    own = Client(api_key=API_KEY, transport=transport)
    passed = httpx.Client(transport=transport)
    with own, Client(api_key=API_KEY, http_client=passed) as borrowing:
        borrowing.messages.create(model="m", max_tokens=1, messages=HELLO)
    assert (own._http.is_closed, passed.is_closed) == (True, False)


def test_closing_an_async_client_closes_its_own_pool_but_not_one_passed_in() -> None:
    async def scenario() -> tuple[bool, bool]:
        transport = httpx.MockTransport(lambda request: ok())
        own = AsyncClient(api_key=API_KEY, transport=transport)
        passed = httpx.AsyncClient(transport=transport)
        async with own, AsyncClient(api_key=API_KEY, http_client=passed) as borrowing:
            await borrowing.messages.create(model="m", max_tokens=1, messages=HELLO)
        return own._http.is_closed, passed.is_closed

    assert asyncio.run(scenario()) == (True, False)
