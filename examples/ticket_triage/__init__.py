"""Classify a backlog of support tickets through the Message Batches API, at half price.

Run ``python -m examples.ticket_triage`` (offline, against the bundled emulator) or add
``--live`` to send the batch to the real API with ``ANTHROPIC_API_KEY``.
"""
