"""Server tools against hostile or broken replies: a server that keeps pausing, an empty
paused reply, a client call reusing a server call's id, odd usage counts, and a stored run
holding server blocks."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from agentcore import (
    Agent,
    AsyncClient,
    Client,
    ConfigurationError,
    Limits,
    MalformedResponseError,
    ModelSettings,
    RunState,
    RunStore,
    ToolDefinitionError,
    WebFetch,
    WebSearch,
)
from agentcore.testing import ScriptedModel, error_reply, reply, text_reply
from agentcore.types import Usage
from agentcore.usage import UsageTotals, cost_of
from tests.approval_flow_app import lookup_order, refund_order
from tests.test_server_tools import (
    CITED,
    DRIVERS,
    MODEL,
    SEARCH_RESULT,
    SEARCH_USE,
    execute,
    ledger_lines,
    make_agent,
)

pytestmark = pytest.mark.usefixtures("ledger")

Block = dict[str, Any]


@pytest.fixture(params=DRIVERS)
def driver(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def pausing_forever(body: dict[str, Any]) -> Any:
    return reply([SEARCH_USE, SEARCH_RESULT], stop_reason="pause_turn")


class TestPauseContinuationsAreBounded:
    def test_a_server_that_always_pauses_stops_at_the_default_bound_without_other_limits(
        self, driver: str
    ) -> None:
        script = ScriptedModel(pausing_forever)
        agent = make_agent(script, [WebSearch()], limits=Limits(max_turns=None))
        result = execute(agent, driver)
        default = Limits().max_pause_continuations
        assert default is not None
        assert (result.status, result.limit) == ("limit_reached", "max_pause_continuations")
        assert len(script.requests) == default + 1
        assert f"max_pause_continuations={default}" in str(result.error)
        assert "paused its turn (pause_turn)" in str(result.error)

    def test_the_bound_is_set_through_limits(self, driver: str) -> None:
        script = ScriptedModel(pausing_forever)
        agent = make_agent(script, [WebSearch()], limits=Limits(max_pause_continuations=2))
        result = execute(agent, driver)
        assert (result.status, result.limit) == ("limit_reached", "max_pause_continuations")
        assert len(script.requests) == 3

    def test_zero_continuations_ends_the_run_at_the_first_pause(self) -> None:
        script = ScriptedModel(pausing_forever)
        agent = make_agent(script, [WebSearch()], max_pause_continuations=0)
        result = agent.run("Where is A-1001?")
        assert (result.status, result.limit) == ("limit_reached", "max_pause_continuations")
        assert len(script.requests) == 1

    def test_pauses_that_end_in_an_answer_do_not_count_toward_the_next_turn(self) -> None:
        # Two pauses, an answer to a client call, then two more pauses: never three in a row.
        script = ScriptedModel([
            reply([SEARCH_USE, SEARCH_RESULT], stop_reason="pause_turn"),
            reply([{**SEARCH_USE, "id": "srvtoolu_02"},
                   {**SEARCH_RESULT, "tool_use_id": "srvtoolu_02"}], stop_reason="pause_turn"),
            reply([{"type": "tool_use", "id": "toolu_1", "name": "lookup_order",
                    "input": {"order_id": "A-1001"}}], stop_reason="tool_use"),
            reply([{**SEARCH_USE, "id": "srvtoolu_03"},
                   {**SEARCH_RESULT, "tool_use_id": "srvtoolu_03"}], stop_reason="pause_turn"),
            reply([{**SEARCH_USE, "id": "srvtoolu_04"},
                   {**SEARCH_RESULT, "tool_use_id": "srvtoolu_04"}], stop_reason="pause_turn"),
            text_reply("Shipped."),
        ])
        agent = make_agent(script, [lookup_order, WebSearch()], max_pause_continuations=2)
        result = agent.run("Where is A-1001?")
        assert (result.status, result.output) == ("completed", "Shipped.")

    def test_resuming_a_run_stopped_by_the_bound_continues_with_a_larger_one(self) -> None:
        script = ScriptedModel([
            reply([SEARCH_USE, SEARCH_RESULT], stop_reason="pause_turn"),
            reply([CITED], stop_reason="end_turn"),
        ])
        stopped = make_agent(script, [WebSearch()], max_pause_continuations=0).run("Who?")
        assert stopped.limit == "max_pause_continuations"
        again = make_agent(script, [WebSearch()], max_pause_continuations=0).resume(
            stopped.state
        )
        assert again.limit == "max_pause_continuations"
        assert len(script.requests) == 1
        result = make_agent(script, [WebSearch()]).resume(stopped.state)
        assert (result.status, result.output) == ("completed", "The carrier is Acme.")
        assert result.messages[1:] == [
            {"role": "assistant", "content": [SEARCH_USE, SEARCH_RESULT, CITED]},
        ]

    @pytest.mark.parametrize("value", [-1, 1.5, True, "3"])
    def test_a_bound_that_is_not_a_count_is_refused(self, value: Any) -> None:
        with pytest.raises(ConfigurationError, match="max_pause_continuations"):
            Limits(max_pause_continuations=value)


class TestAnEmptyPause:
    def test_an_empty_paused_reply_fails_the_run_without_sending_it_back(
        self, driver: str
    ) -> None:
        script = ScriptedModel(lambda body: reply([], stop_reason="pause_turn"))
        result = execute(make_agent(script, [WebSearch()]), driver)
        assert result.status == "failed"
        assert isinstance(result.exception, MalformedResponseError)
        assert "paused its turn (pause_turn) with nothing in it" in str(result.error)
        assert len(script.requests) == 1
        assert result.messages == [{"role": "user", "content": "Where is A-1001?"}]

    def test_an_empty_pause_after_a_real_one_keeps_the_paused_turn_intact(self) -> None:
        script = ScriptedModel([
            reply([SEARCH_USE, SEARCH_RESULT], stop_reason="pause_turn"),
            reply([], stop_reason="pause_turn"),
        ])
        result = make_agent(script, [WebSearch()]).run("Who carries A-1001?")
        assert result.status == "failed"
        assert result.messages[1:] == [
            {"role": "assistant", "content": [SEARCH_USE, SEARCH_RESULT]},
        ]


class TestIdsAcrossServerAndClientBlocks:
    def test_a_client_call_reusing_an_earlier_server_call_id_runs_nothing(
        self, driver: str, ledger: Path
    ) -> None:
        script = ScriptedModel([
            reply([SEARCH_USE, SEARCH_RESULT], stop_reason="pause_turn"),
            reply([{"type": "tool_use", "id": SEARCH_USE["id"], "name": "refund_order",
                    "input": {"order_id": "A-1001", "amount_cents": 2500}}],
                  stop_reason="tool_use"),
        ])
        result = execute(make_agent(script, [refund_order, WebSearch()]), driver)
        assert result.status == "failed"
        assert isinstance(result.exception, MalformedResponseError)
        assert repr(SEARCH_USE["id"]) in str(result.error)
        assert result.pending == []
        assert ledger_lines(ledger) == []

    def test_a_client_call_reusing_a_server_call_id_of_the_same_reply_runs_nothing(
        self, driver: str, ledger: Path
    ) -> None:
        script = ScriptedModel([
            reply([SEARCH_USE, SEARCH_RESULT,
                   {"type": "tool_use", "id": SEARCH_USE["id"], "name": "lookup_order",
                    "input": {"order_id": "A-1001"}}], stop_reason="tool_use"),
        ])
        result = execute(make_agent(script, [lookup_order, WebSearch()]), driver)
        assert result.status == "failed"
        assert isinstance(result.exception, MalformedResponseError)
        assert ledger_lines(ledger) == []

    def test_a_client_call_reusing_a_server_call_id_of_an_earlier_turn_runs_nothing(
        self, ledger: Path
    ) -> None:
        script = ScriptedModel([
            reply([SEARCH_USE, SEARCH_RESULT,
                   {"type": "tool_use", "id": "toolu_1", "name": "lookup_order",
                    "input": {"order_id": "A-1001"}}], stop_reason="tool_use"),
            reply([{"type": "tool_use", "id": SEARCH_USE["id"], "name": "lookup_order",
                    "input": {"order_id": "A-1002"}}], stop_reason="tool_use"),
        ])
        result = make_agent(script, [lookup_order, WebSearch()]).run("Where are my orders?")
        assert result.status == "failed"
        assert ledger_lines(ledger) == ["lookup A-1001"]

    def test_distinct_ids_still_run(self, ledger: Path) -> None:
        script = ScriptedModel([
            reply([SEARCH_USE, SEARCH_RESULT], stop_reason="pause_turn"),
            reply([{"type": "tool_use", "id": "toolu_1", "name": "lookup_order",
                    "input": {"order_id": "A-1001"}}], stop_reason="tool_use"),
            text_reply("Shipped."),
        ])
        result = make_agent(script, [lookup_order, WebSearch()]).run("Where is A-1001?")
        assert result.status == "completed"
        assert ledger_lines(ledger) == ["lookup A-1001"]


class TestOddServerToolCounts:
    @pytest.mark.parametrize("count", [-1, 2.5, 1.0, 10**12])
    def test_a_count_that_is_not_a_count_is_a_malformed_reply(
        self, driver: str, count: Any
    ) -> None:
        usage = {"input_tokens": 10, "output_tokens": 10,
                 "server_tool_use": {"web_search_requests": count}}
        script = ScriptedModel([reply([CITED], stop_reason="end_turn", usage=usage)])
        result = execute(make_agent(script, [WebSearch()]), driver)
        assert result.status == "failed"
        assert isinstance(result.exception, MalformedResponseError)
        assert result.cost_usd == Decimal(0)

    @pytest.mark.parametrize("count", [True, "7", None, {"nested": 3}, [1]])
    def test_a_count_of_another_kind_is_neither_priced_nor_summed(self, count: Any) -> None:
        usage = Usage(input_tokens=1000, output_tokens=100,
                      server_tool_use={"web_search_requests": count, "web_fetch_requests": 1})
        assert cost_of(usage, MODEL) == Decimal("0.0045")
        totals = UsageTotals()
        totals.add(usage)
        assert totals.server_tool_requests == {"web_fetch_requests": 1}

    @pytest.mark.parametrize("counts", [[1, 2], "web_search_requests", 3])
    def test_server_tool_use_that_is_not_an_object_is_a_malformed_reply(
        self, counts: Any
    ) -> None:
        usage = {"input_tokens": 10, "output_tokens": 10, "server_tool_use": counts}
        script = ScriptedModel([reply([CITED], stop_reason="end_turn", usage=usage)])
        result = make_agent(script, [WebSearch()]).run("Who?")
        assert result.status == "failed"
        assert isinstance(result.exception, MalformedResponseError)

    @pytest.mark.parametrize("counts", [[1, 2], "x", {"web_search_requests": -4}])
    def test_stored_totals_with_odd_counts_keep_only_whole_ones(self, counts: Any) -> None:
        totals = UsageTotals.from_dict({"input_tokens": 5, "server_tool_use": counts})
        assert totals.input_tokens == 5
        assert totals.server_tool_requests == {}


class TestDeclaringServerTools:
    @pytest.mark.parametrize("server_tool", [WebSearch, WebFetch])
    def test_a_server_tool_class_given_without_parentheses_is_named_as_such(
        self, server_tool: type
    ) -> None:
        script = ScriptedModel([])
        with pytest.raises(ToolDefinitionError) as raised:
            make_agent(script, [lookup_order, server_tool])
        name = server_tool.__name__
        assert str(raised.value) == (
            f"{name} is the class of a server tool, not a tool: declare it as {name}() "
            "(options go in the parentheses)"
        )

    def test_a_lone_server_tool_class_is_refused_as_not_a_list(self) -> None:
        with pytest.raises(ConfigurationError) as raised:
            make_agent(ScriptedModel([]), WebSearch)  # type: ignore[arg-type]
        assert "tools=[WebSearch()]" in str(raised.value)


class TestPricingWithFallbackModels:
    def test_a_search_answered_by_a_fallback_model_is_priced_with_that_models_tokens(
        self, driver: str
    ) -> None:
        searched = {"input_tokens": 1000, "output_tokens": 100,
                    "server_tool_use": {"web_search_requests": 2}}
        script = ScriptedModel([
            error_reply(529, "overloaded_error", "Overloaded"),
            reply([SEARCH_USE, SEARCH_RESULT], stop_reason="pause_turn", usage=searched,
                  model="claude-haiku-4-5"),
            reply([CITED], stop_reason="end_turn", usage=searched, model="claude-haiku-4-5"),
        ])
        settings = ModelSettings(cache=False, fallback_models=["claude-haiku-4-5"])
        result = execute(make_agent(script, [WebSearch()], model_settings=settings), driver)
        # Haiku 4.5: $1 in, $5 out per million tokens; two searches at $0.01 each, per turn.
        per_turn = Decimal("0.0015") + Decimal("0.02")
        assert [turn.cost_usd for turn in result.turns] == [per_turn, per_turn]
        assert (result.status, result.models_used, result.cost_usd) == (
            "completed", ["claude-haiku-4-5"], 2 * per_turn,
        )
        assert result.usage.server_tool_requests == {"web_search_requests": 4}


class TestStoredRunsWithServerBlocks:
    def test_a_paused_run_round_trips_through_json_and_continues_into_one_message(
        self,
    ) -> None:
        script = ScriptedModel([
            reply([SEARCH_USE, SEARCH_RESULT], stop_reason="pause_turn",
                  usage={"input_tokens": 10, "output_tokens": 10,
                         "server_tool_use": {"web_search_requests": 1}}),
            reply([CITED], stop_reason="end_turn"),
        ])
        stopped = make_agent(script, [WebSearch()], max_pause_continuations=0).run("Who?")
        restored = RunState.from_json(stopped.state.to_json())
        assert restored.turns[0].usage.server_tool_use == {"web_search_requests": 1}
        result = make_agent(script, [WebSearch()]).resume(restored)
        assert result.status == "completed"
        assert script.requests[1]["messages"][1] == {
            "role": "assistant", "content": [SEARCH_USE, SEARCH_RESULT],
        }
        assert result.messages[1]["content"] == [SEARCH_USE, SEARCH_RESULT, CITED]
        assert result.usage.server_tool_requests == {"web_search_requests": 1}
        assert result.cost_usd > Decimal("0.01")

    def test_opaque_encrypted_fields_survive_the_stored_state_unchanged(self) -> None:
        # Encrypted search content is base64 the API decrypts: text in it that merely looks
        # like a credential must not be rewritten, or the resumed request is refused.
        looks_like_a_key = "Eqgf/AIza" + "b" * 35 + "+ghp_" + "c" * 36
        result_block = {**SEARCH_RESULT, "content": [
            {**SEARCH_RESULT["content"][0], "encrypted_content": looks_like_a_key},
        ]}
        cited = {**CITED, "citations": [
            {**CITED["citations"][0], "encrypted_index": looks_like_a_key},
        ]}
        script = ScriptedModel([reply([SEARCH_USE, result_block, cited],
                                      stop_reason="end_turn")])
        result = make_agent(script, [WebSearch()]).run("Who carries A-1001?")
        restored = RunState.from_json(result.state.to_json())
        assert restored.messages[1]["content"] == [SEARCH_USE, result_block, cited]

    def test_redacted_thinking_data_survives_the_stored_state_unchanged(self) -> None:
        # Redacted thinking is encrypted like search content: base64 that merely looks like a
        # credential must come back byte for byte, or the next request is refused.
        looks_like_a_key = "Eqgf/AIza" + "b" * 35 + "+ghp_" + "c" * 36
        hidden = {"type": "redacted_thinking", "data": looks_like_a_key}
        script = ScriptedModel([reply([hidden, CITED], stop_reason="end_turn")])
        result = make_agent(script, [WebSearch()]).run("Who carries A-1001?")
        restored = RunState.from_json(result.state.to_json())
        assert restored.messages[1]["content"][0] == hidden

    def test_a_stored_run_stopped_mid_pause_resumes_by_id_into_one_message(
        self, tmp_path: Path
    ) -> None:
        searched = {"input_tokens": 10, "output_tokens": 10,
                    "server_tool_use": {"web_search_requests": 1}}
        script = ScriptedModel([
            reply([SEARCH_USE, SEARCH_RESULT], stop_reason="pause_turn", usage=searched),
            reply([CITED], stop_reason="end_turn"),
        ])

        def stored(store: RunStore, **limits: Any) -> Agent:
            return Agent(MODEL, "You help customers.", [WebSearch()], store=store,
                         client=Client(api_key="test", transport=script, max_retries=0),
                         async_client=AsyncClient(api_key="test", transport=script),
                         cache=False, **limits)

        with RunStore(tmp_path / "runs.db") as store:
            stopped = stored(store, max_pause_continuations=0).run("Who carries A-1001?")
            run_id = stopped.state.run_id
        assert stopped.limit == "max_pause_continuations"
        with RunStore(tmp_path / "runs.db") as store:
            result = stored(store).resume(run_id)
        assert (result.status, result.output) == ("completed", "The carrier is Acme.")
        assert script.requests[1]["messages"][1:] == [
            {"role": "assistant", "content": [SEARCH_USE, SEARCH_RESULT]},
        ]
        assert result.messages[1:] == [
            {"role": "assistant", "content": [SEARCH_USE, SEARCH_RESULT, CITED]},
        ]
        assert result.usage.server_tool_requests == {"web_search_requests": 1}
