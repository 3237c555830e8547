"""`newsmirror crawl` and `newsmirror worker` (scheduled and distributed runs)."""

from __future__ import annotations

import argparse


def add_crawl_arguments(p: argparse.ArgumentParser) -> None:
    pass


def add_worker_arguments(p: argparse.ArgumentParser) -> None:
    pass


def cmd_crawl(args: argparse.Namespace) -> int:
    raise NotImplementedError


def cmd_worker(args: argparse.Namespace) -> int:
    raise NotImplementedError
