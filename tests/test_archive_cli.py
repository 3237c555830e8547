"""`newsmirror archive` moves old posts and the seen-store keeps knowing them."""

from __future__ import annotations

import shutil

from helpers import FIXTURES, run_cli

from newsmirror.state import SeenStore


def test_archive_then_reprocess_does_not_mirror_again(tmp_path):
    out = tmp_path / "out"
    pages = tmp_path / "pages"
    pages.mkdir()
    shutil.copy(FIXTURES / "seed/202309110310.reconstructed.html", pages / "a.html")
    assert run_cli("reprocess", str(pages), "-o", str(out)).returncode == 0
    result = run_cli("archive", "--older-than", "30", "-o", str(out))
    assert result.returncode == 0, result.stderr
    moved = out / "archived/2023-09-11/2023-09-11-cna-202309110310.md"
    assert moved.read_bytes() == (FIXTURES / "seed/expected_clean.md").read_bytes()
    assert not list((out / "_posts").glob("*.md"))
    with SeenStore(out / ".newsmirror/state.sqlite") as store:
        assert store.get("cna", "202309110310").post_path == "archived/2023-09-11/2023-09-11-cna-202309110310.md"
    again = run_cli("reprocess", str(pages), "-o", str(out))
    assert "0 new, 0 updated, 1 unchanged" in again.stderr
    assert not list((out / "_posts").glob("*.md"))


def test_archive_writes_a_json_run_report(tmp_path):
    import json

    out = tmp_path / "out"
    pages = tmp_path / "pages"
    pages.mkdir()
    shutil.copy(FIXTURES / "seed/202309110310.reconstructed.html", pages / "a.html")
    assert run_cli("reprocess", str(pages), "-o", str(out), "-q").returncode == 0
    dry = run_cli("archive", "--older-than", "30", "-o", str(out), "--dry-run")
    assert dry.stdout == ("would move _posts/2023-09-11-cna-202309110310.md -> "
                          "archived/2023-09-11/2023-09-11-cna-202309110310.md\n")
    assert not list((out / ".newsmirror/runs").glob("*-archive.json"))  # a dry run writes nothing
    result = run_cli("archive", "--older-than", "30", "-o", str(out), "-q")
    assert result.returncode == 0, result.stderr
    [path] = (out / ".newsmirror/runs").glob("*-archive.json")
    assert result.stderr.splitlines()[-1].endswith(f"; posts: {out / 'archived'}; report: {path}")
    report = json.loads(path.read_text())
    assert report["command"] == "archive" and report["older_than_days"] == 30 and report["exit_code"] == 0
    assert report["counts"] == {"moved": 1, "skipped": 0}
    assert report["moved"] == [{"from": "_posts/2023-09-11-cna-202309110310.md",
                                "to": "archived/2023-09-11/2023-09-11-cna-202309110310.md"}]
