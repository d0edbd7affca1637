"""``python -m agentcore.emulator``: serve the Messages API on loopback."""

import sys

from agentcore.emulator._server import main

sys.exit(main())
