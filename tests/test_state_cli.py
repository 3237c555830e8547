"""``newsmirror state list|show|forget|stats|check`` on a store of 100 000 rows."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from helpers import FAST, FIXTURES, run_cli

from newsmirror.state import LIST_SINCE_SQL, LIST_SITE_SQL, SeenRecord, SeenStore

ROWS = 100_000


def record(n: int, site: str = "cna") -> SeenRecord:
    article_id = f"20{n:010d}"
    day = 1 + n % 28
    return SeenRecord(
        site=site,
        article_id=article_id,
        url=f"https://www.cna.com.tw/news/aopl/{article_id}.aspx",
        post_path=f"_posts/2023-09-{day:02d}-{site}-{article_id}.md",
        title=f"標題 {n}",
        published=f"2023-09-{day:02d}T12:40:00.000Z",
        modified=None,
        content_hash=f"{n:064x}",
        updated_at="2023-09-30T00:00:00.000Z",
    )


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    """OUT with a 100 000-row store (99 990 cna, 10 of another site) and three post files."""
    out = tmp_path_factory.mktemp("big")
    with SeenStore(out / ".newsmirror/state.sqlite") as store, store.bulk():
        for n in range(ROWS):
            store.put(record(n, "cna" if n >= 10 else "other"), input_key=f"key{n}")
    posts = out / "_posts"
    posts.mkdir()
    for n in (10, 11):
        r = record(n)
        (out / r.post_path).write_text(f"post {n}\n", encoding="utf-8")
    (posts / "2023-01-01-cna-999.md").write_text("a post the store does not know\n")
    return out


def plan(db: Path, sql: str, params: tuple[str, ...]) -> str:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return " | ".join(r[-1] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
    finally:
        conn.close()


def test_list_filters_use_index_lookups(big):
    db = big / ".newsmirror/state.sqlite"
    assert "USING PRIMARY KEY (site=?)" in plan(db, LIST_SITE_SQL, ("cna",))
    assert "USING INDEX seen_published (published>?)" in plan(db, LIST_SINCE_SQL, ("2023-09-28",))


def test_list_by_site_and_since_and_json(big):
    other = run_cli("state", "list", "--site", "other", "-o", str(big), timeout=60)
    assert other.returncode == 0, other.stderr
    lines = other.stdout.splitlines()
    assert len(lines) == 10
    assert lines[0] == "other\t200000000000\t2023-09-01T12:40:00.000Z\t_posts/2023-09-01-other-200000000000.md\t標題 0"
    since = run_cli("state", "list", "--since", "2023-09-28T00:00:00Z", "--json", "-o", str(big), timeout=60)
    assert since.returncode == 0, since.stderr
    rows = [json.loads(line) for line in since.stdout.splitlines()]
    assert len(rows) == sum(1 for n in range(ROWS) if n % 28 == 27)
    assert {r["published"] for r in rows} == {"2023-09-28T12:40:00.000Z"}
    assert rows[0]["article_id"] == "200000000027" and rows[0]["site"] == "cna"


def test_list_of_all_rows_completes(big):
    everything = run_cli("state", "list", "--json", "-o", str(big), timeout=60)
    assert everything.returncode == 0, everything.stderr
    assert everything.stdout.count("\n") == ROWS


def test_show_stats_and_check(big):
    shown = run_cli("state", "show", "cna", "200000000010", "-o", str(big))
    assert shown.returncode == 0, shown.stderr
    fields = dict(line.split(None, 1) for line in shown.stdout.splitlines())
    assert fields["post_path"] == "_posts/2023-09-11-cna-200000000010.md"
    assert fields["title"] == "標題 10" and fields["input_keys"] == "key10"
    assert fields["post"] == f"{big / fields['post_path']} (edited since it was written)"
    missing = run_cli("state", "show", "cna", "1", "-o", str(big))
    assert missing.returncode == 1 and "(cna, 1) is not in" in missing.stderr

    stats = run_cli("state", "stats", "-o", str(big))
    assert stats.returncode == 0, stats.stderr
    assert f"{ROWS} articles" in stats.stdout.splitlines()[0]
    assert "  cna: 99990 articles (0 archived), published 2023-09-01T12:40:00.000Z .. 2023-09-28" in stats.stdout
    assert f"posts on disk: 3 in {big / '_posts'}" in stats.stdout

    checked = run_cli("state", "check", "-o", str(big), timeout=60)
    assert checked.returncode == 1
    out = checked.stdout.splitlines()
    assert out[0] == "post without row: _posts/2023-01-01-cna-999.md"
    assert len([line for line in out if line.startswith("row without post: ")]) == ROWS - 2
    assert checked.stderr.strip() == (
        f"state check: {ROWS} rows, 3 posts; 1 posts without rows, {ROWS - 2} rows without posts, 0 aliases without rows"
    )


def test_forget_makes_the_next_crawl_mirror_it_again(site, tmp_path):
    path = "/news/aopl/202309110310.aspx"
    site.add(path, (FIXTURES / "seed/202309110310.reconstructed.html").read_bytes())
    site.add(
        "/rss.xml",
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>c</title><item><title>t</title>'
        f"<link>{site.url(path)}</link></item></channel></rss>",
        content_type="application/rss+xml",
    )
    out = tmp_path / "out"
    crawl = ["crawl", "--feed", site.url("/rss.xml"), "--parser", "cna", "-o", str(out), *FAST]
    assert run_cli(*crawl).returncode == 0
    assert run_cli(*crawl).returncode == 0 and site.hits(path) == 1  # known: not fetched again
    shown = run_cli("state", "show", "cna", "202309110310", "-o", str(out))
    # every URL form it was announced or fetched under, normalized (newsmirror.urlnorm)
    aliases = re.search(r"^aliases +(.+)$", shown.stdout, re.M)[1].split(", ")
    assert f"https://127.0.0.1:{site.port}{path}" in aliases, aliases
    forgot = run_cli("state", "forget", "cna", "202309110310", "-o", str(out))
    assert forgot.returncode == 0, forgot.stderr
    assert "forgot (cna, 202309110310)" in forgot.stderr
    checked = run_cli("state", "check", "-o", str(out))  # its aliases went with it
    assert "1 posts without rows, 0 rows without posts, 0 aliases without rows" in checked.stderr, checked.stderr
    assert run_cli("state", "show", "cna", "202309110310", "-o", str(out)).returncode == 1
    again = run_cli(*crawl)
    assert again.returncode == 0, again.stderr
    assert site.hits(path) == 2
    assert [p.name for p in (out / "_posts").glob("*.md")] == ["2023-09-11-cna-202309110310.md"]
    assert run_cli("state", "check", "-o", str(out)).returncode == 0
    assert run_cli("state", "forget", "cna", "nope", "-o", str(out)).returncode == 1


def test_no_store_is_exit_3(tmp_path):
    result = run_cli("state", "stats", "-o", str(tmp_path))
    assert result.returncode == 3 and "no seen-store at" in result.stderr
