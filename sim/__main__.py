"""``python -m sim``: the ``fishpond`` command line (:func:`sim.cli.main`)."""

import sys

from .cli import main

sys.exit(main())
