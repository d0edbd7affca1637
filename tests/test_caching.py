"""Automatic prompt caching: which blocks get cache_control, turn after turn."""

import copy
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentcore.caching import (
    MAX_BREAKPOINTS,
    CachePlanner,
    _estimated_chars,
    min_cacheable_tokens,
    place_cache_breakpoints,
)
from agentcore.errors import ConfigurationError
from agentcore.types import MessageParam, TextBlock

MODEL = "claude-sonnet-4-6"
CACHE = {"type": "ephemeral"}
# About 1,500 tokens at four characters per token: above Sonnet's 1,024, below Haiku's 4,096.
SYSTEM = "You are the support agent of Example Shop. " + "Policy clause. " * 400
OBJECT = {"type": "object"}
TOOLS = [
    {"name": "lookup_order", "description": "Look up an order.", "input_schema": OBJECT},
    {"name": "refund_order", "description": "Refund an order.", "input_schema": OBJECT},
]
USER_1 = {"role": "user", "content": "Refund order A-1001"}
ASSISTANT_1 = {
    "role": "assistant",
    "content": [
        {"type": "text", "text": "Looking it up."},
        {"type": "tool_use", "id": "toolu_1", "name": "lookup_order", "input": {"id": "A-1001"}},
    ],
}
USER_2 = {
    "role": "user",
    "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "paid, 42.00"}],
}
ASSISTANT_2 = {"role": "assistant", "content": [{"type": "text", "text": "Refund it?"}]}
USER_3 = {"role": "user", "content": "Yes please"}


def request(*messages: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "max_tokens": 512, "system": SYSTEM, "tools": TOOLS,
            "messages": list(messages), **extra}


def cached_system() -> list[dict[str, Any]]:
    return [{"type": "text", "text": SYSTEM, "cache_control": CACHE}]


class TestAcrossTurns:
    def test_first_turn_marks_the_system_prompt_and_the_question(self) -> None:
        assert place_cache_breakpoints(request(USER_1), model=MODEL) == {
            "model": MODEL,
            "max_tokens": 512,
            "system": cached_system(),
            "tools": TOOLS,
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "Refund order A-1001", "cache_control": CACHE},
                ]},
            ],
        }

    def test_second_turn_moves_the_breakpoint_to_the_tool_result_and_keeps_the_previous(
        self,
    ) -> None:
        params = place_cache_breakpoints(request(USER_1, ASSISTANT_1, USER_2), model=MODEL)

        assert params["system"] == cached_system()
        assert params["messages"] == [
            {"role": "user", "content": [
                {"type": "text", "text": "Refund order A-1001", "cache_control": CACHE},
            ]},
            ASSISTANT_1,
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "paid, 42.00",
                 "cache_control": CACHE},
            ]},
        ]

    def test_third_turn_drops_the_oldest_message_breakpoint(self) -> None:
        params = place_cache_breakpoints(
            request(USER_1, ASSISTANT_1, USER_2, ASSISTANT_2, USER_3), model=MODEL
        )

        assert params["system"] == cached_system()
        assert params["tools"] == TOOLS
        assert params["messages"] == [
            USER_1,
            ASSISTANT_1,
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "paid, 42.00",
                 "cache_control": CACHE},
            ]},
            ASSISTANT_2,
            {"role": "user", "content": [
                {"type": "text", "text": "Yes please", "cache_control": CACHE},
            ]},
        ]

    def test_inputs_are_not_modified_and_unchanged_messages_are_shared(self) -> None:
        params = request(USER_1, ASSISTANT_1, USER_2, ASSISTANT_2, USER_3)
        before = copy.deepcopy(params)

        result = place_cache_breakpoints(params, model=MODEL)

        assert params == before
        assert result["messages"] is not params["messages"]
        assert [a is b for a, b in zip(result["messages"], params["messages"], strict=True)] == [
            True, True, False, True, False,
        ]


class TestMinimumLength:
    def test_short_request_is_returned_unchanged(self) -> None:
        params = {"model": MODEL, "system": "Be brief.", "tools": TOOLS, "messages": [USER_1]}

        assert place_cache_breakpoints(params, model=MODEL) == params

    def test_same_prompt_is_cached_for_sonnet_but_not_for_haiku(self) -> None:
        params = request(USER_1)

        sonnet = place_cache_breakpoints(params, model="claude-sonnet-4-6")
        haiku = place_cache_breakpoints(params, model="claude-haiku-4-5")

        assert sonnet["system"] == cached_system()
        assert haiku == params

    def test_tools_are_marked_when_their_definitions_alone_are_long_enough(self) -> None:
        long_tools = [
            {"name": f"tool_{n}", "description": "Does a thing. " * 100,
             "input_schema": {"type": "object"}}
            for n in range(4)
        ]
        params = {"model": MODEL, "tools": long_tools, "messages": [USER_1]}

        result = place_cache_breakpoints(params, model=MODEL)

        assert result["tools"] == [*long_tools[:3], {**long_tools[3], "cache_control": CACHE}]
        assert result["messages"] == [
            {"role": "user", "content": [
                {"type": "text", "text": "Refund order A-1001", "cache_control": CACHE},
            ]},
        ]

    @pytest.mark.parametrize(
        ("model", "tokens"),
        [
            ("claude-sonnet-4-6", 1024),
            ("claude-sonnet-4-5-20250929", 1024),
            ("claude-opus-4-20250514", 1024),
            ("claude-opus-4-1", 1024),
            ("claude-opus-4-5", 4096),
            ("claude-opus-4-7", 4096),
            ("claude-haiku-4-5-20251001", 4096),
            ("claude-3-5-haiku-20241022", 2048),
            ("claude-3-haiku-20240307", 2048),
            ("claude-3-7-sonnet-20250219", 1024),
            ("some-future-model", 1024),
        ],
    )
    def test_minimum_cacheable_tokens_per_model(self, model: str, tokens: int) -> None:
        assert min_cacheable_tokens(model) == tokens


def count_breakpoints(params: dict[str, Any]) -> int:
    blocks = [*params.get("tools", []), *params.get("system", [])]
    for message in params["messages"]:
        if isinstance(message["content"], list):
            blocks.extend(message["content"])
    return sum(1 for block in blocks if "cache_control" in block)


class TestBreakpointBudget:
    def test_callers_breakpoints_count_toward_the_four(self) -> None:
        mine = {"type": "ephemeral", "ttl": "1h"}
        user_1 = {"role": "user", "content": [
            {"type": "text", "text": "a", "cache_control": mine},
            {"type": "text", "text": "b", "cache_control": mine},
        ]}
        assistant = {"role": "assistant", "content": [
            {"type": "text", "text": "c", "cache_control": mine},
        ]}
        params = request(user_1, assistant, USER_3)

        result = place_cache_breakpoints(params, model=MODEL)

        assert result["messages"] == [
            user_1,
            assistant,
            {"role": "user", "content": [
                {"type": "text", "text": "Yes please", "cache_control": CACHE},
            ]},
        ]
        assert result["system"] == SYSTEM
        assert count_breakpoints(result) == MAX_BREAKPOINTS

    def test_four_caller_breakpoints_leave_the_request_unchanged(self) -> None:
        marked = {"type": "text", "text": "x", "cache_control": CACHE}
        params = request({"role": "user", "content": [marked] * 4})

        assert place_cache_breakpoints(params, model=MODEL) == params

    def test_caller_marked_system_is_not_marked_twice(self) -> None:
        one_hour = {"type": "ephemeral", "ttl": "1h"}
        system = [{"type": "text", "text": SYSTEM, "cache_control": one_hour}]
        params = request(USER_1, ASSISTANT_1, USER_2)
        params["system"] = system

        result = place_cache_breakpoints(params, model=MODEL)

        assert result["system"] is system
        assert count_breakpoints(result) == 3

    def test_top_level_cache_control_leaves_the_latest_turn_to_the_api(self) -> None:
        params = request(USER_1, cache_control=CACHE)

        result = place_cache_breakpoints(params, model=MODEL)

        assert result == {**params, "system": cached_system()}


class TestBlocks:
    def test_thinking_and_empty_text_are_skipped_for_the_last_markable_block(self) -> None:
        assistant = {"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_2", "name": "lookup_order", "input": {}},
            {"type": "thinking", "thinking": "hm", "signature": "s"},
            {"type": "text", "text": ""},
        ]}

        result = place_cache_breakpoints(request(USER_1, assistant), model=MODEL)

        assert result["messages"][-1] == {"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_2", "name": "lookup_order", "input": {},
             "cache_control": CACHE},
            {"type": "thinking", "thinking": "hm", "signature": "s"},
            {"type": "text", "text": ""},
        ]}

    def test_wire_models_are_accepted_and_marked_copies_are_dicts(self) -> None:
        message = MessageParam(role="user", content=[TextBlock(text="Refund order A-1001")])
        params = request()
        params["messages"] = [message]

        result = place_cache_breakpoints(params, model=MODEL)

        assert result["messages"] == [
            {"role": "user", "content": [
                {"type": "text", "text": "Refund order A-1001", "cache_control": CACHE},
            ]},
        ]
        assert message.content[0].cache_control is None  # type: ignore[union-attr]

    def test_ttl_is_written_on_every_breakpoint_placed(self) -> None:
        result = place_cache_breakpoints(request(USER_1), model=MODEL, ttl="1h")

        one_hour = {"type": "ephemeral", "ttl": "1h"}
        assert result["system"] == [{"type": "text", "text": SYSTEM, "cache_control": one_hour}]
        assert result["messages"][0]["content"][0]["cache_control"] == one_hour

    def test_unknown_ttl_is_a_configuration_error(self) -> None:
        with pytest.raises(ConfigurationError, match="'5m', '1h' or None, not '2h'"):
            place_cache_breakpoints(request(USER_1), model=MODEL, ttl="2h")


class ReadCountingMessage(Mapping[str, Any]):
    """A stored message that counts how often anything reads it."""

    def __init__(self, message: dict[str, Any]) -> None:
        self._message = message
        self.reads = 0

    def __getitem__(self, key: str) -> Any:
        self.reads += 1
        return self._message[key]

    def __iter__(self) -> Iterator[str]:
        self.reads += 1
        return iter(self._message)

    def __len__(self) -> int:
        return len(self._message)


def long_text(role: str, words: str) -> dict[str, Any]:
    """A message of about 260 tokens: four of them pass Sonnet's minimum."""
    return {"role": role, "content": [{"type": "text", "text": (words + " ") * 100}]}


MARKED_BY_CALLER = {"role": "assistant", "content": [
    {"type": "text", "text": "Checked.", "cache_control": CACHE},
    {"type": "text", "text": "Twice.", "cache_control": CACHE},
]}


class TestCachePlanner:
    def test_each_turn_gets_the_breakpoints_placing_from_scratch_gives(self) -> None:
        """The prefix passes the minimum mid-conversation, and the caller's own breakpoints
        arrive late and use up the budget: turn after turn, the planner decides the same."""
        turns = [
            long_text("user", "Where is order A-1001?"),
            ASSISTANT_1,
            USER_2,
            long_text("assistant", "It shipped."),
            long_text("user", "And A-1002?"),
            long_text("assistant", "Also shipped."),
            USER_3,
            MARKED_BY_CALLER,
            long_text("user", "Thanks."),
            ASSISTANT_2,
            USER_3,
        ]
        conversation: list[dict[str, Any]] = []
        params = {"model": MODEL, "system": "Be brief.", "tools": TOOLS, "messages": conversation}
        planner = CachePlanner()
        marked_messages = []

        for message in turns:
            conversation.append(message)
            result = planner.place(params, model=MODEL)
            assert result == place_cache_breakpoints(params, model=MODEL)
            assert count_breakpoints(result) <= MAX_BREAKPOINTS
            marked_messages.append([
                index for index, sent in enumerate(result["messages"])
                if isinstance(sent["content"], list)
                and any("cache_control" in block for block in sent["content"])
            ])

        assert marked_messages == [
            [], [], [], [],  # below the minimum
            [4], [5], [4, 6],  # the latest turn, then the previous one too
            [7],  # the caller marked the latest message twice
            [6, 7, 8], [7, 9], [7, 8, 10],  # their two breakpoints always count
        ]

    def test_one_planner_switching_models_applies_each_models_minimum(self) -> None:
        # A run routed between models keeps one planner: a prefix long enough for one
        # model's minimum (1024 tokens) but not another's (4096) is marked only for the
        # first, on every switch back and forth.
        conversation: list[dict[str, Any]] = [
            {"role": "user", "content": [{"type": "text", "text": "x" * 8_000}]}
        ]
        params = {"model": MODEL, "messages": conversation}
        planner = CachePlanner()
        marked = []
        for model in ["claude-sonnet-4-6", "claude-opus-4-5", "claude-sonnet-4-6",
                      "claude-opus-4-5", "claude-opus-4-5"]:  # fmt: skip
            result = planner.place(params, model=model)
            assert result == place_cache_breakpoints(params, model=model)
            marked.append(count_breakpoints(result))
        assert marked == [1, 0, 1, 0, 0]

    def test_a_message_is_measured_once_however_long_the_run(self) -> None:
        first = ReadCountingMessage(long_text("user", "Where is order A-1001?"))
        conversation: list[Any] = [first, ASSISTANT_1, USER_2]
        params = {"model": MODEL, "system": SYSTEM, "tools": TOOLS, "messages": conversation}
        planner = CachePlanner()
        planner.place(params, model=MODEL)
        reads_while_recent = first.reads

        for message in [ASSISTANT_2, USER_3, ASSISTANT_1, USER_2] * 5:
            conversation.append(message)
            planner.place(params, model=MODEL)

        assert first.reads == reads_while_recent
        place_cache_breakpoints(params, model=MODEL)
        assert first.reads > reads_while_recent

    def test_a_different_or_shortened_conversation_is_measured_again(self) -> None:
        planner = CachePlanner()
        conversation = [long_text("user", "Hello there."), MARKED_BY_CALLER, USER_3]
        long_params = {"model": MODEL, "system": SYSTEM, "tools": TOOLS,
                       "messages": conversation}
        planner.place(long_params, model=MODEL)

        other = request(USER_1)
        assert planner.place(other, model=MODEL) == place_cache_breakpoints(other, model=MODEL)
        planner.place(long_params, model=MODEL)
        del conversation[1:]
        assert planner.place(long_params, model=MODEL) == place_cache_breakpoints(
            long_params, model=MODEL
        )
        conversation[0] = USER_1
        assert planner.place(long_params, model=MODEL) == {
            **long_params,
            "system": cached_system(),
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "Refund order A-1001", "cache_control": CACHE},
            ]}],
        }


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


class TestSizeEstimate:
    """The size estimate that decides what is long enough to cache: the rule its docstring
    states, for plain JSON values and for the other shapes a request may hold."""

    @staticmethod
    def by_the_rule(value: Any) -> int:
        if isinstance(value, str):
            return len(value) + 2
        if isinstance(value, Mapping):
            rule = TestSizeEstimate.by_the_rule
            return 2 + sum(len(str(key)) + 4 + rule(item) for key, item in value.items())
        if isinstance(value, list | tuple):
            return 2 + sum(TestSizeEstimate.by_the_rule(item) + 1 for item in value)
        return 5

    def test_a_message_counts_quotes_keys_and_separators(self) -> None:
        # {"role": "user", "content": "Hi"}: braces 2, "role": 4+4 and "user" 6,
        # "content": 7+4 and "Hi" 4.
        assert _estimated_chars({"role": "user", "content": "Hi"}) == 2 + 8 + 6 + 11 + 4

    @given(json_values)
    def test_plain_json_values_follow_the_rule(self, value: Any) -> None:
        assert _estimated_chars(value) == self.by_the_rule(value)

    def test_other_containers_and_models_count_as_their_json(self) -> None:
        class Name(str):
            pass

        message = {"role": "user", "content": [{"type": "text", "text": "Hi"}]}
        as_other_shapes = {
            Name("role"): Name("user"),
            "content": ({"type": "text", "text": "Hi"},),
        }
        assert _estimated_chars(as_other_shapes) == _estimated_chars(message)
        assert _estimated_chars(MessageParam.model_validate(message)) == _estimated_chars(message)
        assert _estimated_chars(ReadCountingMessage(message)) == _estimated_chars(message)
        assert _estimated_chars({1: None, "n": 2.5}) == 2 + (1 + 4 + 5) + (1 + 4 + 5)
