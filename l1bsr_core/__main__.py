"""``python -m l1bsr_core``: see :mod:`l1bsr_core.cli`."""

import sys

from .cli import main

sys.exit(main())
