"""The exception family of gisplan.

Every error a user can cause derives from :class:`GisplanError`. Errors about
input data carry a list of :class:`Problem` records so that one exception can
report every problem at once, each with file, layer, row, column, value and a
hint on how to fix it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem found in an input.

    Parameters
    ----------
    message
        What is wrong, in plain words.
    file, layer, row, column, value
        Where it is; any may be ``None`` when it does not apply.  ``row`` is the
        feature's id where the layer has one, otherwise its 0-based position.
    hint
        What would fix it.
    """

    message: str
    file: str | None = None
    layer: str | None = None
    row: object | None = None
    column: str | None = None
    value: object | None = None
    hint: str | None = None

    def __str__(self) -> str:
        where = []  # "row / dòng P2": each place named in both languages, its value once
        for value, given, label in (
            (self.file, bool(self.file), "file / tệp"),
            (self.layer, bool(self.layer), "layer / lớp"),
            (self.row, self.row is not None, "row / dòng"),
            (self.column, bool(self.column), "column / cột"),
        ):
            if given:
                where.append(f"{label} {value}")
        text = f"{', '.join(where)}: {self.message}" if where else self.message
        if self.value is not None:
            text += f" (value / giá trị: {self.value!r})"
        if self.hint:
            text += f". Fix / Cách sửa: {self.hint}"
        return text


def did_you_mean(
    name: object,
    options: Iterable[object],
    *,
    prefix: str = "",
    n: int = 3,
    listing: str = "valid names",
    listing_vi: str = "các tên hợp lệ",
) -> str:
    """A fix hint for an unknown ``name``: the nearest of ``options``, or a list of them.

    ``prefix`` is put before every suggestion (a key path such as ``"wifi."``).  The hint is written in English
    and Vietnamese ("English / Tiếng Việt"); ``listing`` and ``listing_vi`` head the list of options when none is
    near.

    Examples
    --------
    >>> did_you_mean("MH.STX", ["MH.STD", "HH.STD", "TR.EARTH"])
    "did you mean 'MH.STD' or 'HH.STD'? / có phải là 'MH.STD' hoặc 'HH.STD'?"
    >>> did_you_mean("budjet", ["budget_vnd"], prefix="wifi.")
    "did you mean 'wifi.budget_vnd'? / có phải là 'wifi.budget_vnd'?"
    >>> did_you_mean("x", ["a", "b"])
    'valid names: a, b / các tên hợp lệ: a, b'
    """
    import difflib

    opts = [str(o) for o in options]
    near = difflib.get_close_matches(str(name), opts, n=n, cutoff=0.5)
    if near:
        names = [repr(f"{prefix}{x}") for x in near]
        return f"did you mean {' or '.join(names)}? / có phải là {' hoặc '.join(names)}?"
    shown = ", ".join(f"{prefix}{o}" for o in sorted(opts)[:12]) + (" ..." if len(opts) > 12 else "")
    return f"{listing}: {shown} / {listing_vi}: {shown}"


class GisplanError(Exception):
    """Base class of every error gisplan raises on purpose."""


class ProblemsError(GisplanError, ValueError):
    """An error that reports one or more :class:`Problem` records at once."""

    def __init__(self, summary: str, problems: list[Problem] | None = None) -> None:
        self.summary = summary
        self.problems: list[Problem] = list(problems or [])
        super().__init__(self._format())

    def _format(self) -> str:
        if not self.problems:
            return self.summary
        lines = [f"{self.summary} ({len(self.problems)} problem(s)):"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class LayerError(ProblemsError):
    """A layer file or GeoDataFrame failed to read or validate."""


class CRSError(GisplanError, ValueError):
    """A missing, mixed or unsupported coordinate reference system."""


class CatalogError(ProblemsError):
    """The cost catalog or an override of it is invalid."""


class ScenarioError(ProblemsError):
    """A scenario file is invalid; problems name the key path (``wifi.budget_vnd``)."""


class RoutingError(GisplanError, ValueError):
    """A routing problem cannot be solved, e.g. terminals in different components."""

    def __init__(self, message: str, *, unreachable: list[object] | None = None) -> None:
        self.unreachable = list(unreachable or [])
        super().__init__(message)


class PlanningError(GisplanError, ValueError):
    """A planner cannot produce a plan from its inputs (e.g. a zone outside the data)."""


class SitingError(GisplanError, ValueError):
    """A site-selection problem is malformed or infeasible."""


class StoreError(GisplanError, RuntimeError):
    """The version store failed; the store is left as it was before the call."""


class ConflictError(StoreError):
    """Another writer changed the store at the same time; retry the save."""


class UploadError(GisplanError, ValueError):
    """An uploaded file was refused (too large, unsafe archive member, unknown format)."""
