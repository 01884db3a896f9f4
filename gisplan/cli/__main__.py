"""``python -m gisplan.cli``: the same as the ``gisplan`` command."""

from __future__ import annotations

import sys

from gisplan.cli.main import main

sys.exit(main())
