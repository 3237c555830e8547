"""Move old posts out of ``_posts/`` the way the replaced system's ``archive.sh`` did.

Jekyll rebuilds get slow with every post in ``_posts/``, so posts older than N days go to
``archived/YYYY-MM-DD/<same file name>``, where the date is the ``YYYY-MM-DD-`` prefix of the file
name.  The seen-store row follows the file (``SeenStore.move``), so later crawls still know the
article and never mirror it again.  Run it under the run lock: nothing else may touch the output
folder meanwhile (that is also what makes the "destination exists" check safe).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from .state import SeenStore

__all__ = ["ARCHIVE_DIR", "POSTS_DIR", "ArchiveResult", "archive_posts"]

POSTS_DIR = "_posts"
ARCHIVE_DIR = "archived"
_DATE_PREFIX = re.compile(r"^(\d{4})-(\d{2})-(\d{2})-")


@dataclass
class ArchiveResult:
    """What :func:`archive_posts` did (or, with ``dry_run``, would do); paths relative to the output root."""

    moved: list[tuple[str, str]] = field(default_factory=list)  # (old path, new path)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


def post_date(name: str) -> date | None:
    """The date in a post file name's ``YYYY-MM-DD-`` prefix, or ``None`` if it has no valid one."""
    match = _DATE_PREFIX.match(name)
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def archive_posts(
    output_root: Path,
    older_than_days: int,
    store: SeenStore | None,
    now: datetime | None = None,
    dry_run: bool = False,
) -> ArchiveResult:
    """Move posts dated strictly before ``(now - older_than_days).date()`` (UTC) into ``archived/``.

    A post's date is a whole UTC day, so a post is archived only when that entire day lies before the
    cutoff instant: with now = 2023-09-20T10:00Z and 7 days, posts up to 2023-09-12 move and
    2023-09-13 stays.  Files whose name has no valid date prefix, whose destination already exists
    (never overwritten) or that cannot be moved are reported in ``skipped``; dot files (``.gitkeep``)
    are ignored.  Posts without a seen-store row (e.g. from the replaced system) are moved anyway.
    If updating the seen-store fails, that post is moved back and the error is raised, so a file and
    its row never disagree; posts moved before it stay moved (their rows are already committed).
    """
    if older_than_days < 0:
        raise ValueError(f"older_than_days must be >= 0, not {older_than_days}")
    if now is None:
        now = datetime.now(timezone.utc)
    elif now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"naive datetime {now!r}: pass a timezone-aware one")
    cutoff = (now.astimezone(timezone.utc) - timedelta(days=older_than_days)).date()

    root = Path(output_root)
    posts = root / POSTS_DIR
    result = ArchiveResult()
    if not posts.is_dir():
        return result

    for entry in sorted(posts.iterdir(), key=lambda p: p.name):
        name = entry.name
        old_rel = f"{POSTS_DIR}/{name}"
        if name.startswith("."):
            continue
        if not entry.is_file() or entry.is_symlink():
            result.skipped.append((old_rel, "not a regular file"))
            continue
        day = post_date(name)
        if day is None:
            result.skipped.append((old_rel, "file name has no valid YYYY-MM-DD- date prefix"))
            continue
        if day >= cutoff:
            continue  # recent enough: stays in _posts, not worth reporting
        new_rel = f"{ARCHIVE_DIR}/{day.isoformat()}/{name}"
        dest = root / new_rel
        if dest.exists() or dest.is_symlink():
            result.skipped.append((old_rel, f"destination {new_rel} already exists"))
            continue
        if dry_run:
            result.moved.append((old_rel, new_rel))
            continue
        try:
            _move(entry, dest, store, old_rel, new_rel)
        except OSError as exc:
            result.skipped.append((old_rel, f"could not move: {exc}"))
            continue
        result.moved.append((old_rel, new_rel))
    return result


def _move(src: Path, dest: Path, store: SeenStore | None, old_rel: str, new_rel: str) -> None:
    """Move one post and its seen-store row; if the store update fails, put the file back."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(src, dest)
    if store is None:
        return
    try:
        # Normally one row; a loop also carries along rows a writer bug left on the same path.
        with store.bulk():
            while (record := store.by_post_path(old_rel)) is not None:
                store.move(record.site, record.article_id, new_rel)
    except BaseException:
        os.replace(dest, src)
        raise
