"""Text encodings of Shapefile ``.dbf`` and CSV files (private; used by :mod:`gisplan.io.layers`).

Vietnamese survey files come in UTF-8, in Windows-1258 (Excel's "CSV" on a Vietnamese Windows, ArcGIS and
MapInfo with a ``.cpg`` of ``1258``) and in the two legacy font encodings TCVN3 (ABC, the ``.VnTime`` fonts) and
VNI (VNI-Windows), which no standard codec knows.  :func:`decode_text` decodes all of them to NFC Unicode.
A file whose encoding is neither stated nor UTF-8 is refused by the callers with :func:`preview`, which shows a
sample of its text decoded each way so that the user can tell which one reads right.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

#: The encodings named in messages, with what a user knows them by.
ENCODINGS_HINT = "utf-8, cp1258 (Windows-1258), tcvn3 (TCVN3/ABC, .VnTime fonts) or vni (VNI-Windows)"

# TCVN3 (ABC): one byte per letter; toned capitals use the same bytes in the capital fonts (.VnTimeH), so they
# decode to small letters; the seven capitals with their own bytes are Ă Â Đ Ê Ô Ơ Ư.
_TCVN3_BYTES = {
    0xA1: "Ă", 0xA2: "Â", 0xA3: "Ê", 0xA4: "Ô", 0xA5: "Ơ", 0xA6: "Ư", 0xA7: "Đ",
    0xA8: "ă", 0xA9: "â", 0xAA: "ê", 0xAB: "ô", 0xAC: "ơ", 0xAD: "ư", 0xAE: "đ",
    0xB5: "à", 0xB6: "ả", 0xB7: "ã", 0xB8: "á", 0xB9: "ạ",
    0xBB: "ằ", 0xBC: "ẳ", 0xBD: "ẵ", 0xBE: "ắ", 0xC6: "ặ",
    0xC7: "ầ", 0xC8: "ẩ", 0xC9: "ẫ", 0xCA: "ấ", 0xCB: "ậ",
    0xCC: "è", 0xCE: "ẻ", 0xCF: "ẽ", 0xD0: "é", 0xD1: "ẹ",
    0xD2: "ề", 0xD3: "ể", 0xD4: "ễ", 0xD5: "ế", 0xD6: "ệ",
    0xD7: "ì", 0xD8: "ỉ", 0xDC: "ĩ", 0xDD: "í", 0xDE: "ị",
    0xDF: "ò", 0xE1: "ỏ", 0xE2: "õ", 0xE3: "ó", 0xE4: "ọ",
    0xE5: "ồ", 0xE6: "ổ", 0xE7: "ỗ", 0xE8: "ố", 0xE9: "ộ",
    0xEA: "ờ", 0xEB: "ở", 0xEC: "ỡ", 0xED: "ớ", 0xEE: "ợ",
    0xEF: "ù", 0xF1: "ủ", 0xF2: "ũ", 0xF3: "ú", 0xF4: "ụ",
    0xF5: "ừ", 0xF6: "ử", 0xF7: "ữ", 0xF8: "ứ", 0xF9: "ự",
    0xFA: "ỳ", 0xFB: "ỷ", 0xFC: "ỹ", 0xFD: "ý", 0xFE: "ỵ",
}  # fmt: skip
_TCVN3_TABLE = {b: chr(b) for b in range(256)} | _TCVN3_BYTES

# VNI-Windows: a base letter followed by one mark byte (shown here as the Windows-1252 characters they are),
# plus a few letters of one byte.  Lower-case forms; capitals use the capital mark bytes.
_VNI_TONES = {"ø": "\u0300", "ù": "\u0301", "û": "\u0309", "õ": "\u0303", "ï": "\u0323"}
_VNI_HAT = {"á": "\u0301", "à": "\u0300", "å": "\u0309", "ã": "\u0303", "ä": "\u0323"}  # after â ê ô
_VNI_BREVE = {"é": "\u0301", "è": "\u0300", "ú": "\u0309", "ü": "\u0303", "ë": "\u0323"}  # after ă
_VNI_SINGLE = {"ñ": "đ", "ô": "ơ", "ö": "ư", "ì": "ì", "í": "í", "æ": "ỉ", "ó": "ĩ", "ò": "ị", "î": "ỵ"}


def _vni_pairs() -> dict[str, str]:
    pairs: dict[str, str] = {}
    for base in "aeouy":
        for mark, tone in _VNI_TONES.items():
            pairs[base + mark] = base + tone
    for base in "aeo":
        pairs[base + "â"] = base + "\u0302"
        for mark, tone in _VNI_HAT.items():
            pairs[base + mark] = base + "\u0302" + tone
    pairs["aê"] = "a\u0306"
    for mark, tone in _VNI_BREVE.items():
        pairs["a" + mark] = "a\u0306" + tone
    for horn, letter in (("ô", "ơ"), ("ö", "ư")):
        for mark, tone in _VNI_TONES.items():
            pairs[horn + mark] = letter + tone
    pairs |= _VNI_SINGLE
    out = {k: unicodedata.normalize("NFC", v) for k, v in pairs.items()}
    out |= {k.upper(): v.upper() for k, v in out.items()}
    return out


_VNI = _vni_pairs()
_VNI_RE = re.compile("|".join(re.escape(k) for k in sorted(_VNI, key=len, reverse=True)))

_ALIASES = {
    "utf8": "utf-8",
    "65001": "utf-8",
    "1258": "cp1258",
    "cp1258": "cp1258",
    "windows1258": "cp1258",
    "ansi1258": "cp1258",
    "tcvn3": "tcvn3",
    "tcvn": "tcvn3",
    "abc": "tcvn3",
    "tcvn5712": "tcvn3",
    "vni": "vni",
    "vniwindows": "vni",
    "vniwin": "vni",
    "88591": "latin-1",
}


def canonical_encoding(name: str) -> str:
    """The encoding ``name`` (also as a ``.cpg`` file states it: ``UTF-8``, ``1258``, ``CP1258``, ``TCVN3``)
    as ``utf-8``, ``cp1258``, ``tcvn3``, ``vni`` or another Python codec name.

    Raises
    ------
    ValueError
        For a name that is no known encoding.
    """
    key = re.sub(r"[\s_\-.]", "", str(name)).lower()
    if key in _ALIASES:
        return _ALIASES[key]
    if key.isdigit():  # a Windows code page number, as ArcGIS writes it into .cpg files
        key = f"cp{key}"
    try:
        return codecs.lookup(key).name
    except LookupError:
        raise ValueError(
            f"unknown text encoding {name!r}; use {ENCODINGS_HINT} / bảng mã {name!r} không xác định"
        ) from None


def decode_text(raw: bytes, encoding: str) -> str:
    """Decode ``raw`` from ``encoding`` (a :func:`canonical_encoding` name) to NFC Unicode.

    Raises
    ------
    UnicodeDecodeError
        When ``raw`` is not valid in ``encoding``.
    """
    if encoding == "tcvn3":
        text = "".join(_TCVN3_TABLE[b] for b in raw)
    elif encoding == "vni":
        text = _VNI_RE.sub(lambda m: _VNI[m.group(0)], raw.decode("cp1252", errors="strict"))
    else:
        text = raw.decode(encoding)
    return unicodedata.normalize("NFC", text)


def is_utf8(raw: bytes) -> bool:
    """Whether ``raw`` is valid UTF-8 (plain ASCII included)."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def preview(raw: bytes) -> str:
    """``raw`` decoded as cp1258, tcvn3 and vni, for a message that lets the user pick the right one."""
    shown = []
    for enc in ("cp1258", "tcvn3", "vni"):
        try:
            shown.append(f"{enc}: {decode_text(raw[:60], enc)!r}")
        except UnicodeDecodeError:
            continue
    return "; ".join(shown)
