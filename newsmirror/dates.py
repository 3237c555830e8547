"""Reading the dates that pages and feeds print.

Every function returns a tz-aware datetime or ``None``: an unreadable date is never replaced by
"now" (the system we replace wrote ``<!--NaN-->`` and wrong dates that way).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

TAIPEI = timezone(timedelta(hours=8), "Asia/Taipei")  # no DST since 1979: a fixed offset is exact
UTC = timezone.utc

_SLASHED = re.compile(
    r"(?P<y>\d{4})[/.-](?P<m>\d{1,2})[/.-](?P<d>\d{1,2})(?:[ T]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?"
)


def parse_datetime(text: str | None, default_tz: timezone = TAIPEI) -> datetime | None:
    """ISO 8601, RFC 822 or ``YYYY/MM/DD HH:MM``; naive times are taken in ``default_tz``."""
    if not text:
        return None
    text = text.strip()
    if not text:
        return None
    value = _iso(text) or _rfc822(text) or _slashed(text)
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=default_tz)
    return value


def _iso(text: str) -> datetime | None:
    candidate = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        return datetime.fromisoformat(candidate)
    except ValueError:
        return None


def _rfc822(text: str) -> datetime | None:
    if not re.search(r"[A-Za-z]{3}", text):
        return None
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


def _slashed(text: str) -> datetime | None:
    m = _SLASHED.search(text)
    if not m:
        return None
    try:
        return datetime(
            int(m["y"]), int(m["m"]), int(m["d"]),
            int(m["H"] or 0), int(m["M"] or 0), int(m["S"] or 0),
        )
    except ValueError:
        return None


def utc_iso_ms(value: datetime) -> str:
    """``2023-09-11T12:40:00.000Z`` -- the sample format's ``date``."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def epoch_ms(value: datetime) -> int:
    """Milliseconds since the epoch, computed exactly (no float rounding)."""
    delta = value.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
