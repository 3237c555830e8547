"""Reading the dates that pages, feeds and sitemaps print, and writing the posts' dates.

Every reader returns a tz-aware datetime or ``None``: an unreadable date is never replaced by
"now" (the system we replace wrote ``<!--NaN-->`` and wrong dates that way).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo

#: CNA's local time.  Taiwan has kept UTC+8 without DST since 1979, so a fixed offset is exact
#: for news dates and needs no tz database (Windows has none without the tzdata package).
TAIPEI: tzinfo = timezone(timedelta(hours=8), "Asia/Taipei")
UTC = timezone.utc

_ISO_RE = re.compile(
    r"""^(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})
        (?:[T\s](?P<h>\d{2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d+))?)?)?
        \s*(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?$""",
    re.VERBOSE | re.IGNORECASE,
)
_SLASH_RE = re.compile(
    r"(?<!\d)(?P<y>\d{4})/(?P<mo>\d{1,2})/(?P<d>\d{1,2})"
    r"(?:\s+(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?)?(?!\d)"
)
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_RFC822_RE = re.compile(
    r"""^(?:[a-z]{3,9},?\s*)?                          # optional day name
        (?P<d>\d{1,2})\s+(?P<mo>[a-z]{3})[a-z]*\.?\s+(?P<y>\d{2}|\d{4})\s+
        (?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?
        \s*(?P<tz>[+-]\d{4}|[a-z]{1,5})?$""",
    re.VERBOSE | re.IGNORECASE,
)
# RFC 822 zone names (as email.utils reads them); "CST" is US Central there, not China.
_RFC822_ZONES = {
    "UT": 0, "UTC": 0, "GMT": 0, "Z": 0,
    "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
}  # fmt: skip


def _offset(text: str) -> tzinfo:
    """``+08:00`` / ``+0800`` / ``+08`` / ``Z`` -> a fixed timezone."""
    if text.upper() == "Z":
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) > 2 else 0)
    if minutes >= 24 * 60:
        raise ValueError(f"offset out of range: {text}")
    return timezone(sign * timedelta(minutes=minutes))


def _build(m: re.Match[str], tz: tzinfo, year: int | None = None) -> datetime:
    """datetime from a match with groups y (unless ``year`` is given), mo, d and optional h, mi,
    s, f (fraction)."""
    g = m.groupdict()
    return datetime(
        year if year is not None else int(g["y"]),
        int(g["mo"]),
        int(g["d"]),
        int(g.get("h") or 0),
        int(g.get("mi") or 0),
        int(g.get("s") or 0),
        int((g.get("f") or "")[:6].ljust(6, "0")),
        tzinfo=tz,
    )


def parse_datetime(text: str | None, default_tz: tzinfo | None = None) -> datetime | None:
    """Read a date as feeds, sitemaps and CNA pages write it; ``None`` when unreadable.

    Accepts RFC 822 (``Thu, 24 Sep 2026 00:00:01 +0800``), ISO 8601 / W3C datetime (with or
    without offset, or a bare date) and CNA's ``YYYY/MM/DD HH:MM``.  A time without an offset
    is Asia/Taipei local time unless ``default_tz`` says otherwise.  Visible page text such as
    ``發稿時間：2013/08/13 11:24`` is read too (the date is searched for, not matched whole).
    It never falls back to "now": a wrong date is worse than none, because ``--since``
    filtering and post dates depend on it.
    """
    if not text or not isinstance(text, str):
        return None
    text = " ".join(text.split())
    local = default_tz or TAIPEI
    try:
        if m := _ISO_RE.match(text):
            return _build(m, _offset(m["tz"]) if m["tz"] else local)
        if m := _SLASH_RE.search(text):
            return _build(m, local)
        if (m := _RFC822_RE.match(text)) and m["mo"].lower() in _MONTHS:
            zone = m["tz"]
            if not zone:
                tz = local
            elif zone[0] in "+-":
                tz = _offset(zone)
            elif zone.upper() in _RFC822_ZONES:
                tz = timezone(timedelta(hours=_RFC822_ZONES[zone.upper()]))
            else:
                return None  # an unknown zone name would give a wrong instant
            year = int(m["y"])
            if len(m["y"]) == 2:
                year += 2000 if year < 50 else 1900
            month = _MONTHS[m["mo"].lower()]
            return datetime(year, month, int(m["d"]), int(m["h"]), int(m["mi"]), int(m["s"] or 0), tzinfo=tz)
    except (ValueError, OverflowError):  # 31 February, hour 25, offset +25:00 ...
        return None
    return None


def utc_iso_ms(value: datetime) -> str:
    """``2023-09-11T12:40:00.000Z`` -- the sample format's ``date``.

    Naive datetimes are rejected: guessing a zone is how the replaced system got dates wrong.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: pass a timezone-aware one")
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def epoch_ms(value: datetime) -> int:
    """Milliseconds since the epoch, computed exactly (no float rounding)."""
    delta = value.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def to_ms(value: datetime) -> datetime:
    """The same instant, cut to the millisecond precision posts and the seen-store keep."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)
