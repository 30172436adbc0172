"""``python -m lockerd`` is the same as the ``locker`` command."""

import sys

from lockerd.cli import main

sys.exit(main())
