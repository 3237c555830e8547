"""Reading the dates that pages, feeds and sitemaps print, and writing the posts' dates.

Every reader returns a tz-aware datetime or ``None``: an unreadable date is never replaced by
"now" (the system we replace wrote ``<!--NaN-->`` and wrong dates that way).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache

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
# Feeds in other languages write RFC 822 dates with their own month names ("Seg, 24 Set 2018").
_FEED_MONTHS = {
    **_MONTHS,
    "fev": 2, "abr": 4, "mai": 5, "ago": 8, "set": 9, "out": 10, "dez": 12,  # Portuguese
    "ene": 1, "dic": 12,  # Spanish (abr, ago as above)
    "mrz": 3, "okt": 10,  # German (mai, dez as above)
}  # fmt: skip
_RFC822_RE = re.compile(
    r"""^(?:[a-z]{2,9},?\s*)?                          # optional day name
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


def _build(m: re.Match[str], tz: tzinfo | None, year: int | None = None) -> datetime:
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
    value = _parsed(text)
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=default_tz or TAIPEI)


@lru_cache(maxsize=64)
def _parsed(text: str) -> datetime | None:
    """What :func:`parse_datetime` reads in ``text``: naive when it names no zone.  Cached: a
    page's date is read several times (its meta, the date provenance, the zone note), and a
    datetime is immutable."""
    text = " ".join(text.split())
    try:
        if m := _ISO_RE.match(text):
            return _build(m, _offset(m["tz"]) if m["tz"] else None)
        if m := _SLASH_RE.search(text):
            return _build(m, None)
        if (m := _RFC822_RE.match(text)) and m["mo"].lower() in _FEED_MONTHS:
            zone = m["tz"]
            if not zone:
                tz = None
            elif zone[0] in "+-":
                tz = _offset(zone)
            elif zone.upper() in _RFC822_ZONES:
                tz = timezone(timedelta(hours=_RFC822_ZONES[zone.upper()]))
            else:
                return None  # an unknown zone name would give a wrong instant
            year = int(m["y"])
            if len(m["y"]) == 2:
                year += 2000 if year < 50 else 1900
            month = _FEED_MONTHS[m["mo"].lower()]
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


# --------------------------------------------------------------------------- zones


def zone_named(name: str) -> tzinfo:
    """The IANA zone ``name`` (``Asia/Shanghai``); ``ValueError`` naming it if unknown."""
    if name in ("UTC", "Etc/UTC"):
        return UTC
    if name == "Asia/Taipei":
        return TAIPEI
    try:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    except ImportError as exc:  # pragma: no cover - Python < 3.9
        raise ValueError(f"{name!r}: no zoneinfo module") from exc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{name!r} is not a known IANA time zone (e.g. 'Asia/Shanghai')") from exc


#: Zones of countries with a single zone, by country-code top-level domain.  Used only for times a
#: page writes without an offset when the source names no ``timezone``: a .cn page's "09:00" is
#: Beijing time far more often than it is UTC.
_CCTLD_ZONES = {
    "cn": "Asia/Shanghai", "tw": "Asia/Taipei", "hk": "Asia/Hong_Kong", "mo": "Asia/Macau",
    "sg": "Asia/Singapore", "my": "Asia/Kuala_Lumpur", "jp": "Asia/Tokyo", "kr": "Asia/Seoul",
    "th": "Asia/Bangkok", "vn": "Asia/Ho_Chi_Minh", "ph": "Asia/Manila", "in": "Asia/Kolkata",
    "de": "Europe/Berlin", "fr": "Europe/Paris", "at": "Europe/Vienna", "ch": "Europe/Zurich",
    "it": "Europe/Rome", "nl": "Europe/Amsterdam", "be": "Europe/Brussels", "pl": "Europe/Warsaw",
    "cz": "Europe/Prague", "se": "Europe/Stockholm", "no": "Europe/Oslo", "dk": "Europe/Copenhagen",
    "fi": "Europe/Helsinki", "uk": "Europe/London", "ie": "Europe/Dublin", "tr": "Europe/Istanbul",
    "gr": "Europe/Athens", "hu": "Europe/Budapest", "ua": "Europe/Kyiv", "il": "Asia/Jerusalem",
}  # fmt: skip


def zone_for(name: str | None, host: str | None = None) -> tzinfo:
    """Zone for times without an offset: the source's ``timezone`` if given, else the zone of
    the host's country domain, else UTC."""
    if name:
        return zone_named(name)
    tld = (host or "").lower().rstrip(".").rpartition(".")[2]
    if tld in _CCTLD_ZONES:
        try:
            return zone_named(_CCTLD_ZONES[tld])
        except ValueError:  # no tz database on this machine
            return UTC
    return UTC


# --------------------------------------------------------------------------- visible text

# 2024年04月24日23:52 / 2024年4月24日 23时52分 / 2024年4月24日 下午3:05 / 2024-04-24 23:52
_CJK_RE = re.compile(
    r"(?P<y>\d{4})\s*年\s*(?P<mo>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]"
    r"(?:\s*(?:[（(]?[日月火水木金土一二三四五六天][)）]?)?\s*(?P<ampm>上午|下午|午前|午後|晚上|凌晨|早上|中午)?\s*"
    r"(?P<h>\d{1,2})\s*[:：時时点點]\s*(?P<mi>\d{1,2})(?:\s*[:：分]\s*(?:(?P<s>\d{1,2})\s*秒?)?)?)?"
)
# 24.04.2024 23:52 (German, Czech ...), 2024-04-24 23:52, 24 April 2024 23:52, April 24, 2024 11:52 PM
_DOTTED_RE = re.compile(
    r"(?<![\d.])(?P<d>\d{1,2})\.\s?(?P<mo>\d{1,2})\.\s?(?P<y>\d{4})"
    r"(?:,?\s+(?:um\s+)?(?P<h>\d{1,2})[:.](?P<mi>\d{2})(?::(?P<s>\d{2}))?)?(?!\d)"
)
_DASHED_RE = re.compile(
    r"(?<!\d)(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})(?:[T\s]+(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?)?(?!\d)"
)
_MONTH_NAMES = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_TIME = r"(?:,?\s+(?:at\s+)?(?P<h>\d{1,2})[:.](?P<mi>\d{2})(?::(?P<s>\d{2}))?\s*(?P<ampm>[ap]\.?m\.?)?)?"
_DAY_MONTH_RE = re.compile(
    rf"(?<!\d)(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\.?\s+(?P<mon>{_MONTH_NAMES})\.?,?\s+(?P<y>\d{{4}}){_TIME}",
    re.IGNORECASE,
)
_MONTH_DAY_RE = re.compile(
    rf"\b(?P<mon>{_MONTH_NAMES})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}}){_TIME}",
    re.IGNORECASE,
)
_ZONE_SUFFIX_RE = re.compile(r"^\s*\(?\s*(?:UTC|GMT)\s*(?P<off>[+-]\d{1,2}(?::?\d{2})?)?\s*\)?")


def _suffix_zone(offset: str | None) -> tzinfo:
    """``UTC``/``GMT`` -> UTC; ``UTC+8`` / ``GMT+08:00`` / ``UTC-0530`` -> that offset."""
    if not offset:
        return UTC
    sign, digits = offset[0], offset[1:].replace(":", "")
    hours, minutes = (digits[:-2], digits[-2:]) if len(digits) > 2 else (digits, "00")
    return _offset(f"{sign}{int(hours):02d}{minutes}")


def _hour(h: str | None, ampm: str | None) -> int:
    hour = int(h or 0)
    marker = (ampm or "").lower().replace(".", "")
    if marker in ("pm", "下午", "午後", "晚上") and hour < 12:
        hour += 12
    elif marker in ("am", "上午", "午前", "凌晨", "早上") and hour == 12:
        hour = 0
    return hour


def parse_visible_date(text: str | None, local: tzinfo) -> datetime | None:
    """The first date a page *shows* in ``text``: ``2024年04月24日23:52``, ``24.04.2024 23:52``,
    ``2024-04-24 23:52``, ``24 April 2024``, ``April 24, 2024 11:52 PM``.

    Shown times carry no offset (unless followed by ``UTC+8``/``GMT``), so they are read in
    ``local``, the source's zone.  ``None`` when nothing readable is found.
    """
    if not text:
        return None
    text = " ".join(text.split())
    for pattern in (_CJK_RE, _DASHED_RE, _DOTTED_RE, _DAY_MONTH_RE, _MONTH_DAY_RE):
        m = pattern.search(text)
        if not m:
            continue
        g = m.groupdict()
        month = _MONTHS[g["mon"][:3].lower()] if g.get("mon") else int(g["mo"])
        zone = local
        if g.get("h") is not None and (z := _ZONE_SUFFIX_RE.match(text[m.end() :])):
            zone = _suffix_zone(z["off"])
        try:
            return datetime(
                int(g["y"]), month, int(g["d"]), _hour(g.get("h"), g.get("ampm")), int(g.get("mi") or 0),
                int(g.get("s") or 0), tzinfo=zone,
            )
        except (ValueError, OverflowError):
            continue
    return None
