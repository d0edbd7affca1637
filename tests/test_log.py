"""Structured events, their rendering, and redaction of every secret on the way out."""

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from agentcore.agent import Agent
from agentcore.client import Client
from agentcore.errors import APIConnectionError, StreamError, make_status_error
from agentcore.log import LOGGER_NAME, capture_events, configure, get_logger
from agentcore.prompts import SystemPrompt
from agentcore.redaction import REDACTED, Redactor, redact, redact_value, scrub_text
from agentcore.testing import ScriptedModel, text_reply, tool_reply
from agentcore.tools import tool
from agentcore.types import ToolParam

Step = Callable[[], None]
MODEL = "claude-sonnet-4-6"
KEY = "sk-ant-api03-Zx9_kQ2-abcdefghijklmnop-QRSTUV"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.payload.signature"


@pytest.fixture(autouse=True)
def restore_agentcore_logger() -> Iterator[None]:
    """Every test starts and ends with the agentcore logger as the process had it."""
    logger = logging.getLogger(LOGGER_NAME)
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    logger.handlers[:] = saved[0]
    logger.setLevel(saved[1])
    logger.propagate = saved[2]


class RecordingHandler(logging.Handler):
    """A plain stdlib handler such as an application would write."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class TestEvents:
    def test_event_name_and_fields_are_captured_as_a_dict(self) -> None:
        log = get_logger("agentcore.client")

        with capture_events() as events:
            log.info(
                "model.call",
                model="claude-sonnet-4-6",
                latency_ms=412,
                input_tokens=1200,
                output_tokens=80,
                cache_read_input_tokens=1024,
                stop_reason="end_turn",
                request_id="req_1",
            )

        assert events == [
            {
                "event": "model.call",
                "level": "info",
                "logger": "agentcore.client",
                "model": "claude-sonnet-4-6",
                "latency_ms": 412,
                "input_tokens": 1200,
                "output_tokens": 80,
                "cache_read_input_tokens": 1024,
                "stop_reason": "end_turn",
                "request_id": "req_1",
            }
        ]

    def test_bound_fields_are_added_to_every_event(self) -> None:
        log = get_logger("agentcore.agent").bind(run_id="run_7")

        with capture_events() as events:
            log.info("run.start")
            log.warning("run.finish", status="max_turns", turns=10)

        assert events == [
            {"event": "run.start", "level": "info", "logger": "agentcore.agent", "run_id": "run_7"},
            {"event": "run.finish", "level": "warning", "logger": "agentcore.agent",
             "run_id": "run_7", "status": "max_turns", "turns": 10},
        ]

    def test_events_below_the_level_are_not_emitted(self) -> None:
        log = get_logger("agentcore.client")

        with capture_events(level=logging.WARNING) as events:
            log.debug("model.retry", attempt=1)
            log.info("model.call", model="m")
            log.error("model.fallback", from_model="a", to_model="b", reason="overloaded")

        assert [event["event"] for event in events] == ["model.fallback"]
        assert not log.is_enabled_for(logging.INFO)

    def test_capture_lowers_the_level_for_the_block_only(self) -> None:
        logger = logging.getLogger(LOGGER_NAME)
        logger.setLevel(logging.ERROR)
        handlers = list(logger.handlers)

        with capture_events() as events:
            get_logger("agentcore.agent").info("run.start")

        assert [event["event"] for event in events] == ["run.start"]
        assert logger.level == logging.ERROR
        assert logger.handlers == handlers


class TestRedactionBeforeAnyHandler:
    def test_an_applications_own_handler_never_receives_a_key(self) -> None:
        handler = RecordingHandler()
        logger = logging.getLogger(LOGGER_NAME)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)

        get_logger("agentcore.client").info(
            "model.retry",
            headers={"x-api-key": KEY, "anthropic-version": "2023-06-01"},
            reason=f"401 from proxy: invalid key {KEY}",
            auth_token=TOKEN,
            attempt=2,
        )

        (record,) = handler.records
        assert record.getMessage() == "model.retry"
        assert record.event_fields == {  # type: ignore[attr-defined]
            "headers": {"x-api-key": REDACTED, "anthropic-version": "2023-06-01"},
            "reason": f"401 from proxy: invalid key {REDACTED}",
            "auth_token": REDACTED,
            "attempt": 2,
        }

    def test_tool_secret_fields_are_redacted_at_any_depth(self) -> None:
        log = get_logger("agentcore.agent").with_secret_fields({"card_number"})

        with capture_events() as events:
            log.info(
                "approval.requested",
                tool="charge_card",
                arguments={"amount_cents": 500, "card_number": "4111111111111111"},
                history=[{"input": {"card_number": "4000000000000002"}}],
            )

        assert events[0]["arguments"] == {"amount_cents": 500, "card_number": REDACTED}
        assert events[0]["history"] == [{"input": {"card_number": REDACTED}}]


@pytest.fixture
def forget_app_logging(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Call it to make the root logger handler-less, as in a process that set up nothing.

    pytest attaches its capture handlers to the root logger once the test body starts, so
    they can only be hidden from inside the test.
    """
    return lambda: monkeypatch.setattr(logging.getLogger(), "handlers", [])


class TestSilenceByDefault:
    @pytest.mark.e2e
    def test_a_warning_before_logging_is_set_up_prints_nothing(self) -> None:
        """Without configuration no event reaches Python's last-resort stderr handler."""
        import subprocess
        import sys

        code = (
            "from agentcore.log import get_logger\n"
            "get_logger('agentcore.client').warning('model.retry', attempt=1)\n"
            "get_logger('agentcore.tools').error('tool.error', tool='t')\n"
        )
        completed = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
        )
        assert (completed.returncode, completed.stdout, completed.stderr) == (0, "", "")

    def test_configure_still_installs_its_handler_beside_the_silent_one(
        self, forget_app_logging: Step
    ) -> None:
        forget_app_logging()
        out = io.StringIO()
        assert configure(renderer="json", stream=out) is True
        get_logger("agentcore.client").warning("model.retry", attempt=1)
        assert json.loads(out.getvalue())["event"] == "model.retry"


class TestConfigure:
    def test_json_lines_carry_the_event_and_its_fields(self, forget_app_logging: Step) -> None:
        forget_app_logging()
        out = io.StringIO()
        assert configure(renderer="json", stream=out) is True

        get_logger("agentcore.tools").info("tool.call", tool="lookup_order", call_id="toolu_1",
                                          duration_ms=3.5, is_error=False)

        line = json.loads(out.getvalue())
        timestamp = line.pop("timestamp")
        assert line == {
            "event": "tool.call",
            "level": "info",
            "logger": "agentcore.tools",
            "tool": "lookup_order",
            "call_id": "toolu_1",
            "duration_ms": 3.5,
            "is_error": False,
        }
        assert timestamp.endswith("Z")

    def test_no_rendered_line_contains_a_key_or_a_secret_field(
        self, forget_app_logging: Step
    ) -> None:
        forget_app_logging()
        out = io.StringIO()
        configure(renderer="json", stream=out, secret_fields={"ssn"})
        log = get_logger("agentcore.agent")

        log.info("model.call", model="m", request={"headers": {"authorization": f"Bearer {TOKEN}"}})
        log.info("tool.call", tool="verify", input={"ssn": "078-05-1120"}, api_key=KEY)
        log.error("run.finish", status="error", error=APIConnectionError(f"proxy said {KEY}"))
        try:
            raise RuntimeError(f"connect failed: x-api-key: {KEY}")
        except RuntimeError:
            logging.getLogger("agentcore.client").exception("client.crash")

        text = out.getvalue()
        lines = [json.loads(line) for line in text.splitlines()]
        assert [line["event"] for line in lines] == [
            "model.call", "tool.call", "run.finish", "client.crash",
        ]
        assert KEY not in text
        assert TOKEN not in text
        assert "078-05-1120" not in text
        assert "sk-ant-" not in text
        assert lines[1]["input"] == {"ssn": REDACTED}
        assert lines[2]["error"] == f"APIConnectionError: proxy said {REDACTED}"
        assert "RuntimeError: connect failed: x-api-key: [REDACTED]" in lines[3]["exception"]

    def test_console_renderer_shows_event_and_fields(self, forget_app_logging: Step) -> None:
        forget_app_logging()
        out = io.StringIO()
        configure(renderer="console", stream=out)

        get_logger("agentcore.agent").info("run.finish", status="completed", turns=3)

        text = out.getvalue()
        assert "run.finish" in text
        assert "status=completed" in text
        assert "turns=3" in text
        assert not text.lstrip().startswith("{")

    def test_auto_renders_json_when_the_stream_is_not_a_terminal(
        self, forget_app_logging: Step
    ) -> None:
        forget_app_logging()
        out = io.StringIO()
        configure(stream=out)

        get_logger("agentcore.agent").info("run.start", run_id="r1")

        assert json.loads(out.getvalue())["run_id"] == "r1"

    def test_calling_twice_replaces_the_handler(self, forget_app_logging: Step) -> None:
        forget_app_logging()
        first, second = io.StringIO(), io.StringIO()
        configure(renderer="json", stream=first)
        configure(renderer="json", stream=second, level="WARNING")

        log = get_logger("agentcore.agent")
        log.info("run.start")
        log.warning("run.finish", status="max_turns")

        assert first.getvalue() == ""
        assert [json.loads(line)["event"] for line in second.getvalue().splitlines()] == [
            "run.finish"
        ]
        handlers = logging.getLogger(LOGGER_NAME).handlers
        assert [type(handler) is logging.NullHandler for handler in handlers].count(False) == 1

    def test_logging_the_application_set_up_is_left_alone(self) -> None:
        """Under pytest the root logger has handlers: that counts as the app's setup."""
        logger = logging.getLogger(LOGGER_NAME)
        before = (list(logger.handlers), logger.level, logger.propagate)

        assert logging.getLogger().handlers
        assert configure(renderer="json", stream=io.StringIO()) is False
        assert (list(logger.handlers), logger.level, logger.propagate) == before

    def test_force_installs_even_when_logging_is_set_up(self) -> None:
        out = io.StringIO()

        assert configure(renderer="json", stream=out, force=True) is True
        get_logger("agentcore.agent").info("run.start")

        assert json.loads(out.getvalue())["event"] == "run.start"

    def test_unknown_renderer_is_rejected(self, forget_app_logging: Step) -> None:
        forget_app_logging()
        with pytest.raises(ValueError, match="renderer must be"):
            configure(renderer="xml", stream=io.StringIO())  # type: ignore[arg-type]


class TestRedactProcessor:
    def test_credentials_are_replaced_and_everything_else_kept(self) -> None:
        event = {
            "event": "model.call",
            "api_key": KEY,
            "Authorization": f"Bearer {TOKEN}",
            "stripe_api_key": "rk_live_123",
            "db_password": "hunter2",
            "max_tokens": 1024,
            "input_tokens": 12,
            "note": None,
            "password": None,
        }

        assert redact(None, "info", event) == {
            "event": "model.call",
            "api_key": REDACTED,
            "Authorization": REDACTED,
            "stripe_api_key": REDACTED,
            "db_password": REDACTED,
            "max_tokens": 1024,
            "input_tokens": 12,
            "note": None,
            "password": None,
        }

    def test_the_event_dict_is_not_modified(self) -> None:
        event: dict[str, Any] = {"event": "x", "nested": {"token": "abc"}}

        Redactor()(None, "info", event)

        assert event == {"event": "x", "nested": {"token": "abc"}}

    def test_declared_secret_fields_match_any_case(self) -> None:
        redactor = Redactor(secret_fields=["cardNumber"])

        assert redactor(None, "info", {"args": [{"CARDNUMBER": "4111"}]}) == {
            "args": [{"CARDNUMBER": REDACTED}]
        }


class TestScrubText:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            (f"key={KEY} rejected", "key=[REDACTED] rejected"),
            (f"x-api-key: {KEY}\nanthropic-version: 2023-06-01",
             "x-api-key: [REDACTED]\nanthropic-version: 2023-06-01"),
            (f"Authorization: Bearer {TOKEN}", "Authorization: [REDACTED]"),
            (f"sent bearer {TOKEN} upstream", "sent bearer [REDACTED] upstream"),
            ('{"api_key": "abc123", "model": "m"}', '{"api_key": "[REDACTED]", "model": "m"}'),
            ("GET /v1?access_token=abc123&page=2", "GET /v1?access_token=[REDACTED]&page=2"),
            ("password=hunter2", "password=[REDACTED]"),
            ("input_tokens: 120, max_tokens: 512", "input_tokens: 120, max_tokens: 512"),
        ],
    )
    def test_credentials_in_text_are_replaced(self, text: str, expected: str) -> None:
        assert scrub_text(text) == expected


class TestRedactValue:
    def test_stored_state_is_copied_with_secrets_replaced(self) -> None:
        state = {
            "messages": [
                {"role": "user", "content": f"my key is {KEY}"},
                {"role": "assistant", "content": [
                    {"type": "tool_use", "id": "t1", "name": "pay", "input": {"cvv": "123"}},
                ]},
            ],
            "pending": ({"arguments": {"cvv": "999", "amount_cents": 5}},),
        }

        safe = redact_value(state, secret_fields={"cvv"})

        assert safe == {
            "messages": [
                {"role": "user", "content": f"my key is {REDACTED}"},
                {"role": "assistant", "content": [
                    {"type": "tool_use", "id": "t1", "name": "pay", "input": {"cvv": REDACTED}},
                ]},
            ],
            "pending": ({"arguments": {"cvv": REDACTED, "amount_cents": 5}},),
        }
        assert state["messages"][0]["content"] == f"my key is {KEY}"  # type: ignore[index]

    def test_wire_models_become_redacted_dicts(self) -> None:
        tool = ToolParam(name="login", description=f"uses {KEY}", input_schema={"type": "object"})

        assert redact_value(tool) == {
            "name": "login", "description": f"uses {REDACTED}", "input_schema": {"type": "object"},
        }

    def test_exceptions_become_their_scrubbed_text(self) -> None:
        assert redact_value(ValueError(f"bad key {KEY}")) == f"ValueError: bad key {REDACTED}"


class TestErrorText:
    def test_status_error_never_shows_an_echoed_key(self) -> None:
        body = json.dumps({
            "type": "error",
            "error": {"type": "authentication_error", "message": f"invalid x-api-key: {KEY}"},
            "request_id": "req_9",
        })

        error = make_status_error(401, body)

        assert str(error) == (
            f"401 authentication_error: invalid x-api-key: {REDACTED} (request-id: req_9)"
        )
        assert KEY not in repr(error)
        assert KEY not in json.dumps(error.body)

    def test_non_json_error_body_is_scrubbed(self) -> None:
        error = make_status_error(502, f"<html>upstream got Authorization: Bearer {TOKEN}</html>")

        assert TOKEN not in str(error)
        assert TOKEN not in repr(error)

    def test_connection_and_stream_errors_are_scrubbed(self) -> None:
        assert KEY not in str(APIConnectionError(f"refused for {KEY}"))
        assert KEY not in repr(StreamError(f"cut after {KEY}"))


class TestSecretValues:
    def test_known_secret_values_are_replaced_inside_any_text(self) -> None:
        redactor = Redactor().with_secret_values(["4111111111111111", "ab"])
        error = ValueError("gateway refused card 4111111111111111")

        assert redactor.redact({"error": error, "note": "ab stays: too short to be a secret"}) == {
            "error": f"ValueError: gateway refused card {REDACTED}",
            "note": "ab stays: too short to be a secret",
        }

    def test_an_event_logger_can_carry_the_values_of_a_call(self) -> None:
        log = get_logger("agentcore.tools").with_secret_values(["hunter2-long"])

        with capture_events() as events:
            log.error("tool.error", error="login failed for password hunter2-long")

        assert events[0]["error"] == f"login failed for password {REDACTED}"

    def test_a_component_scrubs_its_errors_with_its_loggers_redactor(self) -> None:
        """What a logger hides in its events, the errors of the same component hide too."""
        gateway_key = "gw-live-8f3a2c9d41e0"
        log = get_logger("agentcore.client").with_secret_values([gateway_key])
        error = APIConnectionError(f"proxy refused {gateway_key}")

        log.redactor.redact_error(error)
        with capture_events() as events:
            log.warning("model.retry", reason=f"proxy refused {gateway_key}")

        assert str(error) == events[0]["reason"] == f"proxy refused {REDACTED}"

    def test_redact_value_takes_values_as_well_as_fields(self) -> None:
        assert redact_value(
            {"ssn": "078-05-1120", "text": "ssn is 078-05-1120"},
            secret_fields={"ssn"},
            secret_values={"078-05-1120"},
        ) == {"ssn": REDACTED, "text": f"ssn is {REDACTED}"}


class TestAgentRunEvents:
    def test_a_run_logs_its_happenings_with_fields_and_no_key(
        self, forget_app_logging: Step
    ) -> None:
        forget_app_logging()
        out = io.StringIO()
        configure(renderer="json", stream=out)

        @tool(secret_fields=("card_number",))
        def charge(card_number: str, amount_cents: int) -> str:
            """Charge a card.

            Args:
                card_number: The card to charge.
                amount_cents: How much.
            """
            raise ValueError(f"gateway rejected key {KEY}")

        model = ScriptedModel([
            tool_reply(("charge", {"card_number": "4111111111111111", "amount_cents": 500})),
            text_reply("The charge failed."),
        ])
        prompt = SystemPrompt("You are a cashier.", name="cashier", version="v3")
        agent = Agent(MODEL, prompt, [charge], client=Client(api_key=KEY, transport=model))

        with capture_events() as events:
            result = agent.run("Charge 5 dollars.")

        text = out.getvalue()
        rendered = [json.loads(line) for line in text.splitlines()]
        assert result.status == "completed"
        assert [line["event"] for line in rendered] == [event["event"] for event in events]
        assert KEY not in text
        assert "4111111111111111" not in text
        run_events = [event for event in events if event["event"] != "tool.error"]
        assert [event["event"] for event in run_events] == [
            "run.start", "model.call", "tool.call", "model.call", "run.finish",
        ]
        first_call = run_events[1]
        assert set(first_call) >= {
            "model", "latency_ms", "input_tokens", "output_tokens",
            "cache_creation_input_tokens", "cache_read_input_tokens", "cost_usd",
            "stop_reason", "request_id", "prompt_name", "prompt_version",
        }
        assert (first_call["model"], first_call["stop_reason"]) == (MODEL, "tool_use")
        assert (first_call["prompt_name"], first_call["prompt_version"]) == ("cashier", "v3")
        assert first_call["request_id"] == result.turns[0].request_id
        tool_call = run_events[2]
        assert (tool_call["tool"], tool_call["is_error"]) == ("charge", True)
