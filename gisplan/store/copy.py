"""Copy versions between stores (SQLite <-> PostgreSQL) with their ids, files and reviews unchanged.

Each version is verified in the source, saved in the destination with exactly its fields (so the
destination computes the same content hash, which proves nothing changed on the way) and given the
reviews it lacks there, with their original reviewers, comments and times.  Versions go oldest first,
so parents always exist.  Copying again copies only what is new: it is how a department moves its
SQLite store to PostgreSQL, and back for a laptop in the field.
"""

from __future__ import annotations

from dataclasses import dataclass

from gisplan._errors import StoreError
from gisplan.store.versions import VersionStore

__all__ = ["CopyReport", "copy_store"]


@dataclass(frozen=True)
class CopyReport:
    """What :func:`copy_store` did: versions copied, versions already there, reviews added."""

    copied: int
    present: int
    reviews_added: int


def copy_store(source: VersionStore, target: VersionStore) -> CopyReport:
    """Copy every version of ``source`` missing from ``target``, and reviews ``target`` lacks.

    Raises
    ------
    StoreError
        If a source version fails verification (nothing of it is copied), a version would get another
        id in ``target``, or the two stores hold different review histories of one version.
    """
    copied = present = added = 0
    for version in reversed(source.log()):  # oldest first: parents before children
        if not version.intact:
            raise StoreError(
                f"version {version.short_id} in {source.display} fails verification (its fields no longer hash to "
                "its id); it was not copied. Run `gisplan store verify` and restore the source from a backup "
                f"/ phương án {version.short_id} trong {source.display} không qua được kiểm tra (các trường của nó "
                "không còn khớp mã băm với mã định danh); phương án không được chép. Hãy chạy `gisplan store verify` "
                "và khôi phục kho nguồn từ bản sao lưu"
            )
        try:
            existing = target.get(version.id)
        except StoreError:
            existing = None
        if existing is None:
            saved = target.save(
                scenario_name=version.scenario_name,
                scenario_text=source.scenario_text(version.id),
                artifacts={a.name: source.artifact(version.id, a.name) for a in version.artifacts},
                kpis=version.kpis,
                author=version.author,
                message=version.message,
                parent=version.parent,
                created_at=version.created_at,
            )
            if saved.id != version.id:
                raise StoreError(
                    f"version {version.short_id} would get the id {saved.short_id} in {target.display}; "
                    "the stores disagree on the content hash / phương án "
                    f"{version.short_id} sẽ nhận mã {saved.short_id} trong {target.display}; hai kho tính mã băm "
                    "nội dung khác nhau"
                )
            copied += 1
        else:
            present += 1
        added += _copy_reviews(source, target, version.id)
    return CopyReport(copied=copied, present=present, reviews_added=added)


def _copy_reviews(source: VersionStore, target: VersionStore, vid: str) -> int:
    theirs = [(r.previous_status, r.status, r.reviewer, r.comment, r.created_at) for r in source.reviews(vid)]
    ours = [(r.previous_status, r.status, r.reviewer, r.comment, r.created_at) for r in target.reviews(vid)]
    if ours != theirs[: len(ours)]:
        raise StoreError(
            f"version {vid[:12]} has other reviews in {target.display} than in {source.display}; "
            "its review history was not copied. Compare them with `gisplan show` in both stores "
            f"/ phương án {vid[:12]} có lịch sử thẩm định trong {target.display} khác với trong {source.display}; "
            "lịch sử thẩm định không được chép. Hãy so sánh bằng `gisplan show` ở cả hai kho"
        )
    for _, status, reviewer, comment, created_at in theirs[len(ours) :]:
        target.review(vid, status=status, reviewer=reviewer, comment=comment, created_at=created_at)
    return len(theirs) - len(ours)
