"""A password-reset app used by tests/test_store_security.py, also from the CLI.

Its one tool takes ``reset_token``, a credential-named argument it does not declare secret.
The tool writes what it was called with to ``$LEDGER`` (a file outside the run store), so a
test can check that the approved call ran with the real token. :func:`build_agent` is what
``agentcore runs resume --agent tests.store_security_app:build_agent`` imports; its model
answers every request with "Done.".
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from agentcore.agent import Agent
from agentcore.client import Client
from agentcore.store import RunStore
from agentcore.store.durable import ExecutionJournal
from agentcore.testing import ScriptedModel, text_reply
from agentcore.tools import tool

MODEL = "claude-sonnet-4-5"
SECRET = "rt-7Qx9-very-secret-reset-token"
RESET = ("reset_password", {"user": "ada", "reset_token": SECRET}, "toolu_reset")


@tool(sensitive=True)
def reset_password(user: str, reset_token: str) -> str:
    """Reset a user's password with a one-time token.

    Args:
        user: The account name.
        reset_token: The one-time reset token.
    """
    with Path(os.environ["LEDGER"]).open("a", encoding="utf-8") as ledger:
        ledger.write(f"reset {user} with {reset_token}\n")
    return f"password of {user} reset"


def _done(body: dict[str, Any]) -> dict[str, Any]:
    return text_reply("Done.")


def build_agent(store: RunStore, model: ScriptedModel | None = None) -> Agent:
    """The agent as the app builds it in any process: journaled tools, no approver."""
    journal = ExecutionJournal(store)
    return Agent(
        MODEL,
        tools=[reset_password],
        client=Client(api_key="test", transport=model or ScriptedModel(_done)),
        before_tool=[journal.before_tool],
        after_tool=[journal.after_tool],
    )
