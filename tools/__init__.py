"""Ready-made tool packs for agentcore agents."""

from tools.sql import SQLDatabase

__all__ = ["SQLDatabase"]
