"""The error tree: one typed error per status and error type, built in one place."""

from __future__ import annotations

import pytest

from agentcore import errors
from agentcore.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    InternalServerError,
    MalformedResponseError,
    MissingAPIKeyError,
    NotFoundError,
    OverloadedError,
    RateLimitError,
    StreamError,
    make_status_error,
)
from agentcore.types import parse_message


def api_body(error_type: str, message: str = "why", **extra: object) -> dict[str, object]:
    return {"type": "error", "error": {"type": error_type, "message": message}, **extra}


class TestMakeStatusError:
    def test_the_status_chooses_the_class(self) -> None:
        error = make_status_error(429, api_body("rate_limit_error", "slow down"),
                                  request_id="req_1")
        assert type(error) is RateLimitError
        assert (error.status_code, error.error_type, error.message, error.request_id) == (
            429, "rate_limit_error", "slow down", "req_1"
        )

    def test_an_error_event_in_a_200_stream_is_typed_by_its_error_type(self) -> None:
        error = make_status_error(200, api_body("overloaded_error", "Overloaded"))
        assert (type(error), error.status_code, error.is_retryable) == (OverloadedError, 200, True)

    def test_an_unnamed_5xx_is_an_internal_server_error(self) -> None:
        assert type(make_status_error(507, b"")) is InternalServerError

    def test_an_unknown_4xx_is_a_plain_status_error(self) -> None:
        error = make_status_error(418, api_body("teapot_error"))
        assert (type(error), error.error_type, error.is_retryable) == (
            APIStatusError, "teapot_error", False
        )

    def test_raw_json_bytes_are_parsed_and_the_body_kept(self) -> None:
        raw = b'{"type":"error","error":{"type":"not_found_error","message":"no model"},' \
              b'"request_id":"req_body","extra":1}'
        error = make_status_error(404, raw)
        assert type(error) is NotFoundError
        assert (error.message, error.request_id) == ("no model", "req_body")
        assert error.body == {"type": "error", "request_id": "req_body", "extra": 1,
                              "error": {"type": "not_found_error", "message": "no model"}}

    def test_a_non_json_body_is_quoted_briefly(self) -> None:
        page = b"<html><body>" + b"upstream connect error " * 50 + b"</body></html>"
        error = make_status_error(502, page)
        assert type(error) is InternalServerError
        quoted = "<html><body>" + "upstream connect error " * 12 + "upstream \u2026"
        assert error.message == f"non-JSON error body: {quoted!r}"
        assert error.body == quoted

    def test_an_excerpt_never_ends_inside_a_token(self) -> None:
        """A long token cut at the limit (a key the error cannot recognise) is left out whole."""
        error = make_status_error(502, b"<html>" + b"x" * 1000 + b"</html>")
        assert error.message == f"non-JSON error body: {'<html>…'!r}"

    def test_an_empty_body_says_so(self) -> None:
        assert make_status_error(503, b"").message == "empty error body"

    def test_the_servers_should_retry_verdict_wins_over_the_status(self) -> None:
        assert make_status_error(529, b"", should_retry=False).is_retryable is False
        assert make_status_error(400, b"", should_retry=True).is_retryable is True

    def test_the_retry_after_hint_is_kept(self) -> None:
        error = make_status_error(429, b"", retry_after_seconds=2.5)
        assert error.retry_after_seconds == 2.5

    def test_str_and_repr_name_status_type_message_and_request(self) -> None:
        error = make_status_error(404, api_body("not_found_error", "no such model"),
                                  request_id="req_9")
        assert str(error) == "404 not_found_error: no such model (request-id: req_9)"
        assert repr(error) == (
            "NotFoundError(status_code=404, error_type='not_found_error', "
            "message='no such model', request_id='req_9')"
        )


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (APIConnectionError("reset"), True),
        (APITimeoutError("slow"), True),
        (MalformedResponseError("garbled"), True),
        (make_status_error(400, b""), False),
        (make_status_error(401, b""), False),
        (make_status_error(403, b""), False),
        (make_status_error(404, b""), False),
        (make_status_error(413, b""), False),
        (make_status_error(408, b""), True),
        (make_status_error(409, b""), True),
        (make_status_error(429, b""), True),
        (make_status_error(500, b""), True),
        (make_status_error(502, b""), True),
        (make_status_error(503, b""), True),
        (make_status_error(504, b""), True),
        (make_status_error(529, b""), True),
    ],
)
def test_retryability_is_a_property_of_the_error(error: errors.APIError, retryable: bool) -> None:
    assert error.is_retryable is retryable


class TestStreamError:
    def test_is_retryable_only_before_any_content(self) -> None:
        empty = parse_message({"id": "m", "model": "x", "content": []})
        started = parse_message({"id": "m", "model": "x",
                                 "content": [{"type": "text", "text": "Hel"}]})
        cause = OverloadedError("busy", status_code=529)
        assert StreamError("cut", partial=empty, cause=cause).is_retryable is True
        assert StreamError("cut", partial=started, cause=cause).is_retryable is False
        assert StreamError("cut", partial=None).is_retryable is True

    def test_a_non_retryable_cause_is_not_retried(self) -> None:
        cause = make_status_error(400, b"")
        assert StreamError("bad", cause=cause).is_retryable is False


def test_a_connection_error_shows_its_request_id() -> None:
    assert str(APIConnectionError("reset", request_id="req_7")) == "reset (request-id: req_7)"


def test_the_missing_key_message_says_how_to_set_one() -> None:
    assert str(MissingAPIKeyError()) == (
        "no API key: pass Client(api_key=...) or set the ANTHROPIC_API_KEY environment "
        "variable (or ANTHROPIC_AUTH_TOKEN for a bearer token). To run offline, run "
        "`agentcore emulator` and paste the two `export` lines it prints (ANTHROPIC_BASE_URL "
        "and ANTHROPIC_API_KEY)."
    )


def test_with_a_server_set_the_missing_key_message_names_only_the_key() -> None:
    message = str(MissingAPIKeyError("ANTHROPIC_BASE_URL"))
    assert message.startswith("no API key: pass Client(api_key=...) or set the ANTHROPIC_API_KEY")
    assert "The server is set (ANTHROPIC_BASE_URL); it needs a key too" in message
    assert "export" not in message


def test_every_error_class_is_exported_and_derives_from_agentcore_error() -> None:
    classes = [
        value for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, BaseException)
        and value.__module__ == errors.__name__
    ]
    exported = {name for name in errors.__all__ if isinstance(getattr(errors, name), type)}
    assert {cls.__name__ for cls in classes} == exported
    assert all(issubclass(cls, errors.AgentcoreError) for cls in classes)
