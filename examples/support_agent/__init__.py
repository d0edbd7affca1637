"""A customer-support agent over a real SQLite database: ``python -m examples.support_agent``.

Offline by default (the bundled emulator's demo policy answers, and says so); with
``ANTHROPIC_API_KEY`` set, Claude answers. See :mod:`examples.support_agent.app` for the agent
and :mod:`examples.support_agent.console` for the chat.
"""
