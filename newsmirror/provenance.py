"""Which signal a publication date came from (meta, JSON-LD, ``<time>``, the visible text).

Wrong dates were the replaced system's worst bug, and when a date looks wrong the first question
is "where did it come from?".  Rather than make every site parser report it, this reads the same
page signals the parsers use, in their order of trust, and names the first that gives exactly the
date the parser chose; a time written without an offset is marked as read in the site's zone.
It never changes a date.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from .dates import parse_datetime
from .document import PageDocument

_META_KEYS = (
    "article:published_time",
    "datePublished",
    "pubdate",
    "date",
    "DC.date.issued",
    "og:article:published_time",
)
_PROBE = timezone(timedelta(hours=-11, minutes=-17))  # an offset no site uses: tells naive times


def date_signal(page: PageDocument, jsonld: dict[str, Any] | None, published: datetime) -> str:
    """``"meta article:published_time"``, ``"JSON-LD datePublished"``, ``"<time datetime>"`` or
    ``"visible text (the site's time zone)"``; a naive time gets ``" (no offset: ...)"``."""
    candidates: list[tuple[str, str | None]] = [
        ("meta article:published_time", page.meta_content(_META_KEYS[0]))
    ]
    candidates.append(("JSON-LD datePublished", str((jsonld or {}).get("datePublished") or "") or None))
    candidates += [(f"meta {key}", page.meta_content(key)) for key in _META_KEYS[1:]]
    candidates += [("<time datetime>", value) for value in page.time_datetimes()]
    for label, text in candidates:
        if text and parse_datetime(text, default_tz=published.tzinfo) == published:
            return label + _zone_note(text)
    return "visible text (the site's time zone)"


def _zone_note(text: str) -> str:
    return (
        " (no offset: the site's time zone)"
        if parse_datetime(text, default_tz=_PROBE).tzinfo is _PROBE
        else ""
    )
