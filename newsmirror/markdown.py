"""``--body markdown``: the cleaned body HTML as Markdown (markdownify), figures kept.

Images become ``![alt](src)`` followed by their caption in italics; embedded videos have no
Markdown form, so their ``<iframe>`` is kept as raw HTML, which Jekyll passes through.
"""

from __future__ import annotations

import html
import re

from markdownify import MarkdownConverter


class _PostConverter(MarkdownConverter):
    def escape(self, text, parent_tags):
        # Markdown passes raw HTML through: text that said "<script>" in the page must stay text
        return super().escape(html.escape(text, quote=False), parent_tags) if text else ""

    def convert_figure(self, el, text, parent_tags=None, **kwargs):
        return f"\n\n{text.strip()}\n\n"

    def convert_picture(self, el, text, parent_tags=None, **kwargs):
        return text

    def convert_figcaption(self, el, text, parent_tags=None, **kwargs):
        caption = " ".join(text.split())
        return f"\n\n*{caption}*\n\n" if caption else ""

    def convert_iframe(self, el, text, parent_tags=None, **kwargs):
        return f"\n\n{_raw_html(el)}\n\n"


def _raw_html(el) -> str:
    attrs = "".join(
        f' {k}="{html.escape(v if isinstance(v, str) else " ".join(v))}"' for k, v in el.attrs.items()
    )
    return f"<iframe{attrs}></iframe>"


def body_to_markdown(body_html: str) -> str:
    md = _PostConverter(heading_style="ATX", bullets="-", escape_misc=False).convert(body_html)
    return re.sub(r"\n{3,}", "\n\n", md).strip()
