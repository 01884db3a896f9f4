"""The API reference builds from the docstrings, offline, and documents every public sub-package."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUBPACKAGES = ("io", "catalog", "routing", "underground", "wifi", "outputs", "store", "workflow", "demo", "cli")


@pytest.mark.slow
def test_api_reference_builds_offline(tmp_path):
    out = tmp_path / "api"
    result = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "build_api.py"), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for pkg in SUBPACKAGES:
        page = out / "gisplan" / f"{pkg}.html"
        assert page.is_file(), f"no reference page for gisplan.{pkg}"
    steiner = (out / "gisplan" / "routing.html").read_text(encoding="utf-8")
    assert "steiner_tree" in steiner and "graph_from_roads" in steiner
    # offline: no page loads a script, style or font from another host
    for page in out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        remote = re.findall(r"""<(?:script|link|img)[^>]+(?:src|href)=["'](https?:)?//""", text)
        assert not remote, f"{page.name} loads {remote[:3]} from the Internet"
