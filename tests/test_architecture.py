"""The library's layering, as written in pyproject.toml's [tool.importlinter] contracts.

The contracts (checked with import-linter, a maintained tool) say: the stages import only the stages below them
(layers in -> catalog -> routing -> planners -> outputs and store -> workflow -> CLI), the two planners never
import each other, data never imports planners, and nothing in the library imports streamlit or the app.
On top of them, no module of the library takes part in an import cycle, function-level imports included.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command; lint_imports_command()",
            "--no-cache",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    kept = result.stdout.count(" KEPT")
    assert kept == len(config["contracts"]) >= 5, result.stdout


def _module_graph() -> nx.DiGraph:
    graph = grimp.build_graph("gisplan", cache_dir=None)
    g = nx.DiGraph()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if imported.startswith("gisplan"):
                g.add_edge(module, imported)
    return g


def test_no_import_cycles() -> None:
    g = _module_graph()
    # a package's __init__ re-exports its modules: importing a sibling through the package name is what makes a
    # hidden circle, so edges into an __init__ (the package itself) from inside that package are kept.
    cycles = [c for c in nx.simple_cycles(g) if len(c) > 1]
    assert not cycles, f"import cycles: {cycles[:5]}"


def test_every_subpackage_names_what_it_offers() -> None:
    import importlib

    for pkg in ("io", "catalog", "routing", "underground", "wifi", "outputs", "store", "workflow", "demo", "cli"):
        module = importlib.import_module(f"gisplan.{pkg}")
        assert module.__doc__ and len(module.__doc__) > 40, pkg
        exported = getattr(module, "__all__", None)
        assert exported, f"gisplan.{pkg} has no __all__"
        for name in exported:
            assert hasattr(module, name), f"gisplan.{pkg}.__all__ names {name!r}, which it does not define"


@pytest.mark.parametrize("page", sorted((ROOT / "app" / "views").glob("*.py")), ids=lambda p: p.stem)
def test_app_pages_do_no_domain_work(page: Path) -> None:
    """Pages read widgets and show results: no geometry, no YAML, no money arithmetic, no store writes of their own."""
    text = page.read_text(encoding="utf-8")
    for banned in (
        "import yaml",
        "shapely",
        "geopandas",
        "1e9",
        "1e6",
        "groupby(",
        ".cumsum(",
        "store.save(",
        "read_run(",
    ):
        assert banned not in text, f"{page.name} does domain work ({banned!r}); move it into gisplan.workflow"
