"""Wire models: known blocks parse to their types, unknown ones round-trip unchanged."""

from typing import Any, Literal

from pydantic import PrivateAttr

from agentcore.types import (
    Message,
    ServerToolResultBlock,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
    UnknownBlock,
    Usage,
    WireModel,
    parse_block,
    parse_message,
    to_wire,
)

RESPONSE = {
    "id": "msg_01",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-6",
    "content": [
        {"type": "thinking", "thinking": "Let me look.", "signature": "sig=="},
        {"type": "text", "text": "Checking.", "citations": None, "new_field": {"x": 1}},
        {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": None}},
        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
        {"type": "hologram", "payload": [1, 2, 3]},
    ],
    "stop_reason": "a_reason_from_the_future",
    "stop_sequence": None,
    "usage": {"input_tokens": 10, "output_tokens": 5, "brand_new_counter": 7},
    "top_level_extra": True,
}


def test_known_blocks_parse_to_their_types() -> None:
    message = parse_message(RESPONSE)
    kinds = [type(block).__name__ for block in message.content]
    assert kinds == [
        "ThinkingBlock",
        "TextBlock",
        "ToolUseBlock",
        "ServerToolResultBlock",
        "UnknownBlock",
    ]
    assert message.tool_uses == [ToolUseBlock(id="toolu_1", name="lookup", input={"q": None})]
    assert message.text == "Checking."


def test_response_round_trips_unchanged_including_unknown_fields_and_blocks() -> None:
    message = parse_message(RESPONSE)
    assert to_wire(message) == RESPONSE
    assert message.to_param() == {"role": "assistant", "content": RESPONSE["content"]}


def test_unknown_stop_reason_is_kept_not_rejected() -> None:
    assert parse_message(RESPONSE).stop_reason == "a_reason_from_the_future"


def test_unknown_block_types_become_generic_blocks() -> None:
    block = parse_block({"type": "hologram", "payload": 1})
    assert isinstance(block, UnknownBlock)
    assert to_wire(block) == {"type": "hologram", "payload": 1}
    server = parse_block({"type": "code_execution_tool_result", "tool_use_id": "s", "content": {}})
    assert isinstance(server, ServerToolResultBlock)


def test_constructed_blocks_write_only_what_was_set() -> None:
    result = ToolResultBlock(tool_use_id="toolu_1", content=[TextBlock(text="42")])
    assert to_wire(result) == {
        "type": "tool_result",
        "tool_use_id": "toolu_1",
        "content": [{"type": "text", "text": "42"}],
    }


def test_parse_message_accepts_raw_json_bytes_and_keeps_request_id() -> None:
    import json

    message = parse_message(json.dumps(RESPONSE).encode(), request_id="req_9")
    assert message.request_id == "req_9"
    assert message.usage.input_tokens == 10


def test_a_default_type_is_written_back_whether_parsed_or_constructed() -> None:
    # A reply that leaves out the message's and a cache marker's ``type`` still gets them
    # back on the wire; a model without a ``type`` field (usage) gets none invented.
    reply = {
        "id": "msg_02",
        "role": "assistant",
        "model": "claude-sonnet-4-6",
        "content": [{"type": "text", "text": "Hi.", "cache_control": {}}],
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    wire = to_wire(parse_message(reply))
    assert wire["type"] == "message"
    assert wire["content"] == [
        {"type": "text", "text": "Hi.", "cache_control": {"type": "ephemeral"}}
    ]
    assert wire["usage"] == {"input_tokens": 1, "output_tokens": 1}
    assert "type" not in to_wire(Usage(input_tokens=1, output_tokens=2))

    class NoteBlock(TextBlock):
        note: str = ""

    assert to_wire(NoteBlock(text="x")) == {"type": "text", "text": "x"}


def test_private_attributes_start_at_their_defaults_apart_in_every_instance() -> None:
    # Parsed, constructed or built without validation, a message has no request id and a
    # block no raw deltas until they are set, and setting one never shows in another.
    parsed = parse_message(RESPONSE)
    assert parsed.request_id is None
    assert Message(id="msg_1", model="m").request_id is None
    assert Message.model_construct(id="msg_1", model="m").request_id is None
    first, second = TextBlock(text="a"), TextBlock(text="a")
    first.raw_deltas = [{"type": "compaction_delta"}]
    assert second.raw_deltas is None
    assert parse_block({"type": "text", "text": "a"}).raw_deltas is None
    assert parse_message(RESPONSE, request_id="req_1").request_id == "req_1"
    assert parsed.request_id is None


def test_private_attributes_count_in_equality_and_survive_copies_and_pickling() -> None:
    import copy
    import pickle

    message = parse_message(RESPONSE, request_id="req_1")
    assert message == parse_message(RESPONSE, request_id="req_1")
    assert message != parse_message(RESPONSE, request_id="req_2")
    for copied in (
        pickle.loads(pickle.dumps(message)),
        copy.deepcopy(message),
        message.model_copy(),
    ):
        assert copied == message
        assert copied.request_id == "req_1"
    block = TextBlock(text="a")
    block.raw_deltas = [{"type": "compaction_delta"}]
    assert block != TextBlock(text="a")
    assert pickle.loads(pickle.dumps(block)).raw_deltas == [{"type": "compaction_delta"}]


def test_a_wire_model_with_its_own_post_init_and_private_state_keeps_both() -> None:
    # A subclass's own model_post_init still runs, after its private defaults are in place
    # (a fresh list each time, from a factory), and a literal type is still written.
    class Tagged(WireModel):
        type: Literal["tagged"] = "tagged"
        _seen: list[int] = PrivateAttr(default_factory=list)

        def model_post_init(self, context: Any, /) -> None:
            super().model_post_init(context)
            self._seen.append(1)

    class Subtagged(Tagged):
        _note: str | None = PrivateAttr(default=None)

    assert Tagged()._seen == [1]
    assert Tagged().model_dump(exclude_unset=True) == {"type": "tagged"}
    sub = Subtagged()
    assert sub._seen == [1] and sub._note is None

    class Marked(TextBlock):
        _mark: str = PrivateAttr(default="unset")

    marked = Marked(text="x")
    assert (marked._mark, marked.raw_deltas) == ("unset", None)
    assert to_wire(marked) == {"type": "text", "text": "x"}
