"""Atomic file writing: an export is either complete or not there at all.

Every writer here stages its output next to the destination (same folder, so
the same file system), flushes it to disk with ``fsync`` and only then moves it
into place with :func:`os.replace`, which is atomic on POSIX and Windows.  A
reader therefore sees either the previous file or the new one, never a
half-written one; when the writer fails, the staged file is removed and the
previous file is left as it was.

Four helpers:

- :func:`atomic_write_bytes` and :func:`atomic_write_text` for content held in
  memory;
- :func:`atomic_path`, a context manager yielding a temporary path for writers
  that need a file name (GDAL/pyogrio, openpyxl, sqlite3);
- :func:`atomic_dir`, a context manager yielding a staging folder for a whole
  output folder (see its docstring for the exact guarantee).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_dir", "atomic_path", "atomic_write_bytes", "atomic_write_text"]


def _fsync_file(path: Path) -> None:
    """Flush the content of the file at ``path`` to disk."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    """Flush a folder's entries (the rename) to disk; POSIX only, Windows has no directory handles."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _staging_dir(path: Path) -> Path:
    """Create and return a hidden staging folder beside ``path`` (same file system).

    Made with :func:`os.mkdir`, so it has the mode any new folder gets (0777 less the umask), not the private
    0700 of :func:`tempfile.mkdtemp`: :func:`atomic_dir` renames it into the output folder, which colleagues
    and web servers must be able to read as usual.
    """
    parent = path.parent
    if not parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: folder {parent} does not exist; create it first")
    for _ in range(100):
        staging = parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            os.mkdir(staging)
        except FileExistsError:
            continue
        return staging
    raise FileExistsError(f"cannot create a staging folder beside {path}: 100 names taken")  # pragma: no cover


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write to; move it onto ``path`` when the block succeeds.

    The temporary path has the same file name as ``path`` (so drivers that look
    at the extension, such as GDAL's GeoPackage driver, behave the same) inside
    a hidden staging folder next to ``path``.  It does not exist when the block
    starts.  On success the file is fsynced and moved onto ``path`` with
    :func:`os.replace`; side files the writer left in the staging folder (e.g.
    SQLite journals) are discarded.  On any exception the staging folder is
    removed and ``path`` keeps its previous content.

    Parameters
    ----------
    path
        The destination file; its folder must exist.

    Yields
    ------
    pathlib.Path
        Where the writer must write.

    Raises
    ------
    FileNotFoundError
        When the destination folder is missing, or the block wrote nothing.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_path(out) as tmp:
    ...     _ = tmp.write_text("hello")
    >>> out.read_text()
    'hello'
    """
    target = Path(path)
    staging = _staging_dir(target)
    try:
        tmp = staging / target.name
        yield tmp
        if not tmp.is_file():
            raise FileNotFoundError(f"the writer of {target} did not create its temporary file {tmp}")
        _fsync_file(tmp)
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, :func:`os.replace`).

    Returns
    -------
    pathlib.Path
        The written path.
    """
    target = Path(path)
    with atomic_path(target) as tmp, open(tmp, "wb") as handle:
        handle.write(data)
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically, encoded with ``encoding``, newlines kept as given.

    Returns
    -------
    pathlib.Path
        The written path.
    """
    return atomic_write_bytes(path, text.encode(encoding))


def _staged_files(root: Path) -> list[Path]:
    """Files under ``root`` relative to it, sorted, ``manifest.json`` files last (the completion marker)."""
    files = [p.relative_to(root) for p in root.rglob("*") if p.is_file()]
    return sorted(files, key=lambda p: (p.name == "manifest.json", p.parts))


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a staging folder for a whole output folder; publish its files when the block succeeds.

    Guarantee, in two cases:

    - ``path`` does not exist: the staging folder is renamed to ``path`` in one
      step, so the folder appears complete or not at all.
    - ``path`` already exists (e.g. a second ``gisplan run --out DIR``): each
      staged file is fsynced and moved over its namesake with
      :func:`os.replace`, one file at a time, ``manifest.json`` last.  Every file
      is then whole, old or new; files of ``path`` that the block did not write
      are left alone (the folder is never deleted, it may hold the user's own
      files).  A crash in the middle of publishing can leave some files new and
      some old; the manifest, written last, tells which run is complete.

    On any exception in the block, nothing is published and the staging folder
    is removed.

    Parameters
    ----------
    path
        The output folder; its parent folder must exist.

    Yields
    ------
    pathlib.Path
        The staging folder to write into (beside ``path``).

    Raises
    ------
    NotADirectoryError
        When ``path`` exists and is not a folder.
    """
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(f"cannot write an output folder at {target}: a file of that name exists")
    staging = _staging_dir(target)
    try:
        yield staging
        files = _staged_files(staging)
        for rel in files:
            _fsync_file(staging / rel)
        if not target.exists():
            os.rename(staging, target)
            _fsync_dir(target.parent)
            return
        for rel in files:
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / rel, dest)
            _fsync_dir(dest.parent)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
