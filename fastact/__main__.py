"""``python -m fastact [COMMAND ...]``: the ``fastact`` command (fastact/cli)."""

import sys

from fastact.cli import main

sys.exit(main())
