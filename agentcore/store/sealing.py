"""Tamper-evident envelopes for serialized run state.

:func:`seal` wraps a run's JSON in an envelope carrying its digest: a sha256 checksum (catches
corruption) or, with a key, an HMAC-SHA256 (also catches deliberate edits by anyone without
the key). :func:`unseal` checks the envelope and returns the JSON, or raises
:class:`~agentcore.errors.RunStateError` saying what is wrong.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from agentcore.errors import RunStateError

__all__ = ["ENVELOPE_FORMAT", "seal", "unseal"]

ENVELOPE_FORMAT = "agentcore.sealed-run-state"
_ENVELOPE_VERSION = 1


def _digest(state_json: str, key: bytes | None) -> tuple[str, str]:
    data = state_json.encode("utf-8")
    if key is None:
        return "sha256", hashlib.sha256(data).hexdigest()
    return "hmac-sha256", hmac.new(key, data, hashlib.sha256).hexdigest()


def seal(state_json: str, key: bytes | None = None) -> str:
    """Return ``state_json`` in an envelope with its checksum (or HMAC when ``key`` is given)."""
    algorithm, digest = _digest(state_json, key)
    envelope = {
        "format": ENVELOPE_FORMAT,
        "version": _ENVELOPE_VERSION,
        "algorithm": algorithm,
        "digest": digest,
        "state": state_json,
    }
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))


def unseal(envelope_json: str, key: bytes | None = None) -> str:
    """Check an envelope made by :func:`seal` and return the state JSON inside.

    Raises:
        RunStateError: not an envelope, an unknown version, a key mismatch (sealed with a key
            but none given, or the other way round), or a digest that does not match.
    """
    try:
        envelope: Any = json.loads(envelope_json)
    except (TypeError, ValueError) as exc:
        raise RunStateError(f"stored run state is not valid JSON: {exc}") from exc
    if not isinstance(envelope, dict) or envelope.get("format") != ENVELOPE_FORMAT:
        raise RunStateError("stored run state is not a sealed agentcore run state")
    if envelope.get("version") != _ENVELOPE_VERSION:
        raise RunStateError(
            f"sealed run state has version {envelope.get('version')!r}; this agentcore reads "
            f"version {_ENVELOPE_VERSION}"
        )
    state = envelope.get("state")
    algorithm = envelope.get("algorithm")
    digest = envelope.get("digest")
    if not isinstance(state, str) or not isinstance(digest, str):
        raise RunStateError("sealed run state is missing its state or digest")
    expected_algorithm, expected = _digest(state, key)
    if algorithm != expected_algorithm:
        if algorithm == "hmac-sha256":
            raise RunStateError("run state was sealed with a key; pass the same key to read it")
        raise RunStateError(
            f"run state is sealed with {algorithm!r} but {expected_algorithm!r} was required; "
            "it may have been tampered with"
        )
    if not hmac.compare_digest(digest, expected):
        raise RunStateError(
            "run state does not match its digest: it was corrupted or tampered with"
        )
    return state
