"""A loopback Messages API for demos and tests: JSON and SSE replies, token counting, batches,
the Files API, prompt-cache billing, a per-model context window, an account's rate limits,
injected faults and a keyword demo policy. Nothing else in :mod:`agentcore` imports it.
"""

from agentcore.emulator._files import FileStore
from agentcore.emulator._server import (
    ConnectionDropped,
    Emulator,
    Fault,
    FaultPlan,
    RateLimits,
    RateLimitSpecError,
    RateLimitUsage,
    ScriptFileError,
    add_arguments,
    load_script,
    main,
    run,
)
from agentcore.testing._models import DEFAULT_MODELS, ModelEntry

__all__ = [
    "DEFAULT_MODELS",
    "ConnectionDropped",
    "Emulator",
    "Fault",
    "FaultPlan",
    "FileStore",
    "ModelEntry",
    "RateLimitSpecError",
    "RateLimitUsage",
    "RateLimits",
    "ScriptFileError",
    "add_arguments",
    "load_script",
    "main",
    "run",
]
