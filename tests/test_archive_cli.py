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
