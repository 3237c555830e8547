"""The Jekyll site around the posts: the packaged template (``template/``), ``site init`` and the
``jekyll`` command lines for ``site build``/``serve``.

The post format never changes for the site's sake: everything the site needs (time zone, permalinks,
Liquid safety, listings, feed) lives in the template's ``_config.yml``, layouts and local plugin.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

__all__ = [
    "INSTALL_HINT", "InitResult", "feed_plugin_loads", "find_jekyll", "init_site",
    "jekyll_command", "template_files",
]

INSTALL_HINT = (
    "jekyll is not installed: apt-get install jekyll ruby-jekyll-feed (Debian/Ubuntu), "
    "or gem install jekyll jekyll-feed"
)


def template_files() -> dict[str, bytes]:
    """Every template file, by its path relative to the site root (``/`` separated), sorted."""
    root = resources.files(__package__).joinpath("template")
    files: dict[str, bytes] = {}

    def walk(node, prefix: str) -> None:  # a Traversable: works from a wheel or a zip too
        for child in node.iterdir():
            name = f"{prefix}{child.name}"
            if child.is_dir():
                walk(child, f"{name}/")
            elif child.name != ".DS_Store" and not child.name.endswith(".pyc"):
                files[name] = child.read_bytes()

    walk(root, "")
    return dict(sorted(files.items()))


@dataclass
class InitResult:
    written: list[str] = field(default_factory=list)  # new or (with overwrite) replaced
    kept: list[str] = field(default_factory=list)  # existing files that differ, left alone
    unchanged: list[str] = field(default_factory=list)


def init_site(out: Path, overwrite: bool = False, dry_run: bool = False) -> InitResult:
    """Write the template into ``out``. Posts (``_posts/``, ``archived/``) are never touched; an
    existing template file that was edited is kept unless ``overwrite``. Each file is written to a
    temp name and renamed, so a half-written ``_config.yml`` never exists."""
    result = InitResult()
    for rel, data in template_files().items():
        target = out / rel
        if target.is_file() and target.read_bytes() == data:
            result.unchanged.append(rel)
            continue
        if target.exists() and not overwrite:
            result.kept.append(rel)
            continue
        result.written.append(rel)
        if dry_run:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.newsmirror-tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
    if not dry_run:
        (out / "_posts").mkdir(parents=True, exist_ok=True)
    return result


def find_jekyll() -> str | None:
    return shutil.which("jekyll")


def feed_plugin_loads() -> bool:
    """Whether Ruby can load jekyll-feed (asked only after a failed build, to name the cause)."""
    ruby = shutil.which("ruby")
    if ruby is None:
        return False
    try:
        done = subprocess.run([ruby, "-e", 'require "jekyll-feed"'], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def jekyll_command(
    jekyll: str,
    action: str,
    source: Path,
    destination: Path,
    baseurl: str | None = None,
    url: str | None = None,
    extra: list[str] | None = None,
) -> list[str]:
    """``jekyll build|serve`` for a site folder, whatever the current directory is. Jekyll has no
    ``--url`` flag, so a URL goes in through a second config file (in ``.newsmirror/``, which Jekyll
    skips like every dot folder)."""
    cmd = [jekyll, action, "--source", str(source), "--destination", str(destination)]
    if baseurl is not None:
        cmd += ["--baseurl", baseurl]
    if url:
        override = source / ".newsmirror" / "site-url.yml"
        override.parent.mkdir(parents=True, exist_ok=True)
        override.write_text(f"url: {json.dumps(url)}\n", encoding="utf-8")  # JSON strings are YAML
        cmd += ["--config", f"{source / '_config.yml'},{override}"]
    return cmd + list(extra or [])

