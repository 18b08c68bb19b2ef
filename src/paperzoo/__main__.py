"""``python -m paperzoo`` (and ``torchrun -m paperzoo``) runs the CLI."""

import sys

from .cli import main

sys.exit(main())
