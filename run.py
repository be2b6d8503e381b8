#!/usr/bin/env python3
"""YuCredit's one entry point: `run.py COMMAND`; the commands are in cli/ (`run.py --help`)."""

import sys

from cli.main import main

if __name__ == "__main__":
    sys.exit(main())
