"""Build gisplan's API reference (HTML) from its docstrings with pdoc, offline.

    python3 docs/build_api.py --out docs/_build/api

Every public sub-package gets a page listing what its ``__init__`` exports, with the numpydoc docstrings rendered.
Nothing is fetched from the Internet: pdoc's own templates are used without a search index that loads remote
scripts, and math and diagrams are off.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pdoc
import pdoc.render

MODULES = [
    "gisplan",
    "gisplan.io",
    "gisplan.catalog",
    "gisplan.routing",
    "gisplan.underground",
    "gisplan.wifi",
    "gisplan.wifi.radio",
    "gisplan.wifi.siting",
    "gisplan.wifi.backhaul",
    "gisplan.outputs",
    "gisplan.store",
    "gisplan.workflow",
    "gisplan.workflow.actions",
    "gisplan.demo",
    "gisplan.cli",
    "gisplan.plan",
    "gisplan.i18n",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/_build/api", help="output folder (default: docs/_build/api)")
    args = parser.parse_args(argv)
    pdoc.render.configure(docformat="numpy", math=False, mermaid=False, search=True, show_source=False)
    out = Path(args.out)
    pdoc.pdoc(*MODULES, output_directory=out)
    print(f"API reference written to {out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
