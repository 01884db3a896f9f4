"""The README's commands and Python example work as written, with only the core install."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")

#: Run before the example: packages that only extras install cannot be imported, so the example proves it needs none.
_BLOCK_EXTRAS = """
import importlib.abc, sys
class _NoExtras(importlib.abc.MetaPathFinder):
    BLOCKED = {BLOCKED!r}
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (an extra, blocked by tests/test_readme.py)")
        return None
sys.meta_path.insert(0, _NoExtras())
"""


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_readme_opens_with_the_two_commands():
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.S)
    assert blocks[0].strip() == 'python3 -m pip install -e ".[app]" && gisplan app'
    assert blocks[1].strip() == 'python3 -m pip install -e ".[test]" && python3 -m pytest'
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert blocks[1].strip() in ci  # CI runs the README's own test command


@pytest.mark.slow
def test_readme_python_example_runs_without_any_extra(tmp_path):
    (example,) = _python_blocks()
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    core = {"geopandas", "shapely", "pyogrio", "pyproj", "pandas", "numpy", "scipy", "networkx", "highspy", "yaml"}
    blocked = {"matplotlib", "global_land_mask", "streamlit", "streamlit_folium", "spopt"}
    assert "global-land-mask==1.0.0" in extras["demo"]  # the demo extra exists but the example does not need it
    script = _BLOCK_EXTRAS.format(BLOCKED=sorted(blocked - core)) + example
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "dd-plan" / "boq.xlsx").is_file() and (tmp_path / "dd-plan" / "plan.gpkg").is_file()
    first = result.stdout.splitlines()[0].split()
    trench_km, gap, total = float(first[0]), float(first[1]), int(first[2])
    assert trench_km > 1 and 0 <= gap < 0.1 and total > 1_000_000_000
