"""The ``gisplan`` command line (``gisplan --help``): a thin face over :mod:`gisplan.workflow`."""

from __future__ import annotations

from gisplan.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
