"""python -m tests.lab start|stop|status|seed|knob|requests|reset --dir .lab (see tests/lab/cli.py)."""

import sys

from tests.lab.cli import main

sys.exit(main())
