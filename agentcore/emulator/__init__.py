"""A loopback Messages API for demos and tests: JSON and SSE replies, token counting, batches,
the Files API, prompt-cache billing, injected faults and a keyword demo policy. Nothing else in
:mod:`agentcore` imports it.
"""

from agentcore.emulator._files import FileStore
from agentcore.emulator._server import (
    Emulator,
    Fault,
    FaultPlan,
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
    "FileStore",
    "ScriptFileError",
    "add_arguments",
    "load_script",
    "main",
    "run",
]
