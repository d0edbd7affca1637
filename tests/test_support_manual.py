"""The support agent's policy manual: uploaded once, sent by file id and cached, quoted with
citations that the console shows as sources."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentcore import Client
from agentcore.citations import CharLocationCitation, WebSearchResultLocationCitation
from agentcore.emulator import Emulator
from examples.support_agent.app import (
    create_support_agent,
    files_dir_for,
    manual_document,
    upload_manual,
)
from examples.support_agent.console import ChatConsole
from examples.support_agent.data import POLICY_MANUAL_TITLE, policy_manual
from examples.support_agent.render import Style, source_line
from tests._support_agent_harness import flat


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    with Emulator(files_dir=files_dir_for(tmp_path / "company.db")) as running:
        yield running


def test_the_manual_is_uploaded_once_and_found_again(emulator: Emulator) -> None:
    with Client(api_key="k", base_url=emulator.base_url) as client:
        first = upload_manual(client)
        client.files.upload(b"someone else's file", filename="other.txt")
        again = upload_manual(client)

    assert again == first
    assert first.filename.startswith("support-policy-manual-") and first.mime_type == "text/plain"
    assert [file["id"] for file in emulator.files.list_page({})["data"]][1:] == [first.id]
    assert emulator.files._content[first.id] == policy_manual().encode()


def test_a_conversation_opens_with_the_cached_manual_and_the_answer_cites_it(
    emulator: Emulator, tmp_path: Path
) -> None:
    out = io.StringIO()
    with Client(api_key="k", base_url=emulator.base_url) as client:
        manual = manual_document(upload_manual(client).id)
        support = create_support_agent(tmp_path / "company.db", client, model="claude-haiku-4-5")
        console = ChatConsole(support.agent, "console", out, Style(False), opening=[manual])
        status = console.run_script(["What is your policy on refunds?",
                                     "How long does shipping take?"])
        support.close()

    assert status == 0
    first_request, *_, last_request = emulator.requests
    opening = first_request["messages"][0]["content"]
    assert opening[0] == {
        "type": "document", "source": {"type": "file", "file_id": manual.source.file_id},
        "title": POLICY_MANUAL_TITLE, "citations": {"enabled": True},
        "cache_control": {"type": "ephemeral"},
    }
    assert opening[1] == {"type": "text", "text": "What is your policy on refunds?"}
    documents = [block for message in last_request["messages"]
                 if isinstance(message["content"], list)
                 for block in message["content"] if block.get("type") == "document"]
    assert len(documents) == 1, "the manual opens the conversation once, not every message"
    shown = flat(out.getvalue())  # the console wraps its lines to the terminal's width
    assert (f'[1] "Refunds are allowed within 30 days of delivery, up to the order total…" '
            f"— {POLICY_MANUAL_TITLE}") in shown
    assert f'[1] "Standard shipping takes 3-5 business days." — {POLICY_MANUAL_TITLE}' in shown


def test_a_source_line_names_where_the_quote_comes_from_and_is_terminal_safe() -> None:
    char = CharLocationCitation(cited_text="Line one\nline\x1b[31m two.", document_index=0,
                                document_title=None, start_char_index=0, end_char_index=9)
    web = WebSearchResultLocationCitation(cited_text="Open 9-5.", url="https://e.com/h",
                                          title="Hours", encrypted_index="x")
    assert source_line(1, char) == '[1] "Line one line\\u001b[31m two." — char_location'
    assert source_line(2, web) == '[2] "Open 9-5." — Hours'
