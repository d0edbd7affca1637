"""Runs that outlive their process: the SQLite run store, sealed state, the exactly-once
execution journal, and running or resuming a stored run.
"""

from agentcore.store.durable import (
    ExecutionJournal,
    aresume_stored,
    arun_stored,
    resume_stored,
    run_stored,
)
from agentcore.store.runs import (
    ApprovalRecord,
    AuditEntry,
    ExecutionRecord,
    RunRecord,
    RunStore,
    seal,
    unseal,
)
from agentcore.store.sealing import (
    ENVELOPE_FORMAT,
)

__all__ = [
    "ENVELOPE_FORMAT",
    "ApprovalRecord",
    "AuditEntry",
    "ExecutionJournal",
    "ExecutionRecord",
    "RunRecord",
    "RunStore",
    "aresume_stored",
    "arun_stored",
    "resume_stored",
    "run_stored",
    "seal",
    "unseal",
]
