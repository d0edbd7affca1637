"""The emulator's demo policy: a deterministic, clearly labelled stand-in for a model.

It is not a model and never claims to be one: every message it produces carries
``"emulator": "demo-policy"`` and its text starts with ``[demo policy]``. Its rules:

* the last user message holds tool results → if the user's request mentions something a
  tool not yet used covers (e.g. "status *and tracking*") and every required argument of
  that tool can be read from the request or the results, call it next; otherwise summarise
  the results plainly (a ``{"columns", "rows"}`` table as ``column: value`` pairs) and end
  the turn;
* otherwise → call the tool whose name and description share the most words with the
  request (on a tie, the one whose name uses the request's own word forms: "refund" picks
  ``refund_order`` over ``refunds_for_order``), with arguments filled from its schema and
  the text (ids such as ``A-1001``, emails, numbers, ``$25`` as 2500 when the parameter is
  in cents, enum values, defaults);
* no tool matches → a helpful text answer saying what it can do;
* a final text answer to a request that came with documents whose citations are enabled
  quotes the (at most two) sentences of those documents that share the most words with the
  request (a third of them at least, counting the document's title), each in a text block
  carrying a ``char_location`` citation, as the API returns them.

Before these, a request that declares server tools (web search, web fetch, code execution)
and asks for one gets labelled canned results from :mod:`agentcore.emulator._server_tools`.

The system prompt is read for one kind of instruction only: a tool it forbids in so many
words ("Never call `send_email`", "Do not use `support_policy`") is never picked, so two
prompt versions that differ there behave differently offline.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from agentcore.emulator._arguments import fill_arguments
from agentcore.emulator._files import SourceDocument
from agentcore.emulator._server_tools import server_tool_reply
from agentcore.testing._replies import CHARS_PER_TOKEN, estimate_tokens, new_id

__all__ = [
    "DEMO_MARKER",
    "add_thinking",
    "apply_stop_sequences",
    "cite_documents",
    "demo_reply",
    "limit_output",
]

DEMO_MARKER = "demo-policy"
_LABEL = "[demo policy]"

_STOPWORD_TEXT = (
    "a an and any are as at be by can could do does for from get give has have help how i "
    "id ids in into is it its look me my need number of on or our please return returns "
    "show so tell than that the their them then this to up us use using want was we what "
    "when where which who why will with would you your given about"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split(" "))
_WORD = re.compile(r"[a-z0-9]+")
_RESULT_CHARS = 300
_FORBIDDEN_TOOL = re.compile(
    r"\b(?:never|do not|don't)\s+(?:call|use)\s+`([A-Za-z0-9_-]{1,128})`", re.IGNORECASE
)


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _plain_words(text: str) -> set[str]:
    return {
        word for word in _WORD.findall(text.lower())
        if len(word) > 2 and not word.isdigit() and word not in _STOPWORDS
    }


def _keywords(text: str) -> set[str]:
    return {_stem(word) for word in _plain_words(text)}


def _blocks_of(message: Mapping[str, Any]) -> list[Any]:
    """A message's content blocks (none when its content is a plain string)."""
    content = message.get("content")
    return content if isinstance(content, list) else []


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for block in content if isinstance(content, list) else []:
        if isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
    return "\n".join(parts)


def _forbidden_tools(body: Mapping[str, Any]) -> set[str]:
    """The tools the system prompt forbids ("Never call `name`", "Do not use `name`")."""
    system = body.get("system")
    text = system if isinstance(system, str) else _text_of(system)
    return set(_FORBIDDEN_TOOL.findall(text)) if text else set()


def _client_tools(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    forbidden = _forbidden_tools(body)
    return [
        tool for tool in body.get("tools") or []
        if isinstance(tool, dict) and isinstance(tool.get("input_schema"), dict)
        and tool.get("name") not in forbidden
    ]


def _tool_keywords(tool: Mapping[str, Any]) -> tuple[frozenset[str], frozenset[str]]:
    return _name_and_description_keywords(str(tool.get("name", "")),
                                          str(tool.get("description", "")))


@functools.lru_cache(maxsize=4096)
def _name_and_description_keywords(
    name: str, description: str
) -> tuple[frozenset[str], frozenset[str]]:
    # Pure and hit on every request of a conversation, since tools repeat verbatim.
    name_words = frozenset(_keywords(name.replace("_", " ").replace("-", " ")))
    return name_words, frozenset(_keywords(description))


@functools.lru_cache(maxsize=4096)
def _plain_name_words(name: str) -> frozenset[str]:
    return frozenset(_plain_words(name.replace("_", " ").replace("-", " ")))


def _score(tool: Mapping[str, Any], words: set[str]) -> int:
    name_words, description_words = _tool_keywords(tool)
    return 2 * len(words & name_words) + len(words & description_words)


def _ranked(
    tools: list[dict[str, Any]], words: set[str], plain: set[str]
) -> list[dict[str, Any]]:
    """Tools sharing words with the request, best first; ties go to the tool whose name
    uses the request's word forms, then to the earlier tool."""
    scored = []
    for position, tool in enumerate(tools):
        score = _score(tool, words)
        if score > 0:
            exact = len(plain & _plain_name_words(str(tool.get("name", ""))))
            scored.append((-score, -exact, position, tool))
    scored.sort(key=lambda item: item[:3])
    return [item[3] for item in scored]


def _best_tool(
    tools: list[dict[str, Any]], words: set[str], plain: set[str]
) -> dict[str, Any] | None:
    ranked = _ranked(tools, words, plain)
    return ranked[0] if ranked else None


def _table_text(data: Mapping[str, Any]) -> str | None:
    """A ``{"columns": [...], "rows": [[...]]}`` result as ``column: value`` pairs."""
    columns, rows = data.get("columns"), data.get("rows")
    if not isinstance(columns, list) or not isinstance(rows, list):
        return None
    if not rows:
        return "no rows"
    described = []
    for row in rows:
        if not isinstance(row, list) or len(row) != len(columns):
            return None
        described.append(", ".join(f"{column}: {value}" for column, value in zip(
            columns, row, strict=True)))
    return "; ".join(described) if len(rows) == 1 else f"{len(rows)} rows: " + "; ".join(
        f"({row})" for row in described)


def _result_text(block: Mapping[str, Any]) -> str:
    content = block.get("content")
    text = _text_of(content) if not isinstance(content, str) else content
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        table = _table_text(data)
        text = table if table is not None else ", ".join(
            f"{key}: {value}" for key, value in data.items())
    text = " ".join(text.split())
    return text if len(text) <= _RESULT_CHARS else text[: _RESULT_CHARS - 1] + "…"


def _message(content: list[dict[str, Any]], stop_reason: str) -> dict[str, Any]:
    return {
        "id": new_id("msg"),
        "type": "message",
        "role": "assistant",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "emulator": DEMO_MARKER,
    }


def _call(
    tool: Mapping[str, Any], text: str, turn: int, request: str,
    arguments: dict[str, Any] | None = None,
) -> dict[str, Any]:
    if arguments is None:
        arguments = fill_arguments(tool, text) or {}
    seed = json.dumps([turn, tool["name"], arguments, request], sort_keys=True)
    tool_use_id = "toolu_demo_" + hashlib.sha256(seed.encode()).hexdigest()[:20]
    return _message(
        [
            {"type": "text", "text": f"{_LABEL} Calling {tool['name']}."},
            {"type": "tool_use", "id": tool_use_id, "name": tool["name"], "input": arguments},
        ],
        "tool_use",
    )


def demo_reply(body: Mapping[str, Any]) -> dict[str, Any]:
    """The demo policy's answer to a valid MessageCreate body (a Message dict without
    ``model`` and ``usage``, which the emulator fills in)."""
    served = server_tool_reply(body)
    if served is not None:
        return served
    messages = list(body.get("messages") or [])
    tools = _client_tools(body)
    raw_choice = body.get("tool_choice")
    choice: dict[str, Any] = raw_choice if isinstance(raw_choice, dict) else {}
    request_index = max(
        (i for i, m in enumerate(messages) if m.get("role") == "user" and _text_of(m["content"])),
        default=0,
    )
    request = _text_of(messages[request_index]["content"]) if messages else ""
    words = _keywords(request)
    plain = _plain_words(request)
    later = messages[request_index + 1 :]
    used = {
        str(block.get("name"))
        for message in later if message.get("role") == "assistant"
        for block in _blocks_of(message) if isinstance(block, dict)
        and block.get("type") == "tool_use"
    }
    last = messages[-1] if messages else {}
    results = [
        block for block in _blocks_of(last)
        if isinstance(block, dict) and block.get("type") == "tool_result"
    ] if last.get("role") == "user" else []
    if choice.get("type") == "none":
        tools = []
    if results:
        covered = set().union(*(
            set().union(*_tool_keywords(tool)) for tool in tools if tool["name"] in used
        )) if used else set()
        remaining = [tool for tool in tools if tool["name"] not in used]
        result_text = " ".join(_text_of(block.get("content")) for block in results)
        context = f"{request}\n{result_text}"
        # A follow-up call must be fully grounded: a tool whose required arguments are not
        # in the request or the results (an email body, a reason) is not worth guessing at.
        for follow_up in _ranked(remaining, words - covered, plain):
            arguments = fill_arguments(follow_up, context, guess=False)
            if arguments is not None:
                return _call(follow_up, context, len(messages), request, arguments)
        names = {
            str(block.get("id")): str(block.get("name"))
            for message in later for block in message.get("content") or []
            if isinstance(block, dict) and block.get("type") == "tool_use"
        }
        answered = [
            block for message in later if message.get("role") == "user"
            for block in message.get("content") or [] if isinstance(block, dict)
            and block.get("type") == "tool_result"
        ]
        lines = [f"{_LABEL} Here is what the tools returned:"]
        for block in answered:
            name = names.get(str(block.get("tool_use_id")), "a tool")
            verb = "failed" if block.get("is_error") else "returned"
            lines.append(f"- {name} {verb}: {_result_text(block)}")
        return _message([{"type": "text", "text": "\n".join(lines)}], "end_turn")
    forced = choice.get("name") if choice.get("type") == "tool" else None
    tool = next((t for t in tools if t["name"] == forced), None) or _best_tool(
        tools, words, plain)
    if tool is None and choice.get("type") == "any" and tools:
        tool = tools[0]
    if tool is not None:
        return _call(tool, request, len(messages), request)
    if tools:
        names_list = ", ".join(str(t["name"]) for t in tools)
        text = (f"{_LABEL} I am the agentcore emulator's scripted stand-in, not a model. I "
                f"could not match your request to one of my tools ({names_list}); mention "
                "what you need in words those tools use.")
    else:
        excerpt = " ".join(request.split())[:200]
        text = (f"{_LABEL} I am the agentcore emulator's scripted stand-in, not a model. "
                f"You said: {excerpt}")
    return _message([{"type": "text", "text": text}], "end_turn")


def limit_output(message: dict[str, Any], max_tokens: int) -> dict[str, Any]:
    """Cut a reply longer than ``max_tokens`` the way the API does: text up to the limit,
    no tool call that does not fit whole, and ``stop_reason: "max_tokens"``."""
    content = message.get("content") or []
    if estimate_tokens(content) <= max_tokens:
        return message
    budget = max_tokens * CHARS_PER_TOKEN
    kept: list[dict[str, Any]] = []
    for block in content:
        size = estimate_tokens(block) * CHARS_PER_TOKEN
        if block.get("type") == "text" and size > budget:
            kept.append({**block, "text": str(block.get("text", ""))[: max(0, budget)]})
            break
        if size > budget:
            break
        kept.append(block)
        budget -= size
    return {**message, "content": kept, "stop_reason": "max_tokens"}


def apply_stop_sequences(message: dict[str, Any], stop_sequences: Any) -> dict[str, Any]:
    """End the reply at the first of ``stop_sequences`` found in its text, as the API does:
    the text before it is kept, and ``stop_reason`` becomes ``"stop_sequence"``."""
    if not isinstance(stop_sequences, list) or not stop_sequences:
        return message
    kept: list[dict[str, Any]] = []
    for block in message.get("content") or []:
        text = block.get("text") if block.get("type") == "text" else None
        if isinstance(text, str):
            hits = [(text.find(seq), seq) for seq in stop_sequences
                    if isinstance(seq, str) and seq and seq in text]
            if hits:
                position, sequence = min(hits)
                kept.append({**block, "text": text[:position]})
                return {**message, "content": kept, "stop_reason": "stop_sequence",
                        "stop_sequence": sequence}
        kept.append(block)
    return message


def add_thinking(message: dict[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    """With ``thinking`` on in the request, start the reply with a (labelled) thinking block
    and a signature, so a loop must send it back the way the API requires."""
    thinking = body.get("thinking")
    if not isinstance(thinking, dict) or thinking.get("type") not in ("enabled", "adaptive"):
        return message
    calls = [block["name"] for block in message.get("content") or []
             if block.get("type") == "tool_use"]
    plan = f"calling {', '.join(calls)}" if calls else "answering in text"
    text = f"{_LABEL} Matched the request against the tools: {plan}."
    signature = "demo-" + hashlib.sha256(text.encode()).hexdigest()[:32]
    block = {"type": "thinking", "thinking": text, "signature": signature}
    return {**message, "content": [block, *(message.get("content") or [])]}


# A sentence ends at . ! or ? followed by a space or the end, so "$20.00" stays whole.
_SENTENCE = re.compile(r"(?:[^.!?\n]|[.!?](?=[^\s.!?]))+(?:[.!?]+|$)", re.MULTILINE)
_MAX_QUOTES = 2
_MIN_SENTENCE_WORDS = 4


def _latest_request(body: Mapping[str, Any]) -> str:
    for message in reversed(list(body.get("messages") or [])):
        if message.get("role") == "user":
            text = _text_of(message.get("content"))
            if text:
                return text
    return ""


def _passages(text: str) -> list[tuple[int, int]]:
    """The sentences of ``text`` (of four words or more) as ``(start, end)`` character
    offsets, spaces trimmed."""
    spans = []
    for match in _SENTENCE.finditer(text):
        start, end = match.span()
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        # Headings and fragments are not worth quoting: a sentence has a few words.
        if len(text[start:end].split()) >= _MIN_SENTENCE_WORDS:
            spans.append((start, end))
    return spans


def cite_documents(
    message: dict[str, Any], body: Mapping[str, Any], documents: list[SourceDocument]
) -> dict[str, Any]:
    """Add quotes with ``char_location`` citations to a final text answer (see the module
    docstring); any other message, or a request without citable documents, is unchanged."""
    citable = [doc for doc in documents if doc.citations and doc.text]
    if not citable or message.get("stop_reason") != "end_turn":
        return message
    words = _keywords(_latest_request(body))
    if not words:
        return message
    # A third of the request's words (at least one), so a long request about something else
    # does not pick up a quote for one shared word.
    needed = max(1, (len(words) + 2) // 3)
    scored: list[tuple[int, int, int, SourceDocument, int, int]] = []
    for document in citable:
        text = document.text or ""
        title_words = _keywords(document.title or "") & words
        for order, (start, end) in enumerate(_passages(text)):
            shared = _keywords(text[start:end]) & words
            score = len(shared | title_words)
            if shared and score >= needed:
                scored.append((-score, document.index, order, document, start, end))
    if not scored:
        return message
    scored.sort(key=lambda item: item[:3])
    best = [item for item in scored if item[0] == scored[0][0]]
    chosen = sorted(best[:_MAX_QUOTES], key=lambda item: item[1:3])
    content = list(message.get("content") or [])
    content.append({"type": "text", "text": f"\n{_LABEL} From the documents in this "
                    "conversation: "})
    for number, (_, _, _, document, start, end) in enumerate(chosen):
        if number:
            content.append({"type": "text", "text": " "})
        text = document.text or ""
        citation: dict[str, Any] = {
            "type": "char_location",
            "cited_text": text[start:end],
            "document_index": document.index,
            "document_title": document.title,
            "start_char_index": start,
            "end_char_index": end,
        }
        if document.file_id is not None:
            citation["file_id"] = document.file_id
        content.append({"type": "text", "text": text[start:end], "citations": [citation]})
    return {**message, "content": content}
