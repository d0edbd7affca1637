"""The client's own credentials never leave it.

A server or a proxy may echo back the key it was sent (``invalid x-api-key: …``). Whatever the
shape of the key, token or auth header, the client knows it sent it, so every error built from
the answer (its text, ``repr``, message, body, cause), every event the client logs, and
everything a run makes of the error (its result, its state, the stored run, ``run.finish``)
shows the redaction marker instead.

``GATEWAY_KEY`` has no known key shape on purpose: only the client's registration of what it
sends can catch it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentcore import Agent, AsyncClient, Client
from agentcore.errors import (
    AgentcoreError,
    APIConnectionError,
    AuthenticationError,
    MalformedResponseError,
    OverloadedError,
    StreamError,
)
from agentcore.log import capture_events
from agentcore.redaction import REDACTED
from agentcore.store import RunStore
from agentcore.store.durable import run_stored
from agentcore.testing import ScriptedModel, error_reply, sse_events, text_reply

GATEWAY_KEY = "gw-live-8f3a2c9d41e07b5a6f18"
GATEWAY_TOKEN = "tok.Zq81PzLw0ef3Mm2Va9Rc"
MODEL = "claude-sonnet-4-6"
HELLO = [{"role": "user", "content": "Hi"}]
KINDS = ["sync", "async"]

# The API's own wording, and one with no credential name a text rule could key on.
ECHOES = [
    f"invalid x-api-key: {GATEWAY_KEY}",
    f"key {GATEWAY_KEY} is not valid for this gateway",
]


def error_body(message: str, error_type: str = "authentication_error") -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}


def answering(*responses: httpx.Response | Exception) -> httpx.MockTransport:
    """A transport answering each request with the next response (or raising the error)."""
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handler)


def create(kind: str, transport: httpx.MockTransport, **client_args: Any) -> AgentcoreError:
    """The error ``messages.create`` raises through a client of ``kind`` (no retries)."""
    extra_headers = client_args.pop("extra_headers", None)
    params: dict[str, Any] = {"model": MODEL, "max_tokens": 64, "messages": HELLO}
    if extra_headers:
        params["extra_headers"] = extra_headers
    with pytest.raises(AgentcoreError) as caught:
        if kind == "sync":
            Client(transport=transport, max_retries=0, **client_args).messages.create(**params)
        else:

            async def call() -> None:
                client = AsyncClient(transport=transport, max_retries=0, **client_args)
                await client.messages.create(**params)

            asyncio.run(call())
    return caught.value


def every_text_of(error: BaseException) -> str:
    """Everything an error can show: text, repr, args, attributes, and its cause's."""
    parts = [str(error), repr(error), *map(repr, error.args)]
    for name, value in vars(error).items():
        if isinstance(value, BaseException):
            parts.append(every_text_of(value))
        elif name != "partial":
            parts.append(json.dumps(value, default=repr))
    return "\n".join(parts)


class TestErrorsFromResponses:
    @pytest.mark.parametrize("kind", KINDS)
    @pytest.mark.parametrize("echo", ECHOES)
    def test_a_key_echoed_in_a_401_body_is_absent_from_every_part_of_the_error(
        self, kind: str, echo: str
    ) -> None:
        error = create(kind, answering(httpx.Response(401, json=error_body(echo))),
                       api_key=GATEWAY_KEY)

        assert isinstance(error, AuthenticationError)
        assert GATEWAY_KEY not in every_text_of(error)
        assert error.message == echo.replace(GATEWAY_KEY, REDACTED)
        assert error.body == error_body(echo.replace(GATEWAY_KEY, REDACTED))
        assert str(error) == f"401 authentication_error: {echo.replace(GATEWAY_KEY, REDACTED)}"

    @pytest.mark.parametrize("kind", KINDS)
    def test_a_bearer_token_is_hidden_whole_and_without_its_scheme(self, kind: str) -> None:
        body = error_body(f"token {GATEWAY_TOKEN} expired (header was 'Bearer {GATEWAY_TOKEN}')")

        error = create(kind, answering(httpx.Response(401, json=body)), auth_token=GATEWAY_TOKEN)

        assert GATEWAY_TOKEN not in every_text_of(error)
        assert error.message == f"token {REDACTED} expired (header was 'Bearer {REDACTED}')"

    @pytest.mark.parametrize("kind", KINDS)
    def test_a_calls_own_auth_header_is_hidden_too(self, kind: str) -> None:
        gateway_secret = "team-7-7f0a91c2e4"
        body = error_body(f"gateway refused {gateway_secret}", "permission_error")

        error = create(kind, answering(httpx.Response(403, json=body)), api_key=GATEWAY_KEY,
                       extra_headers={"X-Gateway-Key": gateway_secret})

        assert gateway_secret not in every_text_of(error)
        assert error.message == f"gateway refused {REDACTED}"

    @pytest.mark.parametrize("kind", KINDS)
    def test_a_password_in_the_base_url_is_hidden(self, kind: str) -> None:
        password = "s3cr3t-proxy-pass"
        body = error_body(f"proxy login {password} refused")

        error = create(kind, answering(httpx.Response(401, json=body)), api_key=GATEWAY_KEY,
                       base_url=f"http://agent:{password}@127.0.0.1:9")

        assert password not in every_text_of(error)

    @pytest.mark.parametrize("kind", KINDS)
    def test_a_non_json_page_quoting_the_key_is_scrubbed_before_it_is_cut(self, kind: str) -> None:
        page = "<html><body>" + "x" * 270 + f" refused {GATEWAY_KEY} here</body></html>"

        error = create(kind, answering(httpx.Response(502, text=page)), api_key=GATEWAY_KEY)

        assert "gw-live" not in every_text_of(error)

    @pytest.mark.parametrize("kind", KINDS)
    def test_a_key_used_as_request_id_is_hidden_in_the_error(self, kind: str) -> None:
        response = httpx.Response(
            401, json=error_body("no"), headers={"request-id": GATEWAY_KEY}
        )

        error = create(kind, answering(response), api_key=GATEWAY_KEY)

        assert GATEWAY_KEY not in every_text_of(error)
        assert error.request_id == REDACTED

    @pytest.mark.parametrize("kind", KINDS)
    def test_a_connection_error_quoting_the_key_is_scrubbed(self, kind: str) -> None:
        refused = httpx.ConnectError(f"proxy refused credentials {GATEWAY_KEY}")

        error = create(kind, answering(refused), api_key=GATEWAY_KEY)

        assert isinstance(error, APIConnectionError)
        assert GATEWAY_KEY not in every_text_of(error)

    def test_short_credentials_are_not_looked_for_in_text(self) -> None:
        """A seven-character key would mask ordinary words; it is not registered."""
        body = error_body("the test key is not valid")

        error = create("sync", answering(httpx.Response(401, json=body)), api_key="test")

        assert error.message == "the test key is not valid"


class TestMalformedResponses:
    @pytest.mark.parametrize("kind", KINDS)
    def test_the_body_is_scrubbed_and_bounded(self, kind: str) -> None:
        """The key straddles the 300-character cut: neither it nor its start is kept."""
        text = '{"id": "msg_1", "note": "' + "a" * 262 + f" {GATEWAY_KEY}" + "b" * 5000 + '"}'

        error = create(kind, answering(httpx.Response(200, text=text)), api_key=GATEWAY_KEY)

        assert isinstance(error, MalformedResponseError)
        assert "gw-live" not in every_text_of(error)
        assert len(error.body) <= 301
        assert error.body.startswith('{"id": "msg_1", "note": "aaaa')

    def test_a_body_quoting_the_key_early_shows_the_marker(self) -> None:
        text = f'{{"echo": "{GATEWAY_KEY}"}}'

        error = create("sync", answering(httpx.Response(200, text=text)), api_key=GATEWAY_KEY)

        assert isinstance(error, MalformedResponseError)
        assert error.body == f'{{"echo": "{REDACTED}"}}'


def sse(*events: tuple[str, dict[str, Any]]) -> bytes:
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events).encode()


def stream_text(kind: str, transport: httpx.MockTransport) -> tuple[str, AgentcoreError]:
    """Stream through a client of ``kind``; the text received and the error raised."""
    received: list[str] = []
    params: dict[str, Any] = {"model": MODEL, "max_tokens": 64, "messages": HELLO}
    with pytest.raises(AgentcoreError) as caught:
        if kind == "sync":
            client = Client(api_key=GATEWAY_KEY, transport=transport, max_retries=0)
            with client.messages.stream(**params) as stream:
                received.extend(stream.text_stream)
        else:

            async def call() -> None:
                client = AsyncClient(api_key=GATEWAY_KEY, transport=transport, max_retries=0)
                async with client.messages.stream(**params) as stream:
                    async for text in stream.text_stream:
                        received.append(text)

            asyncio.run(call())
    return "".join(received), caught.value


class TestStreams:
    @pytest.mark.parametrize("kind", KINDS)
    def test_an_error_event_after_output_began_is_scrubbed(self, kind: str) -> None:
        events = sse_events(text_reply("Hello there", model=MODEL))
        start = [event for event in events if "content_block_stop" not in event][:5]
        failure = f"event: error\ndata: {json.dumps(error_body(ECHOES[1], 'overloaded_error'))}\n\n"
        body = "".join(start).encode() + failure.encode()
        transport = answering(
            httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})
        )

        text, error = stream_text(kind, transport)

        assert isinstance(error, StreamError)
        assert isinstance(error.cause, OverloadedError)
        assert text == "Hello there"
        assert GATEWAY_KEY not in every_text_of(error)
        assert REDACTED in str(error)

    @pytest.mark.parametrize("kind", KINDS)
    def test_an_error_event_before_output_is_scrubbed(self, kind: str) -> None:
        body = sse(("error", error_body(ECHOES[1], "invalid_request_error")))
        transport = answering(
            httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})
        )

        _, error = stream_text(kind, transport)

        assert GATEWAY_KEY not in every_text_of(error)


class TestClientEvents:
    def test_retry_and_fallback_events_never_carry_the_key(self) -> None:
        overloaded = httpx.Response(
            529, json=error_body(ECHOES[1], "overloaded_error"), headers={"request-id": GATEWAY_KEY}
        )
        client = Client(
            api_key=GATEWAY_KEY,
            transport=answering(overloaded, overloaded),
            max_retries=1,
            fallback_models=["claude-haiku-4-5"],
            sleep=lambda seconds: None,
        )

        with capture_events() as events, pytest.raises(OverloadedError) as caught:
            client.messages.create(
                model=MODEL, max_tokens=64, messages=HELLO, fallback_models=[]
            )

        assert [event["event"] for event in events] == ["model.retry"]
        assert events[0]["request_id"] == REDACTED
        assert GATEWAY_KEY not in json.dumps(events) + every_text_of(caught.value)


# --- what a run makes of the error ------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    with RunStore(tmp_path / "runs.db") as opened:
        yield opened


def rejecting_agent(echo: str) -> Agent:
    model = ScriptedModel([error_reply(401, "authentication_error", echo)])
    return Agent(
        MODEL,
        client=Client(api_key=GATEWAY_KEY, transport=model, max_retries=0),
        async_client=AsyncClient(api_key=GATEWAY_KEY, transport=model, max_retries=0),
    )


RUNNERS: dict[str, Callable[[Agent, str], Any]] = {
    "sync": lambda agent, prompt: agent.run(prompt),
    "async": lambda agent, prompt: asyncio.run(agent.arun(prompt)),
}


class TestARunThatFailsOnTheKey:
    @pytest.mark.parametrize("kind", KINDS)
    @pytest.mark.parametrize("echo", ECHOES)
    def test_the_result_state_and_events_never_show_the_key(self, kind: str, echo: str) -> None:
        agent = rejecting_agent(echo)

        with capture_events() as events:
            result = RUNNERS[kind](agent, "Hello")

        assert result.status == "failed"
        assert isinstance(result.exception, AuthenticationError)
        assert result.error == (
            f"401 authentication_error: {echo.replace(GATEWAY_KEY, REDACTED)} "
            f"(request-id: {result.exception.request_id})"
        )
        assert GATEWAY_KEY not in every_text_of(result.exception)
        assert GATEWAY_KEY not in result.state.to_json()
        assert GATEWAY_KEY not in result.state.to_json(include_secrets=True)
        [finish] = [event for event in events if event["event"] == "run.finish"]
        assert finish["error"] == result.error
        assert GATEWAY_KEY not in json.dumps(events, default=repr)

    @pytest.mark.parametrize("echo", ECHOES)
    def test_the_stored_run_file_never_holds_the_key(
        self, store: RunStore, tmp_path: Path, echo: str
    ) -> None:
        with capture_events() as events:
            result = run_stored(rejecting_agent(echo), store, "Hello")
        stored_status = store.load_run(result.state.run_id).status
        store.close()

        assert (result.status, stored_status) == ("failed", "failed")
        files = [path for path in tmp_path.iterdir() if path.name.startswith("runs.db")]
        stored = b"".join(path.read_bytes() for path in files)
        assert REDACTED.encode() in stored
        assert GATEWAY_KEY.encode() not in stored
        assert GATEWAY_KEY not in json.dumps(events, default=repr)
