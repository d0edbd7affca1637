"""The emulator's server tools: labelled canned results for web search, web fetch and code
execution, a paused turn between server tools, usage counts and the beta headers, over JSON and
SSE, for an Agent and for a bare HTTP client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from agentcore import (
    Agent,
    AsyncClient,
    Client,
    CodeExecution,
    ModelSettings,
    WebFetch,
    WebSearch,
    container_upload,
)
from agentcore.emulator import Emulator
from agentcore.state import RunResult
from agentcore.types import to_wire
from tests.approval_flow_app import lookup_order
from tests.test_server_tools import execute

MODEL = "claude-sonnet-4-6"
DRIVERS = ["run", "arun", "stream", "astream"]
HEADERS = {"x-api-key": "test", "anthropic-version": "2023-06-01"}


@pytest.fixture(params=DRIVERS)
def driver(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator() as running:
        yield running


def make_agent(emulator: Emulator, tools: list[Any]) -> Agent:
    return Agent(
        MODEL,
        "You help customers.",
        tools,
        client=Client(api_key="test", base_url=emulator.base_url, max_retries=0),
        async_client=AsyncClient(api_key="test", base_url=emulator.base_url, max_retries=0),
        model_settings=ModelSettings(cache=False),
    )




def blocks(result: RunResult, kind: str) -> list[dict[str, Any]]:
    return [
        block for message in result.messages if message["role"] == "assistant"
        for block in message["content"] if block["type"] == kind
    ]


class TestAgentOnTheDemoPolicy:
    def test_a_web_search_gets_canned_results_labelled_as_the_emulators(
        self, emulator: Emulator, driver: str
    ) -> None:
        agent = make_agent(emulator, [lookup_order, WebSearch(max_uses=2)])
        result = execute(agent, driver, "Search the web for the carrier of order A-1001")
        assert result.status == "completed"
        [use] = blocks(result, "server_tool_use")
        [found] = blocks(result, "web_search_tool_result")
        assert (use["name"], found["tool_use_id"]) == ("web_search", use["id"])
        assert [urlsplit(item["url"]).hostname for item in found["content"]] == [
            "emulator.invalid", "emulator.invalid",
        ]
        titles = [item["title"] for item in found["content"]]
        assert all(title.startswith("[emulator] canned result") for title in titles)
        assert result.output.startswith("[demo policy]")
        assert "not real results" in result.output
        [cited] = [block for block in blocks(result, "text") if block.get("citations")]
        assert cited["citations"][0]["url"] == "https://emulator.invalid/search/1"
        assert result.usage.server_tool_requests == {"web_search_requests": 1}
        [turn] = result.turns
        assert turn.cost_usd is not None
        tokens_only = turn.cost_usd - Decimal("0.01")
        assert tokens_only == (turn.usage.input_tokens * 3 + turn.usage.output_tokens * 15) / (
            Decimal(1_000_000))

    def test_a_turn_with_two_server_tools_pauses_and_is_continued(
        self, emulator: Emulator, driver: str
    ) -> None:
        agent = make_agent(emulator, [WebSearch(), WebFetch(citations=True)])
        result = execute(
            agent, driver, "Read https://docs.example.com/returns and search the web for it"
        )
        assert result.status == "completed"
        assert [turn.stop_reason for turn in result.turns] == ["pause_turn", "end_turn"]
        paused = emulator.requests[1]["messages"][-1]
        assert paused["role"] == "assistant"
        assert [block["type"] for block in paused["content"]] == [
            "text", "server_tool_use", "web_fetch_tool_result",
        ]
        assert len(result.messages) == 2
        assert [block["name"] for block in blocks(result, "server_tool_use")] == [
            "web_fetch", "web_search",
        ]
        [fetched] = blocks(result, "web_fetch_tool_result")
        document = fetched["content"]["content"]
        assert document["source"]["data"].startswith("[emulator canned page] Nothing was fetched")
        assert document["citations"] == {"enabled": True}
        assert result.usage.server_tool_requests == {
            "web_fetch_requests": 1, "web_search_requests": 1,
        }

    def test_a_fetch_outside_the_allowed_domains_comes_back_as_an_error_result(
        self, emulator: Emulator, driver: str
    ) -> None:
        agent = make_agent(emulator, [WebFetch(allowed_domains=["docs.example.com"])])
        result = execute(agent, driver, "Summarise https://evil.example.net/leak?data=secret")
        assert result.status == "completed"
        [fetched] = blocks(result, "web_fetch_tool_result")
        assert fetched["content"] == {"type": "web_fetch_tool_error",
                                      "error_code": "url_not_allowed"}

    def test_search_results_outside_the_allowed_domains_are_left_out(
        self, emulator: Emulator
    ) -> None:
        agent = make_agent(emulator, [WebSearch(allowed_domains=["example.com"])])
        result = agent.run("Search online for the returns policy")
        [found] = blocks(result, "web_search_tool_result")
        assert found["content"] == []

    def test_code_execution_lists_uploaded_files_and_runs_nothing(
        self, emulator: Emulator, driver: str
    ) -> None:
        agent = make_agent(emulator, [CodeExecution()])
        prompt = [{"role": "user", "content": [
            {"type": "text", "text": "Analyse the orders in this file"},
            container_upload("file_011CNha8iCJcU1wXNR6q4V8w"),
        ]}]
        result = execute(agent, driver, prompt)
        assert result.status == "completed"
        assert emulator.requests[0]["messages"][0]["content"][1] == {
            "type": "container_upload", "file_id": "file_011CNha8iCJcU1wXNR6q4V8w",
        }
        [ran] = blocks(result, "bash_code_execution_tool_result")
        assert ran["content"]["stdout"] == (
            "[emulator] no code was run. Files in the container: "
            "file_011CNha8iCJcU1wXNR6q4V8w (not read).\n"
        )
        assert result.usage.server_tool_requests == {}

    def test_without_server_tools_the_client_tool_policy_answers(self, emulator: Emulator) -> None:
        result = make_agent(emulator, [lookup_order]).run("Search the web for order A-1001")
        assert blocks(result, "server_tool_use") == []
        assert "lookup_order" in json.dumps(result.messages)


class TestWire:
    def test_a_beta_tool_version_without_its_header_is_refused_like_the_api(
        self, emulator: Emulator
    ) -> None:
        request = {"model": MODEL, "max_tokens": 256, "tools": [WebFetch().definition()],
                   "messages": [{"role": "user", "content": "Read https://example.com"}]}
        with httpx.Client(base_url=emulator.base_url, headers=HEADERS) as http:
            refused = http.post("/v1/messages", json=request)
            accepted = http.post("/v1/messages", json=request,
                                 headers={"anthropic-beta": "files-api-2025-04-14, "
                                                            "web-fetch-2025-09-10"})
        assert refused.status_code == 400
        assert refused.json()["error"] == {
            "type": "invalid_request_error",
            "message": "tools.0: 'web_fetch_20250910' requires the beta header "
                       "'anthropic-beta: web-fetch-2025-09-10'",
        }
        assert accepted.status_code == 200
        assert accepted.json()["usage"]["server_tool_use"] == {
            "web_search_requests": 0, "web_fetch_requests": 1,
        }

    def test_a_streamed_pause_and_its_continuation_carry_every_block(
        self, emulator: Emulator
    ) -> None:
        tools = [WebSearch().definition(),
                 CodeExecution(version="code_execution_20250522").definition()]
        prompt = {"role": "user", "content": "Search the web and compute it"}
        with Client(api_key="test", base_url=emulator.base_url, max_retries=0,
                    betas=["code-execution-2025-05-22"]) as client:
            with client.messages.stream(model=MODEL, max_tokens=1024, tools=tools,
                                        messages=[prompt]) as stream:
                paused = stream.get_final_message()
            continued = client.messages.create(model=MODEL, max_tokens=1024, tools=tools,
                                               messages=[prompt, paused.to_param()])
        assert paused.stop_reason == "pause_turn"
        assert [block.type for block in paused.content] == [
            "text", "server_tool_use", "web_search_tool_result",
        ]
        assert emulator.requests[1]["messages"][1] == paused.to_param()
        assert continued.stop_reason == "end_turn"
        sent = to_wire(continued.content)
        assert [block["type"] for block in sent] == [
            "server_tool_use", "code_execution_tool_result", "text",
        ]
        assert sent[0]["input"] == {"code": "print('[emulator] no code was run')"}
        assert (continued.model_extra or {})["container"]["id"] == "container_emulator"
