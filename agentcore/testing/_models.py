"""The model catalog the fakes serve on ``GET /v1/models`` and check requests against."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentcore.usage import context_window

__all__ = ["DEFAULT_MODELS", "ModelEntry", "model_page"]


@dataclass(frozen=True, slots=True)
class ModelEntry:
    """One model the emulator knows.

    ``min_cacheable_tokens`` is the shortest prefix a ``cache_control`` breakpoint can
    cache on this model; shorter prefixes are silently not cached, as on the API.
    ``context_window`` is the most tokens a request's prompt and answer may hold together
    (None: the model's known window, else 200,000); give a small one to test long runs
    (``dataclasses.replace(entry, context_window=20_000)``). ``tokenizer`` is how the
    emulator counts this model's tokens: ``"chars"`` (about four characters of JSON per
    token) or ``"varied"`` (digits, punctuation and non-Latin scripts cost more per character
    than English prose, as with a real tokenizer).
    """

    id: str
    display_name: str
    created_at: str
    min_cacheable_tokens: int = 1024
    context_window: int | None = None
    tokenizer: str = "chars"

    @property
    def window(self) -> int:
        """The context window the emulator enforces for this model, in tokens."""
        return self.context_window or context_window(self.id) or _DEFAULT_WINDOW

    def to_wire(self) -> dict[str, Any]:
        """The model object of ``GET /v1/models``."""
        return {
            "type": "model",
            "id": self.id,
            "display_name": self.display_name,
            "created_at": self.created_at,
        }


_DEFAULT_WINDOW = 200_000

DEFAULT_MODELS: tuple[ModelEntry, ...] = (
    ModelEntry("claude-opus-4-7", "Claude Opus 4.7", "2026-04-16T00:00:00Z", 4096),
    ModelEntry("claude-sonnet-4-6", "Claude Sonnet 4.6", "2026-02-17T00:00:00Z", 1024),
    ModelEntry("claude-haiku-4-5", "Claude Haiku 4.5", "2025-10-15T00:00:00Z", 4096),
    ModelEntry("claude-sonnet-4-5", "Claude Sonnet 4.5", "2025-09-29T00:00:00Z", 1024),
    ModelEntry("claude-opus-4-1", "Claude Opus 4.1", "2025-08-05T00:00:00Z", 1024),
    ModelEntry("claude-3-5-haiku-latest", "Claude Haiku 3.5", "2024-10-22T00:00:00Z", 2048),
)
"""Newest first, as the API lists them."""


def model_page(
    models: tuple[ModelEntry, ...],
    *,
    limit: int = 20,
    after_id: str | None = None,
    before_id: str | None = None,
) -> dict[str, Any]:
    """One page of the models list, in the API's ``data``/``has_more``/``first_id`` envelope."""
    ids = [model.id for model in models]
    start, stop = 0, len(models)
    if after_id is not None and after_id in ids:
        start = ids.index(after_id) + 1
    if before_id is not None and before_id in ids:
        stop = ids.index(before_id)
        start = max(start, stop - limit)
    window = models[start:stop][:limit]
    data = [model.to_wire() for model in window]
    return {
        "data": data,
        "has_more": start + len(window) < stop,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }
