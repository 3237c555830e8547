"""URL forms of one article: tracking parameters, host case, trailing slashes, AMP and mobile.

Feeds and sitemaps announce an article under many URLs (``?utm_source=rss``, Feedburner links,
``/amp/`` copies, ``m.`` hosts); the page's own canonical link is one more.  Two functions:

* :func:`clean_url` is a URL to *show* (a post's ``from:``): the same page, without the noise;
* :func:`identity_url` is a key to *compare*: every variant of one article gives the same string.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

__all__ = ["clean_url", "identity_url"]

_TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid", "mc_cid", "mc_eid",
     "_ga", "_gl", "ocid", "cmpid", "ncid", "spm", "share", "ref_src", "__twitter_impression",
     "wt_mc", "wt_zmc"}
)  # fmt: skip
_AMP_PARAMS = {"amp": {"1", "true", ""}, "outputtype": {"amp"}, "output": {"amp"}}
_AMP_PATH_RE = re.compile(r"(?:/amp|\.amp)/?$|^/amp(?=/)", re.IGNORECASE)
_MOBILE_HOST_RE = re.compile(r"^(?:www\.|m\.|mobile\.|amp\.|wap\.)", re.IGNORECASE)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _tracking(name: str) -> bool:
    lower = name.lower()
    return lower.startswith("utm_") or lower in _TRACKING_PARAMS


def _amp_param(name: str, value: str) -> bool:
    return value.lower() in _AMP_PARAMS.get(name.lower(), ())


def clean_url(url: str) -> str:
    """Lower-case scheme and host, no default port, no fragment, no ``utm_*``/``fbclid``/``gclid``
    (and similar) parameters, no AMP marker (``/amp``, ``?amp=1``).  Other parameters keep their
    order: some sites identify articles by them (``story?sid=76049``)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not _tracking(k) and not _amp_param(k, v)]  # fmt: skip
    path = _AMP_PATH_RE.sub("", parts.path) or "/"
    return urlunsplit((scheme, netloc, path, urlencode(query, doseq=True, safe="/:@!$'()*+,;"), ""))


@lru_cache(maxsize=2048)  # a crawl asks for one article's URLs several times (announce, skip, alias)
def identity_url(url: str) -> str:
    """:func:`clean_url`, then http and https alike, ``www.``/``m.``/``amp.`` hosts alike, no
    trailing slash, percent-encoding normalised: one string for every form of one article."""
    parts = urlsplit(clean_url(url))
    host = _MOBILE_HOST_RE.sub("", parts.netloc)
    path = quote(unquote(parts.path), safe="/:@!$&'()*+,;=~")
    path = path.rstrip("/") or "/"
    return urlunsplit(("https", host, path, parts.query, ""))
