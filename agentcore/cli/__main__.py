"""``python -m agentcore.cli``: the ``agentcore`` command."""

import sys

from agentcore.cli._main import main

sys.exit(main())
