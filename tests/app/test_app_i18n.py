"""Translations: gettext catalogs hold every key with its Vietnamese; every text the app shows has a key.

The catalogs (gisplan/locale/<lang>/LC_MESSAGES/gisplan.po) are what the app shows; the Python tables are where
developers add strings (``python -m gisplan.i18n`` brings them into the catalogs).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from gisplan import i18n

ROOT = Path(__file__).resolve().parents[2]
#: Literal keys passed to the app's tr() or the library's t()/both() in the app and the map builders.
_KEY_CALL = re.compile(r"""\b(?:tr|t|both)\(\s*f?["']([a-z][a-z0-9_]*(?:\.[A-Za-z0-9_]+)+)["']""")


def _po(lang: str) -> dict[str, tuple[str, str]]:
    with i18n._po_path(lang).open("rb") as f:
        return {str(m.context): (str(m.id), str(m.string)) for m in read_po(f) if m.id}


def test_the_catalogs_hold_every_key_with_its_vietnamese() -> None:
    entries = i18n.catalog_entries()
    vi = _po("vi")
    missing = sorted(set(entries) - set(vi))
    assert not missing, f"keys not in the Vietnamese catalog (run `python -m gisplan.i18n`): {missing[:20]}"
    empty = sorted(ctx for ctx, (_en, text) in vi.items() if not text.strip())
    assert not empty, f"messages without Vietnamese in gisplan/locale/vi/LC_MESSAGES/gisplan.po: {empty[:20]}"
    stale = sorted(ctx for ctx, (en, _text) in vi.items() if ctx in entries and entries[ctx][1] != en)
    assert not stale, f"English changed in the tables, catalog not updated (`python -m gisplan.i18n`): {stale[:20]}"
    assert set(_po("en")) == set(vi)


def test_every_key_the_app_and_the_maps_use_has_a_vietnamese_text() -> None:
    sources = [*ROOT.joinpath("app").rglob("*.py"), ROOT / "gisplan" / "outputs" / "maps.py"]
    used: dict[str, str] = {}
    for path in sources:
        for key in _KEY_CALL.findall(path.read_text(encoding="utf-8")):
            used.setdefault(key, path.name)
    assert len(used) > 80  # the pattern finds the app's keys
    lacking = sorted(
        f"{key} ({where})"
        for key, where in used.items()
        if not key.endswith(".")  # a prefix completed at run time (f"app.chart.{by}")
        and (key not in i18n.STRINGS or not i18n.t(key, "vi").strip() or i18n.t(key, "vi") == key)
    )
    assert not lacking, f"user-facing keys without Vietnamese: {lacking}"
    # the Vietnamese is not English left in place (a few words are the same in both: names, codes)
    same = sorted(k for k in used if k in i18n.STRINGS and i18n.t(k, "vi") == i18n.t(k, "en"))
    assert len(same) <= 3, same


def test_the_app_shows_the_catalog_a_translator_edited(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(i18n.LOCALE_DIR, tmp_path / "locale")
    po = tmp_path / "locale" / "vi" / "LC_MESSAGES" / "gisplan.po"
    text = po.read_text(encoding="utf-8")
    before = i18n.t("app.run.button", "vi")
    assert f'msgstr "{before}"' in text
    po.write_text(text.replace(f'msgstr "{before}"', 'msgstr "Chạy phương án"', 1), encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path / "locale")
    i18n._catalog.cache_clear()
    try:
        assert i18n.t("app.run.button", "vi") == "Chạy phương án"  # compiled from the .po at first use
        assert i18n.t("app.run.button", "en") == "Run the plan"
        # updating the catalogs keeps the translator's text
        i18n.update_catalogs(tmp_path / "locale")
        assert 'msgstr "Chạy phương án"' in po.read_text(encoding="utf-8")
    finally:
        i18n._catalog.cache_clear()


def test_a_key_added_to_the_tables_shows_before_the_catalogs_are_updated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(i18n.STRINGS, "app.test.new", ("Mới thêm", "Just added"))
    assert i18n.t("app.test.new", "vi") == "Mới thêm" and i18n.t("app.test.new", "en") == "Just added"
