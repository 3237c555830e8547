from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from loopback import LoopbackSite  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def site():
    """A loopback HTTP server; register pages with ``site.add(path, body)``."""
    with LoopbackSite() as server:
        yield server
