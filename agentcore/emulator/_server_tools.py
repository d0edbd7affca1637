"""The emulator's server tools: web search, web fetch and code execution, answered with
canned results that say on their face that they come from the emulator.

Nothing here searches, fetches or runs anything. A search returns results at
``https://emulator.invalid/…`` (a domain that cannot exist) titled ``[emulator] canned
result…``; a fetched page's text starts with ``[emulator canned page]``; code execution prints
``[emulator] no code was run``. The demo policy uses them when a request declares server
tools and the user's words ask for one:

* a URL in the request → ``web_fetch`` of it (refused with ``url_not_allowed`` when the
  definition's ``allowed_domains`` / ``blocked_domains`` exclude it);
* "search", "web", "online", "latest", "news" → ``web_search`` of the request;
* "calculate", "compute", "code", "python", "run", "analyse", or ``container_upload`` blocks
  → code execution (listing the uploaded file ids, which it does not read).

A turn that needs more than one server tool pauses after each but the last
(``stop_reason: "pause_turn"``), so a client must send the assistant content back as-is to get
the rest; the turn ends with a labelled summary (``end_turn``). :func:`add_server_tool_usage`
counts the requests a reply made into ``usage.server_tool_use``, and
:func:`check_server_tool_betas` refuses a request that declares a tool version without the
``anthropic-beta`` it needs, as the API does.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from agentcore.emulator._validation import RequestRejected
from agentcore.testing._replies import new_id

__all__ = [
    "CANNED_DOMAIN",
    "add_server_tool_usage",
    "check_server_tool_betas",
    "server_tool_reply",
]

CANNED_DOMAIN = "emulator.invalid"
"""The domain of every canned search result and of nothing real (``.invalid`` is reserved)."""

# The demo policy's label on every text and marker on every message it produces.
_LABEL = "[demo policy]"
_MARKER = "demo-policy"
_SERVER_TOOL_TYPE = re.compile(r"(web_search|web_fetch|code_execution)_(\d{8})")
_BETAS = {
    "web_fetch_20250910": "web-fetch-2025-09-10",
    "code_execution_20250522": "code-execution-2025-05-22",
    "code_execution_20250825": "code-execution-2025-08-25",
}
_URL = re.compile(r"https?://[^\s<>\"')\]]+")
_WORD = re.compile(r"[a-z]+")
_SEARCH_WORDS = frozenset({"search", "web", "online", "internet", "latest", "news"})
_CODE_WORDS = frozenset(
    {"calculate", "compute", "code", "python", "run", "analyse", "analyze", "execute", "bash"}
)
_REQUESTS_BY_NAME = {"web_search": "web_search_requests", "web_fetch": "web_fetch_requests"}
_QUERY_CHARS = 120


def _declared(body: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The server tools a request declares, by family (``web_search``…)."""
    declared: dict[str, dict[str, Any]] = {}
    for definition in body.get("tools") or []:
        if not isinstance(definition, dict):
            continue
        match = _SERVER_TOOL_TYPE.fullmatch(str(definition.get("type", "")))
        if match is not None:
            declared.setdefault(match.group(1), definition)
    return declared


def check_server_tool_betas(body: Any, headers: Mapping[str, str]) -> None:
    """Refuse a request declaring a server tool version whose beta header is missing.

    Raises:
        RequestRejected: 400 ``invalid_request_error`` naming the tool and the header.
    """
    if not isinstance(body, dict):
        return
    sent = {beta.strip() for beta in headers.get("anthropic-beta", "").split(",")}
    for index, definition in enumerate(body.get("tools") or []):
        if not isinstance(definition, dict):
            continue
        kind = str(definition.get("type", ""))
        beta = _BETAS.get(kind)
        if beta is not None and beta not in sent:
            raise RequestRejected(
                400, "invalid_request_error",
                f"tools.{index}: '{kind}' requires the beta header 'anthropic-beta: {beta}'",
            )


def add_server_tool_usage(usage: dict[str, Any], content: Any) -> None:
    """Put ``server_tool_use`` (the reply's web searches and fetches) into ``usage`` when the
    reply made any."""
    counts = dict.fromkeys(_REQUESTS_BY_NAME.values(), 0)
    for block in content if isinstance(content, list) else []:
        if isinstance(block, dict) and block.get("type") == "server_tool_use":
            key = _REQUESTS_BY_NAME.get(str(block.get("name")))
            if key is not None:
                counts[key] += 1
    if any(counts.values()):
        usage["server_tool_use"] = counts


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return "\n".join(
        str(block.get("text", "")) for block in content
        if isinstance(block, dict) and block.get("type") == "text"
    )


def _uploads(content: Any) -> list[str]:
    return [
        str(block.get("file_id")) for block in content if isinstance(block, dict)
        and block.get("type") == "container_upload"
    ] if isinstance(content, list) else []


def _step_id(request: str, step: int) -> str:
    digest = hashlib.sha256(json.dumps([request, step]).encode()).hexdigest()[:24]
    return f"srvtoolu_emulator_{digest}"


def _matches(host: str, domains: Any) -> bool:
    """Whether ``host`` is one of ``domains`` or a subdomain of one (paths are ignored)."""
    for domain in domains if isinstance(domains, list) else []:
        if isinstance(domain, str):
            bare = domain.split("/", 1)[0].lower()
            if host == bare or host.endswith("." + bare):
                return True
    return False


def _domain_allowed(url: str, definition: Mapping[str, Any]) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    allowed = definition.get("allowed_domains")
    if allowed is not None and not _matches(host, allowed):
        return False
    return not _matches(host, definition.get("blocked_domains"))


def _plan(
    request: str, uploads: list[str], declared: Mapping[str, dict[str, Any]]
) -> list[tuple[str, dict[str, Any]]]:
    """The server tools the request asks for, in the order they run: (family, definition)."""
    words = set(_WORD.findall(request.lower()))
    plan: list[tuple[str, dict[str, Any]]] = []
    if "web_fetch" in declared and _URL.search(request):
        plan.append(("web_fetch", declared["web_fetch"]))
    if "web_search" in declared and words & _SEARCH_WORDS:
        plan.append(("web_search", declared["web_search"]))
    if "code_execution" in declared and (words & _CODE_WORDS or uploads):
        plan.append(("code_execution", declared["code_execution"]))
    return plan


def _search(request: str, tool_id: str, definition: Mapping[str, Any]) -> list[dict[str, Any]]:
    query = " ".join(request.split())[:_QUERY_CHARS]
    urls = [f"https://{CANNED_DOMAIN}/search/{number}" for number in (1, 2)]
    kept = [
        {
            "type": "web_search_result",
            "url": url,
            "title": f"[emulator] canned result {number} for: {query}",
            "encrypted_content": f"emulator-canned-{number}-not-a-real-page",
            "page_age": None,
        }
        for number, url in enumerate(urls, start=1)
        if _domain_allowed(url, definition)
    ]
    return [
        {"type": "server_tool_use", "id": tool_id, "name": "web_search",
         "input": {"query": query}},
        {"type": "web_search_tool_result", "tool_use_id": tool_id, "content": kept},
    ]


def _fetch(request: str, tool_id: str, definition: Mapping[str, Any]) -> list[dict[str, Any]]:
    match = _URL.search(request)
    url = match.group(0) if match else ""
    use = {"type": "server_tool_use", "id": tool_id, "name": "web_fetch", "input": {"url": url}}
    if not _domain_allowed(url, definition):
        content: dict[str, Any] = {"type": "web_fetch_tool_error", "error_code": "url_not_allowed"}
    else:
        citations = definition.get("citations")
        content = {
            "type": "web_fetch_result",
            "url": url,
            "content": {
                "type": "document",
                "source": {
                    "type": "text",
                    "media_type": "text/plain",
                    "data": f"[emulator canned page] Nothing was fetched from {url}; this text "
                            "stands in for the page so a client can be tested offline.",
                },
                "title": "[emulator] canned page",
                "citations": citations if isinstance(citations, dict) else {"enabled": False},
            },
            "retrieved_at": "2026-01-01T00:00:00Z",
        }
    return [use, {"type": "web_fetch_tool_result", "tool_use_id": tool_id, "content": content}]


def _execute(
    uploads: list[str], tool_id: str, definition: Mapping[str, Any]
) -> list[dict[str, Any]]:
    files = f" Files in the container: {', '.join(uploads)} (not read)." if uploads else ""
    stdout = f"[emulator] no code was run.{files}\n"
    if str(definition.get("type")) == "code_execution_20250522":
        name, kind, tool_input = "code_execution", "code_execution", {
            "code": "print('[emulator] no code was run')"}
    else:
        name, kind, tool_input = "bash_code_execution", "bash_code_execution", {
            "command": "ls -la"}
    return [
        {"type": "server_tool_use", "id": tool_id, "name": name, "input": tool_input},
        {"type": f"{kind}_tool_result", "tool_use_id": tool_id, "content": {
            "type": f"{kind}_result", "stdout": stdout, "stderr": "", "return_code": 0,
            "content": []}},
    ]


def _summary(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """The labelled closing text; it cites the first canned search result, if any."""
    text: dict[str, Any] = {
        "type": "text",
        "text": f"{_LABEL} The server tools returned canned emulator output, not real "
                "results: nothing was searched, fetched or run.",
    }
    for block in blocks:
        if block.get("type") == "web_search_tool_result" and block.get("content"):
            first = block["content"][0]
            text["citations"] = [{
                "type": "web_search_result_location",
                "url": first["url"],
                "title": first["title"],
                "encrypted_index": "emulator-canned-index",
                "cited_text": first["title"],
            }]
            break
    return text


def server_tool_reply(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The demo policy's answer when the request declares server tools and asks for one, or
    None (then the client-tool demo policy answers). A Message dict without ``model`` and
    ``usage``, which the emulator fills in."""
    declared = _declared(body)
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    if not declared or not messages:
        return None
    last = messages[-1]
    done = 0
    if last.get("role") == "assistant":
        # A paused turn sent back as-is: go on from the server tools it already ran.
        done = sum(
            1 for block in last.get("content") or []
            if isinstance(block, dict) and block.get("type") == "server_tool_use"
        )
        if done == 0 or len(messages) < 2:
            return None
        asking = messages[-2]
    else:
        asking = last
    content = asking.get("content")
    if isinstance(content, list) and any(
        isinstance(block, dict) and block.get("type") == "tool_result" for block in content
    ):
        return None
    request = _text(content)
    uploads = _uploads(content)
    plan = _plan(request, uploads, declared)
    earlier = [
        block for block in last.get("content") or [] if isinstance(block, dict)
    ] if done else []
    if len(plan) <= done:
        if done == 0:
            return None
        return _reply([_summary(earlier)], "end_turn", plan, declared)
    family, definition = plan[done]
    tool_id = _step_id(request, done)
    if family == "web_search":
        blocks = _search(request, tool_id, definition)
    elif family == "web_fetch":
        blocks = _fetch(request, tool_id, definition)
    else:
        blocks = _execute(uploads, tool_id, definition)
    content_out: list[dict[str, Any]] = []
    if done == 0:
        content_out.append({"type": "text", "text": f"{_LABEL} Using the server tools "
                            f"{', '.join(name for name, _ in plan)} (canned emulator output)."})
    content_out.extend(blocks)
    if done + 1 < len(plan):
        return _reply(content_out, "pause_turn", plan, declared)
    content_out.append(_summary([*earlier, *blocks]))
    return _reply(content_out, "end_turn", plan, declared)


def _reply(
    content: list[dict[str, Any]],
    stop_reason: str,
    plan: list[tuple[str, dict[str, Any]]],
    declared: Mapping[str, Any],
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "id": new_id("msg"),
        "type": "message",
        "role": "assistant",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "emulator": _MARKER,
    }
    if any(family == "code_execution" for family, _ in plan) and "code_execution" in declared:
        expires = datetime.now(UTC) + timedelta(minutes=30)
        message["container"] = {
            "id": "container_emulator",
            "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    return message
