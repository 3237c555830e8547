"""deploy/ as shipped: the GitHub Actions workflow's shell steps and the crontab lines, run for real
against a loopback CNA, in a throwaway git repository with a bare "GitHub" remote."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import FAST, REPO
from test_crawl import PAGES, serve, sources_file

from newsmirror.jekyll import init_site

WORKFLOW = yaml.safe_load((REPO / "deploy/github-actions-mirror.yml").read_text(encoding="utf-8"))
needs_jekyll = pytest.mark.skipif(shutil.which("jekyll") is None,
                                  reason="jekyll not installed (apt-get install jekyll ruby-jekyll-feed)")
PAGES_OUTPUTS = {"base_path": "/my-mirror", "origin": "https://me.example"}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          timeout=60).stdout


@pytest.fixture
def fork(tmp_path):
    """A user's fork: the repository's .gitignore and output/ site template, pushed to a bare remote."""
    remote, repo = tmp_path / "remote.git", tmp_path / "fork"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True, timeout=60)
    (repo / "output/_posts").mkdir(parents=True)
    shutil.copy(REPO / ".gitignore", repo / ".gitignore")
    init_site(repo / "output")
    (repo / "output/_posts/.gitkeep").write_bytes(b"")
    git(repo.parent, "init", "-q", "-b", "main", str(repo))
    git(repo, "config", "user.name", "dev")
    git(repo, "config", "user.email", "dev@example.invalid")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "fork")
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "-u", "origin", "main")
    # `pip install .` is the install step; here a shim runs this tree's newsmirror instead
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "newsmirror"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m newsmirror "$@"\n')
    shim.chmod(0o755)
    return repo, remote, bin_dir


def expand(value: str, context: dict[str, str]) -> str:
    """GitHub's ``${{ expr }}`` for the few expressions the workflow's shell steps use."""
    return re.sub(r"\$\{\{\s*(.+?)\s*\}\}", lambda m: context[m[1]], value)


def run_job_steps(job: str, repo: Path, bin_dir: Path, tmp_path: Path, context: dict[str, str],
                  overrides: dict[str, str] | None = None) -> dict[str, subprocess.CompletedProcess[str]]:
    """Each ``run:`` step of a job, in order, as the runner would (bash -e, workflow + step env)."""
    results = {}
    for step in WORKFLOW["jobs"][job]["steps"]:
        if step.get("id") == "pages":  # actions/configure-pages: its outputs, as GitHub gives them
            context.update({f"steps.pages.outputs.{k}": v for k, v in PAGES_OUTPUTS.items()})
        if "run" not in step or step.get("name") == "install":
            continue
        output = tmp_path / f"github-output-{step.get('id', 'x')}"
        output.write_text("")
        env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONWARNINGS="ignore", GITHUB_OUTPUT=str(output),
                   PATH=f"{bin_dir}:{os.environ['PATH']}", HOME=str(tmp_path))
        env.update({k: str(v) for k, v in WORKFLOW["env"].items()})
        env.update(overrides or {})
        env.update({k: expand(str(v), context) for k, v in step.get("env", {}).items()})
        result = subprocess.run(["bash", "-e", "-c", expand(step["run"], context)], cwd=repo, env=env,
                                capture_output=True, text=True, timeout=300)
        results[step.get("name") or step.get("id")] = result
        if "id" in step:
            for line in output.read_text().splitlines():
                key, _, value = line.partition("=")
                context[f"steps.{step['id']}.outputs.{key}"] = value
        if result.returncode != 0:
            break
    return results


def run_workflow(repo, bin_dir, tmp_path, crawl_args, archive_days="100000"):
    """The mirror job's shell steps, then the crawl-status job; the fixtures are years old, so
    ARCHIVE_DAYS is large unless a test archives on purpose."""
    context: dict[str, str] = {"env.OUT": WORKFLOW["env"]["OUT"]}
    overrides = {"CRAWL_ARGS": crawl_args, "ARCHIVE_DAYS": archive_days}
    steps = run_job_steps("mirror", repo, bin_dir, tmp_path, context, overrides)
    for name, result in steps.items():
        assert result.returncode == 0, (name, result.stdout, result.stderr)
    status_context = {"needs.mirror.outputs.crawl_code": context["steps.crawl.outputs.code"]}
    [status] = run_job_steps("crawl-status", repo, bin_dir, tmp_path, status_context).values()
    return steps, status


def test_the_workflow_installs_from_the_checkout_and_publishes_pages():
    steps = WORKFLOW["jobs"]["mirror"]["steps"]
    install = next(s for s in steps if s.get("name") == "install")["run"]
    assert "python -m pip install .\n" in install and "example.invalid" not in install
    assert "apt-get install -y -qq jekyll ruby-jekyll-feed" in install
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    assert uses[:2] == ["actions/checkout", "actions/setup-python"]
    assert "actions/upload-pages-artifact" in uses
    assert WORKFLOW["jobs"]["deploy"]["steps"][0]["uses"].startswith("actions/deploy-pages@")
    assert WORKFLOW["permissions"] == {"contents": "write", "pages": "write", "id-token": "write"}
    names = [s.get("name") for s in steps if "run" in s]
    assert names == ["install", "crawl", "archive", "commit", "build the site"]


@needs_jekyll
def test_workflow_steps_commit_new_posts_and_build_the_site(site, fork, tmp_path):
    repo, remote, bin_dir = fork
    serve(site)
    crawl_args = f"--sources {sources_file(site, tmp_path)} {' '.join(FAST)}"
    before = git(remote, "rev-parse", "main").strip()
    steps, status = run_workflow(repo, bin_dir, tmp_path, crawl_args)
    assert "newsmirror crawl exited with 0" in steps["crawl"].stdout
    assert status.returncode == 0 and "crawl: all good" in status.stdout
    # one new commit on the remote, holding the posts and the seen-store, not run reports or _site
    log = git(remote, "log", "--format=%s", f"{before}..main").splitlines()
    assert len(log) == 1 and log[0].startswith("mirror: ")
    files = set(git(remote, "ls-tree", "-r", "--name-only", "main").splitlines())
    posts = sorted(f for f in files if f.startswith("output/_posts/") and f.endswith(".md"))
    ids = sorted(path.rsplit("/", 1)[-1].removesuffix(".aspx") for path in PAGES)
    assert sorted(p.rsplit("-", 1)[-1].removesuffix(".md") for p in posts) == ids
    assert "output/.newsmirror/state.sqlite" in files
    assert not any(f.startswith(("output/_site/", "output/.newsmirror/runs/", "output/archived/")) for f in files)
    # the built site lists every committed post under the Pages base path
    index = (repo / "output/_site/index.html").read_text(encoding="utf-8")
    hrefs = re.findall(r'<li><time [^>]*>[^<]*</time><a href="([^"]+)"', index)
    assert len(hrefs) == len(PAGES) and all(h.startswith("/my-mirror/") for h in hrefs)
    for post in posts:
        day, slug = re.match(r"output/_posts/(\d{4}-\d{2}-\d{2})-(.+)\.md", post).groups()
        assert (repo / "output/_site" / day.replace("-", "/") / f"{slug}.html").is_file()
    assert "https://me.example/my-mirror/" in (repo / "output/_site/feed.xml").read_text(encoding="utf-8")

    # the next hour: nothing new, no commit, the site still builds
    steps, status = run_workflow(repo, bin_dir, tmp_path, crawl_args)
    assert "nothing new to commit" in steps["commit"].stdout and status.returncode == 0
    assert len(git(remote, "log", "--format=%s", f"{before}..main").splitlines()) == 1

    # archiving: the posts move to archived/ in one commit (deletions included) and leave the site
    steps, status = run_workflow(repo, bin_dir, tmp_path, crawl_args, archive_days="0")
    assert status.returncode == 0
    files = set(git(remote, "ls-tree", "-r", "--name-only", "main").splitlines())
    assert not any(f.startswith("output/_posts/") and f.endswith(".md") for f in files)
    assert len([f for f in files if f.startswith("output/archived/")]) == len(PAGES)
    assert not (repo / "output/_site/2023").exists()
    assert git(repo, "status", "--porcelain") == ""


@needs_jekyll
def test_workflow_treats_exit_1_as_success_and_2_or_more_as_failure(site, fork, tmp_path):
    repo, remote, bin_dir = fork
    serve(site)
    site.add("/sitemap.xml", '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/'
             f'schemas/sitemap/0.9"><url><loc>{site.url("/news/aopl/202309110310.aspx")}</loc></url>'
             f'<url><loc>{site.url("/news/aipl/209901010001.aspx")}</loc></url></urlset>',
             content_type="application/xml")
    crawl_args = f"--sources {sources_file(site, tmp_path)} {' '.join(FAST)}"
    steps, status = run_workflow(repo, bin_dir, tmp_path, crawl_args)
    assert "newsmirror crawl exited with 1" in steps["crawl"].stdout  # the 404 page
    assert status.returncode == 0 and "some pages failed" in status.stdout
    assert "output/_posts/2023-09-11-cna-202309110310.md" in git(remote, "ls-tree", "-r", "--name-only", "main")
    # a crawl that cannot run: what the step judged is a failure, after the commit and build ran
    steps, status = run_workflow(repo, bin_dir, tmp_path, "--sources /nonexistent/sources.toml")
    code = int(re.search(r"exited with (\d+)", steps["crawl"].stdout)[1])
    assert code >= 2 and status.returncode == (code if code in (2, 4) else 3)
    assert "::error::crawl exit" in status.stdout
    assert (repo / "output/_site/index.html").is_file()


@needs_jekyll
def test_crontab_lines_crawl_build_and_archive(site, tmp_path, fork):
    """The crontab's commands, with /srv/mirror pointing at a temporary folder."""
    _, _, bin_dir = fork
    serve(site)
    root = tmp_path / "srv"
    (root / ".venv").mkdir(parents=True)
    (root / ".venv/bin").symlink_to(bin_dir)
    init_site(root / "site")
    sources = sources_file(site, tmp_path)
    lines = [line for line in (REPO / "deploy/crontab.txt").read_text().splitlines()
             if line and not line.startswith(("#", "MAILTO"))]
    hourly, daily = (" ".join(line.split()[5:]).replace("/srv/mirror", str(root)) for line in lines)
    hourly = hourly.replace("crawl -o site -q", f"crawl -o site -q --sources {sources} {' '.join(FAST)}")
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONWARNINGS="ignore")
    result = subprocess.run(["sh", "-c", hourly], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout == "" and result.stderr == "", result
    assert len(list((root / "site/_posts").glob("*.md"))) == len(PAGES)
    assert (root / "site/_site/2023/09/11/cna-202309110310.html").is_file()
    daily = daily.replace("--older-than 120", "--older-than 0")
    result = subprocess.run(["sh", "-c", daily], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout == "", result
    assert not list((root / "site/_posts").glob("*.md")) and len(list((root / "site/archived").rglob("*.md"))) == len(PAGES)
    assert not (root / "site/_site/2023").exists()  # archived posts leave the site
    # a crawl that cannot run prints one line for cron to mail
    broken = hourly.replace(f"--sources {sources}", "--sources /nonexistent.toml")
    result = subprocess.run(["sh", "-c", broken], env=env, capture_output=True, text=True, timeout=300)
    assert re.fullmatch(r"newsmirror crawl exited [2-9] \(see .*/crawl.log\)\n", result.stdout), result


@pytest.mark.parametrize(("code", "exit_code", "line"), [
    ("0", 0, "crawl: all good"),
    ("1", 0, "crawl: some pages failed"),
    ("2", 2, "::error::crawl exit 2: usage error"),
    ("3", 3, "::error::crawl exit 3: could not run"),
    ("4", 4, "::error::crawl exit 4: a source looks broken"),
    ("", 3, "::error::crawl exit none: could not run"),  # the mirror job died before the crawl step
])
def test_crawl_status_job_fails_on_2_or_more(tmp_path, code, exit_code, line):
    [status] = run_job_steps("crawl-status", tmp_path, tmp_path, tmp_path,
                             {"needs.mirror.outputs.crawl_code": code}).values()
    assert status.returncode == exit_code and status.stdout.startswith(line), status


def unit_commands(name: str, root: Path, bin_dir: Path) -> dict[str, list[list[str]]]:
    """ExecStart= / ExecStopPost= lines of a deploy/ unit, with /srv/mirror moved to ``root``."""
    commands: dict[str, list[list[str]]] = {}
    for line in (REPO / "deploy" / name).read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and key in ("ExecStart", "ExecStopPost"):
            argv = value.replace("/srv/mirror/.venv/bin/newsmirror", str(bin_dir / "newsmirror"))
            commands.setdefault(key, []).append(argv.replace("/srv/mirror", str(root)).split())
    return commands


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_units_verify(tmp_path, fork):
    _, _, bin_dir = fork
    units = tmp_path / "units"
    units.mkdir()
    for unit in ("newsmirror.service", "newsmirror.timer", "newsmirror-archive.service", "newsmirror-archive.timer"):
        text = (REPO / "deploy" / unit).read_text().replace("/srv/mirror/.venv/bin/newsmirror", str(bin_dir / "newsmirror"))
        (units / unit).write_text(text)
    result = subprocess.run(["systemd-analyze", "verify", *sorted(str(p) for p in units.iterdir())],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stderr == "", result.stderr


@needs_jekyll
def test_systemd_service_commands_crawl_then_rebuild(site, tmp_path, fork):
    _, _, bin_dir = fork
    serve(site)
    root = tmp_path / "srv"
    init_site(root / "site")
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONWARNINGS="ignore")
    service = unit_commands("newsmirror.service", root, bin_dir)
    [crawl], [build] = service["ExecStart"], service["ExecStopPost"]
    assert crawl[1:3] == ["crawl", "-o"] and build[1:3] == ["site", "build"]
    sources = ["--sources", str(sources_file(site, tmp_path)), *FAST]
    assert subprocess.run(crawl + sources, env=env, timeout=300).returncode == 0
    assert subprocess.run(build, env=env, timeout=300).returncode == 0
    assert (root / "site/_site/2023/09/11/cna-202309110310.html").is_file()
    # the unit puts the build in ExecStopPost=, which systemd runs after any result: it works after a failed crawl
    failed = subprocess.run(crawl + ["--sources", "/nonexistent.toml"], env=env, timeout=300)
    assert failed.returncode >= 2
    shutil.rmtree(root / "site/_site")
    assert subprocess.run(build, env=env, timeout=300).returncode == 0
    assert (root / "site/_site/index.html").is_file()
    archive = unit_commands("newsmirror-archive.service", root, bin_dir)["ExecStart"]
    assert [argv[1] for argv in archive] == ["archive", "site"]
