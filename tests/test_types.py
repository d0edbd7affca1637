"""Wire models: known blocks parse to their types, unknown ones round-trip unchanged."""

from agentcore.types import (
    ServerToolResultBlock,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
    UnknownBlock,
    Usage,
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
