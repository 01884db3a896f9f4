"""Numbers, money, lengths and dates as a reader of the chosen language writes them, through Babel's CLDR data.

One format everywhere the app shows a figure (metrics, tables, charts, version lists): Vietnamese groups
thousands with a dot and writes decimals after a comma (``6.788.298.916 đ``, ``3,74 km``); English the other
way round (``6,788,298,916 VND``, ``3.74 km``).  The formats come from Babel's ``vi_VN`` and ``en`` locales, not
from format strings, so they are the ones the Unicode CLDR records for each language.  Times are shown in
Vietnam's time (UTC+7, no daylight saving), where the planners are; stored times stay in UTC.

Examples
--------
>>> vnd(6_788_298_916, "vi")
'6.788.298.916 đ'
>>> vnd(6_788_298_916, "en")
'6,788,298,916 VND'
>>> km(3.7412, "vi")
'3,74 km'
>>> number(53981, "en")
'53,981'
>>> when("2026-11-29T13:00:02Z", "vi")
'20:00 29/11/2026'
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pandas as pd
from babel.dates import format_datetime
from babel.numbers import format_decimal, format_percent

__all__ = [
    "BABEL_LOCALES",
    "VIETNAM_TIME",
    "billions",
    "frame_text",
    "km",
    "kpi_value",
    "local_date",
    "number",
    "percent",
    "vega_number_locale",
    "vnd",
    "when",
]

#: The app's languages and the Babel (CLDR) locale whose formats they use.
BABEL_LOCALES: dict[str, str] = {"vi": "vi_VN", "en": "en"}
#: Vietnam's time zone (Indochina Time, UTC+7 all year): the planners' local time.
VIETNAM_TIME = timezone(timedelta(hours=7), "ICT")
#: The currency sign written after an amount in each language: đ (đồng) in Vietnamese, the ISO code in English.
_VND_SIGN = {"vi": "đ", "en": "VND"}


def _locale(lang: str) -> str:
    try:
        return BABEL_LOCALES[lang]
    except KeyError:
        raise ValueError(
            f"unknown language {lang!r}; use one of {', '.join(BABEL_LOCALES)} "
            f"/ ngôn ngữ {lang!r} không xác định; hãy dùng một trong {', '.join(BABEL_LOCALES)}"
        ) from None


def _pattern(decimals: int, *, fixed: bool) -> str:
    if decimals <= 0:
        return "#,##0"
    return "#,##0." + ("0" if fixed else "#") * decimals


def number(value: float, lang: str, *, decimals: int = 3, fixed: bool = False) -> str:
    """``value`` with grouped thousands and at most ``decimals`` decimals (exactly, with ``fixed``).

    Not-a-number and infinities are written ``–`` (a table cell with no value).
    """
    if isinstance(value, float) and not math.isfinite(value):
        return "–"
    return str(format_decimal(value, format=_pattern(decimals, fixed=fixed), locale=_locale(lang)))


def vnd(value: float, lang: str) -> str:
    """An amount in whole đồng: ``6.788.298.916 đ`` / ``6,788,298,916 VND``."""
    return f"{number(round(value), lang, decimals=0)} {_VND_SIGN[lang]}"


def billions(value_vnd: float, lang: str, *, decimals: int = 2) -> str:
    """An amount in billions of đồng (tỷ đồng), the unit totals are read in: ``6,79`` / ``6.79``."""
    return number(value_vnd / 1_000_000_000, lang, decimals=decimals, fixed=True)


def km(value_km: float, lang: str, *, decimals: int = 2) -> str:
    """A length in kilometres: ``3,74 km`` / ``3.74 km``."""
    return f"{number(value_km, lang, decimals=decimals, fixed=True)} km"


def percent(share: float, lang: str, *, decimals: int = 1) -> str:
    """A share (0.012 = 1.2 %) as a percentage: ``1,2%`` / ``1.2%``."""
    return str(format_percent(share, format=_pattern(decimals, fixed=True) + "%", locale=_locale(lang)))


def when(value: str | datetime, lang: str) -> str:
    """A stored time (ISO 8601, UTC when it has no zone) in Vietnam's time: ``20:00 29/11/2026`` / ``Nov 29, 2026,
    8:00 PM``."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # CLDR's "short" date is two-digit-year in Vietnamese; the full year and the time first are how offices write it
    pattern = "HH:mm dd/MM/yyyy" if lang == "vi" else "MMM d, yyyy, h:mm a"
    return str(format_datetime(moment, pattern, tzinfo=VIETNAM_TIME, locale=_locale(lang)))


def local_date(value: str | datetime) -> str:
    """The day (ISO ``YYYY-MM-DD``) a stored UTC time falls on in Vietnam: for file names."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(VIETNAM_TIME).date().isoformat()


def kpi_value(key: str, value: object, lang: str) -> str:
    """A plan KPI as text, by its name's unit: ``*_vnd`` in đồng, ``*_km`` in km, ``*_gap``/``*_share``/``share_*`` as a
    percentage, years as written, counts grouped, other numbers with at most three decimals; text as it is."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "–" if value is None else str(value)
    if key.endswith("year"):
        return str(int(value))
    if key.endswith("_vnd"):
        return vnd(value, lang)
    if key.endswith("_km"):
        return km(value, lang)
    if key.endswith(("_gap", "_share")) or key.startswith("share_"):
        return percent(value, lang)
    return number(value, lang, decimals=0 if isinstance(value, int) else 3)


def vega_number_locale(lang: str) -> dict[str, object]:
    """The number locale of a Vega-Lite chart (``config.locale.number``) from Babel's symbols for ``lang``, so
    chart axes and tooltips group and separate decimals as the rest of the page does."""
    from babel.numbers import get_decimal_symbol, get_group_symbol

    loc = _locale(lang)
    return {
        "decimal": get_decimal_symbol(loc),
        "thousands": get_group_symbol(loc),
        "grouping": [3],
        "currency": ["", f" {_VND_SIGN[lang]}"],
    }


def frame_text(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A copy of ``df`` whose number columns are text in ``lang``'s format (by the column name's unit, as
    :func:`kpi_value`), for tables people read; other columns are left as they are."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_object_dtype(s) and any(_is_number(v) for v in s):
            # numbers among text or mappings (a KPI table's values): every cell as text, numbers in the language
            out[col] = [number(v, lang) if _is_number(v) else "–" if _missing(v) else str(v) for v in s]
            continue
        if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
            continue
        name = str(col)
        integral = pd.api.types.is_integer_dtype(s)
        out[col] = [
            "–"
            if pd.isna(v)
            else str(int(v))
            if name.endswith("year") or name in ("phase", "row", "seq")
            else number(v, lang, decimals=0)
            if name.endswith("_vnd") or integral
            else number(v, lang, decimals=3)
            for v in s
        ]
    return out


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))
