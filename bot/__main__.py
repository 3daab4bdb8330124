"""`python -m bot` is `tgmonitor` (for environments where the console script is not on PATH)."""

import sys

from bot.cli import main

sys.exit(main())
