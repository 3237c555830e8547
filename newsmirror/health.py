"""Source health: tell "a few pages failed" from "this source is broken".

A mirror runs unattended, so a source whose sitemap disappeared or whose article pages changed
layout must not look like an ordinary run with some failures.  Per run and per source this module
counts the article pages tried, the posts, the failures by reason and how complete the parsed
fields were (title, body length, lead figure); then it judges the source against thresholds and
against the source's recent runs, which the seen-store keeps (``SeenStore.source_history``).

Only what the *source* did counts: a failed fetch, an unparsable page, an empty body.  A local
fault (an unwritable post, a full disk) is the machine's, and stays exit code 1.

Pure Python: the run report feeds it, the CLI evaluates it at the end of a run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

# Kinds of failure a source is to blame for (anything else is a local fault).
ENTRY = "entry"  # a configured sitemap/feed/list page could not be fetched or read
DISCOVERY = "discovery"  # a child sitemap could not be fetched or read
FETCH = "fetch"  # an article page could not be fetched
PARSE = "parse"  # an article page was fetched but is not an article we can read
EMPTY = "empty"  # the article's body is empty once cleaned
SOURCE_KINDS = frozenset({ENTRY, DISCOVERY, FETCH, PARSE, EMPTY})
EXAMPLES = 3  # example URLs per symptom
MAX_REMEMBERED = 200  # unparsable URLs a run keeps in the history, to count distinct pages


@dataclass
class Thresholds:
    """When a source counts as broken; every value is a Scrapy setting (``-s NAME=VALUE``)."""

    min_pages: int = 5  # fewer article pages than this (this run + a failing streak) never alarm
    max_failure_rate: float = 0.5  # failed article pages / article pages tried
    max_empty_rate: float = 0.5  # parsed articles without a title or with a short body
    min_body_chars: int = 80  # a body with less text than this counts as empty
    history_runs: int = 20  # recent runs compared with this one

    SETTINGS = {
        "min_pages": "NEWSMIRROR_HEALTH_MIN_PAGES",
        "max_failure_rate": "NEWSMIRROR_HEALTH_MAX_FAILURE_RATE",
        "max_empty_rate": "NEWSMIRROR_HEALTH_MAX_EMPTY_RATE",
        "min_body_chars": "NEWSMIRROR_HEALTH_MIN_BODY_CHARS",
        "history_runs": "NEWSMIRROR_HEALTH_HISTORY_RUNS",
    }

    @classmethod
    def from_settings(cls, settings: Any) -> Thresholds:
        """Read the ``NEWSMIRROR_HEALTH_*`` settings; a bad value is a ``ValueError`` (exit 2)."""
        values: dict[str, Any] = {}
        for name, setting in cls.SETTINGS.items():
            raw = settings.get(setting)
            if raw is None:
                continue
            kind = type(getattr(cls, name))
            try:
                value = kind(raw)
            except (TypeError, ValueError):
                raise ValueError(f"{setting} must be a {kind.__name__}, got {raw!r}") from None
            if value < 0 or (kind is float and value > 1):
                raise ValueError(f"{setting} out of range: {raw!r}")
            values[name] = value
        return cls(**values)


@dataclass
class Symptom:
    source: str
    symptom: str  # one line, e.g. "none of 12 article pages could be parsed (...)"
    examples: list[str]  # a few URLs showing it

    def line(self) -> str:
        shown = ", ".join(self.examples)
        return f"source {self.source} looks broken: {self.symptom}" + (f"; e.g. {shown}" if shown else "")


@dataclass
class SourceRun:
    """What one source did in one run (also the row the seen-store keeps as history)."""

    source: str
    entry_points: int = 0
    entry_failed: int = 0
    pages: int = 0  # article pages tried (fetched or failed to fetch); unchanged-by-feed are not
    fetch_failed: int = 0
    parse_failed: int = 0  # unparsable pages and empty bodies
    parsed: int = 0  # pages that gave an article (or were the unchanged input of one)
    posts: int = 0  # new or updated posts written
    examined: int = 0  # articles whose fields were checked
    with_title: int = 0
    with_date: int = 0
    long_body: int = 0  # body text of at least min_body_chars
    with_figure: int = 0
    broken: bool = False
    unparsed_urls: list[str] = field(default_factory=list)  # fetched but unparsable (capped)


@dataclass
class SourceHealth:
    """Counts for one source during the run, and the verdict at the end."""

    name: str
    entry_urls: tuple[str, ...] = ()
    run: SourceRun = field(init=False)
    entry_errors: dict[str, str] = field(default_factory=dict)  # url -> reason
    reasons: Counter[str] = field(default_factory=Counter)  # failure reason -> pages
    examples: dict[str, list[str]] = field(default_factory=dict)  # reason -> urls
    short_body: list[str] = field(default_factory=list)  # urls
    no_title: list[str] = field(default_factory=list)
    no_figure: list[str] = field(default_factory=list)
    symptoms: list[Symptom] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.run = SourceRun(self.name, entry_points=len(self.entry_urls))

    def to_json(self) -> dict[str, Any]:
        r = self.run
        return {
            "status": "broken" if self.symptoms else "ok",
            "symptoms": [{"symptom": s.symptom, "examples": s.examples} for s in self.symptoms],
            "entry_points": r.entry_points,
            "entry_points_failed": self.entry_errors,
            "pages": r.pages,
            "parsed": r.parsed,
            "posts": r.posts,
            "failures": {
                reason: {"pages": n, "examples": self.examples[reason]}
                for reason, n in self.reasons.most_common()
            },
            "fields": {
                "examined": r.examined,
                "title": r.with_title,
                "date": r.with_date,
                "body": r.long_body,
                "lead_figure": r.with_figure,
            },
        }


class HealthMonitor:
    """Fed while the run goes (by the run report), judged once at the end (:meth:`evaluate`)."""

    def __init__(self, thresholds: Thresholds | None = None) -> None:
        self.thresholds = thresholds or Thresholds()
        self.sources: dict[str, SourceHealth] = {}

    def expect(self, name: str, entry_urls: tuple[str, ...] | list[str] = ()) -> None:
        """Declare a source and the entry points this run will try (none for a worker)."""
        self.sources[name] = SourceHealth(name, tuple(entry_urls))

    def _of(self, name: str) -> SourceHealth:
        if name not in self.sources:
            self.sources[name] = SourceHealth(name)
        return self.sources[name]

    # -- recording -------------------------------------------------------------------------

    def failed(self, source: str, kind: str, url: str, reason: str) -> None:
        if not source or kind not in SOURCE_KINDS:
            return  # a local fault, or a run without sources
        health = self._of(source)
        if kind == ENTRY or (kind == DISCOVERY and url in health.entry_urls):
            if url not in health.entry_errors:
                health.entry_errors[url] = reason
                health.run.entry_failed += 1
            return
        if kind == DISCOVERY:
            return  # a child sitemap: its articles are simply not announced
        health.run.pages += 1
        if kind == FETCH:
            health.run.fetch_failed += 1
        else:
            health.run.parse_failed += 1
            if len(health.run.unparsed_urls) < MAX_REMEMBERED and url not in health.run.unparsed_urls:
                health.run.unparsed_urls.append(url)
        health.reasons[reason] += 1
        _keep_example(health.examples.setdefault(reason, []), url)

    def parsed(self, source: str, outcome: str) -> None:
        """An article page gave an article (``outcome``: new, updated or unchanged)."""
        if not source:
            return
        run = self._of(source).run
        run.pages += 1
        run.parsed += 1
        if outcome in ("new", "updated"):
            run.posts += 1

    def fields(self, source: str, url: str, title: str, has_date: bool, body_text: str, figure: bool) -> None:
        """How complete one parsed article was."""
        if not source:
            return
        health = self._of(source)
        run = health.run
        run.examined += 1
        run.with_title += bool(title.strip())
        run.with_date += has_date
        long_body = len(body_text.strip()) >= self.thresholds.min_body_chars
        run.long_body += long_body
        run.with_figure += figure
        for ok, urls in (
            (bool(title.strip()), health.no_title),
            (long_body, health.short_body),
            (figure, health.no_figure),
        ):
            if not ok:
                _keep_example(urls, url)

    # -- judging ---------------------------------------------------------------------------

    def evaluate(self, history: dict[str, list[SourceRun]] | None = None) -> list[Symptom]:
        """Judge every source; *history* holds each source's earlier runs, newest first."""
        history = history or {}
        found: list[Symptom] = []
        for name, health in self.sources.items():
            health.symptoms = judge(health, history.get(name, []), self.thresholds)
            health.run.broken = bool(health.symptoms)
            found.extend(health.symptoms)
        return found

    @property
    def broken(self) -> list[str]:
        return [name for name, h in self.sources.items() if h.symptoms]

    def to_json(self) -> dict[str, Any]:
        return {name: h.to_json() for name, h in self.sources.items()}


def _keep_example(urls: list[str], url: str) -> None:
    """The first few URLs in sorted order: the report must not depend on which page came first."""
    if url not in urls:
        urls.append(url)
        urls.sort()
        del urls[EXAMPLES:]


def _rate(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _reasons(health: SourceHealth) -> str:
    top = health.reasons.most_common(2)
    return "; ".join(f"{n}x {reason}" for reason, n in top)


def _examples(health: SourceHealth) -> list[str]:
    urls: list[str] = []
    for reason, _ in health.reasons.most_common():
        urls.extend(u for u in health.examples[reason] if u not in urls)
    return urls[:EXAMPLES]


def judge(health: SourceHealth, earlier: list[SourceRun], t: Thresholds) -> list[Symptom]:
    """The symptoms of one source, or none when it looks healthy."""
    run, name = health.run, health.name
    out: list[Symptom] = []
    if run.entry_points and run.entry_failed >= run.entry_points:
        reasons = sorted(set(health.entry_errors.values()))
        out.append(
            Symptom(
                name,
                f"every entry point failed ({run.entry_failed} of {run.entry_points}: {'; '.join(reasons)})",
                sorted(health.entry_errors)[:EXAMPLES],
            )
        )
    fetched = run.pages - run.fetch_failed
    if fetched and not run.parsed:
        # a streak: this run and the runs before it that parsed nothing either, so a source that
        # breaks on a quiet hour with two new articles still raises the alarm within a few runs.
        # Counted in distinct pages: one bad article a feed keeps announcing (and every run
        # fetches again) is not a broken source.
        distinct, runs = set(run.unparsed_urls), 1
        for old in earlier:
            if old.parsed:
                break
            if old.pages - old.fetch_failed:  # runs that fetched nothing neither end nor extend it
                distinct.update(old.unparsed_urls)
                runs += 1
        streak = max(fetched, len(distinct))
        if streak >= t.min_pages:
            over = f" ({streak} different pages over the last {runs} runs)" if runs > 1 else ""
            what = f"none of {fetched} article pages could be parsed{over}: {_reasons(health)}"
            out.append(Symptom(name, what, _examples(health)))
            return out
    failed = run.fetch_failed + run.parse_failed
    if run.pages >= t.min_pages and failed / run.pages > t.max_failure_rate:
        share = _rate(failed, run.pages)
        what = f"{failed} of {run.pages} article pages failed ({share}): {_reasons(health)}"
        out.append(Symptom(name, what, _examples(health)))
    if run.examined >= t.min_pages:
        for label, have, urls in (
            ("no title", run.with_title, health.no_title),
            (f"a body under {t.min_body_chars} characters", run.long_body, health.short_body),
        ):
            missing = run.examined - have
            if missing / run.examined > t.max_empty_rate:
                out.append(
                    Symptom(
                        name,
                        f"{missing} of {run.examined} articles have {label} ({_rate(missing, run.examined)})",
                        urls,
                    )
                )
        usual = _usual_figure_rate(earlier, t)
        now = run.with_figure / run.examined
        if usual is not None and now < usual * (1 - t.max_empty_rate):
            out.append(
                Symptom(
                    name,
                    f"lead figure on {_rate(run.with_figure, run.examined)} of "
                    f"{run.examined} articles (usually {usual:.0%})",
                    health.no_figure,
                )
            )
    return out


def _usual_figure_rate(earlier: list[SourceRun], t: Thresholds) -> float | None:
    """The lead-figure rate of the source's recent healthy runs, once they examined enough pages."""
    examined = sum(r.examined for r in earlier if not r.broken)
    if examined < t.min_pages:
        return None
    return sum(r.with_figure for r in earlier if not r.broken) / examined


def history_row(run: SourceRun) -> dict[str, Any]:
    return asdict(run)
