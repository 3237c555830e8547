"""What crosses Redis, as JSON: requests (scrapy-redis ``SCHEDULER_SERIALIZER``) and results.

scrapy-redis pickles requests by default; a pickle read from a network service runs whatever
whoever can write to that Redis wants.  JSON with a tag for bytes carries the same
``Request.to_dict()`` and cannot.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import datetime
from typing import Any

from ..items import Article, Figure

_BYTES = "__b64__"


def _encode(value: Any) -> Any:
    if isinstance(value, bytes):
        return {_BYTES: base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        return {str(k.decode() if isinstance(k, bytes) else k): _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_encode(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)  # e.g. a download slot object: informative only, never needed back


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {_BYTES}:
            return base64.b64decode(value[_BYTES])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


# -- the SCHEDULER_SERIALIZER module interface (loads/dumps) -----------------------------------


def dumps(obj: Any) -> bytes:
    return json.dumps(_encode(obj), ensure_ascii=False, sort_keys=True).encode("utf-8")


def loads(data: bytes | str) -> Any:
    return _decode(json.loads(data))


# -- Article <-> plain data -----------------------------------------------------------------------

_TIMES = ("published", "modified", "fetched_at", "hint_modified")


def article_to_data(article: Article) -> dict[str, Any]:
    data = dataclasses.asdict(article)
    for name in _TIMES:
        if data[name] is not None:
            data[name] = data[name].isoformat()
    return data


def article_from_data(data: dict[str, Any]) -> Article:
    """The inverse of :func:`article_to_data`; unknown fields (a newer worker) are ignored."""
    names = {f.name for f in dataclasses.fields(Article)}
    fields = {k: v for k, v in data.items() if k in names}
    for name in _TIMES:
        if fields.get(name):
            fields[name] = datetime.fromisoformat(fields[name])
    if fields.get("lead_figure"):
        fields["lead_figure"] = Figure(**fields["lead_figure"])
    return Article(**fields)
