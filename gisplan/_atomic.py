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
  output folder, published all-or-nothing (a new folder swapped in, never file
  by file over the old; see its docstring for the exact guarantee).
"""

from __future__ import annotations

import contextlib
import errno
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
        raise FileNotFoundError(
            f"cannot write {path}: folder {parent} does not exist; create it first "
            f"/ không ghi được {path}: thư mục {parent} không tồn tại; hãy tạo thư mục trước"
        )
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
            raise FileNotFoundError(
                f"the writer of {target} did not create its temporary file {tmp} "
                f"/ bộ ghi {target} không tạo tệp tạm {tmp}"
            )
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


#: Most files of its own that a user may keep in an output folder written again (they are carried over).
MAX_FOREIGN_FILES = 1000


def _foreign_entries(target: Path, staging: Path) -> list[Path]:
    """Entries of the existing output folder ``target`` that the new output in ``staging`` does not write.

    Regular files are carried into the new folder; a folder, link or special file the new output does not also
    hold means ``target`` is not an output folder (``--out ~``): refused, nothing moved.
    """
    foreign: list[Path] = []
    pending = [Path()]
    while pending:
        rel = pending.pop()
        for entry in sorted(os.scandir(target / rel), key=lambda e: e.name):
            sub = rel / entry.name
            if (staging / sub).is_dir() and entry.is_dir(follow_symlinks=False):
                pending.append(sub)
            elif (staging / sub).exists():
                if entry.is_dir(follow_symlinks=False) or entry.is_symlink():
                    raise IsADirectoryError(
                        f"cannot write {staging / sub} over {target / sub}, which is a folder or a link; "
                        f"choose a new output folder / không ghi được {staging / sub} đè lên {target / sub} vì đó là "
                        "thư mục hoặc liên kết; hãy chọn thư mục kết quả mới"
                    )
            elif entry.is_file(follow_symlinks=False):
                foreign.append(sub)
            else:
                raise FileExistsError(
                    f"{target} is not an output folder: it holds {sub.as_posix()!r}, which this output does not "
                    "write; choose a new or empty output folder (chọn thư mục kết quả mới hoặc rỗng)"
                )
    if len(foreign) > MAX_FOREIGN_FILES:
        raise FileExistsError(
            f"{target} holds {len(foreign):,} files that this output does not write; choose a new or empty "
            "output folder (chọn thư mục kết quả mới hoặc rỗng)"
        )
    return foreign


def _carry(src: Path, dest: Path) -> None:
    """Put the user's file ``src`` at ``dest`` too: a hard link (same bytes, no copy), or a copy where links fail."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy2(src, dest)


def _swap_in(staging: Path, target: Path) -> None:
    """Replace the folder ``target`` by the complete folder ``staging``: two renames, the old one removed after.

    If the first rename fails (a file in ``target`` is open in a program that locks it, as Excel does on Windows),
    nothing has changed.  If the second fails, the old folder is put back.
    """
    old = target.parent / f".{target.name}.{secrets.token_hex(6)}.old"
    try:
        os.rename(target, old)
    except OSError as exc:
        raise PermissionError(
            exc.errno,
            f"cannot replace the output folder {target}: {exc.strerror or exc}; a file in it may be open in another "
            "program (Excel, QGIS): close it and run again; nothing was changed (không thay được thư mục kết quả: "
            "hãy đóng tệp đang mở rồi chạy lại)",
            str(target),
        ) from exc
    try:
        os.rename(staging, target)
    except OSError:
        os.rename(old, target)
        raise
    _fsync_dir(target.parent)
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a staging folder for a whole output folder; publish it in one step when the block succeeds.

    The output is published all-or-nothing, in every case:

    - ``path`` does not exist: the staging folder is renamed to ``path``.
    - ``path`` already exists (e.g. a second ``gisplan run --out DIR``): the user's own files in it (files the
      block did not write; at most :data:`MAX_FOREIGN_FILES`) are hard-linked (or copied) into the staging
      folder, then the old folder is renamed aside, the staging folder renamed to ``path`` and the old folder
      removed.  A reader sees the old folder or the new one, never files of both; when the old folder cannot
      be moved (a file in it locked by another program) nothing changes and :class:`PermissionError` says so.
      A folder that holds sub-folders, links or special files the block did not write is not an output folder
      (``--out ~``) and is refused with :class:`FileExistsError` before anything moves.

    On any exception in the block, nothing is published and the staging folder is removed.

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
    FileExistsError
        When ``path`` is a folder that holds other folders or too many files of its own.
    PermissionError
        When the old folder cannot be replaced (nothing was changed).
    """
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(
            errno.ENOTDIR,
            f"cannot write an output folder at {target}: a file of that name exists; give a folder name "
            f"/ không ghi được thư mục kết quả tại {target}: đã có một tệp trùng tên; hãy cho tên thư mục",
            str(target),
        )
    staging = _staging_dir(target)
    try:
        yield staging
        for rel in sorted(p.relative_to(staging) for p in staging.rglob("*") if p.is_file()):
            _fsync_file(staging / rel)
        if not target.exists():
            os.rename(staging, target)
            _fsync_dir(target.parent)
            return
        if Path.cwd().resolve().is_relative_to(target.resolve()):
            raise FileExistsError(
                errno.EEXIST,
                f"cannot replace {target}: it is (or holds) the current folder; give a sub-folder such as "
                f"{target / 'out'} (hãy chọn một thư mục con)",
                str(target),
            )
        for rel in _foreign_entries(target, staging):
            _carry(target / rel, staging / rel)
        _swap_in(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
