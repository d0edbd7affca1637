"""A loopback Messages API for demos and tests: JSON and SSE replies, token counting, batches,
prompt-cache billing, an account's rate limits, injected faults and a keyword demo policy.
Nothing else in :mod:`agentcore` imports it.
"""

from agentcore.emulator._server import (
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

__all__ = [
    "Emulator",
    "Fault",
    "FaultPlan",
    "RateLimitSpecError",
    "RateLimitUsage",
    "RateLimits",
    "ScriptFileError",
    "add_arguments",
    "load_script",
    "main",
    "run",
]
