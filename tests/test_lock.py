from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsmirror.lock import LockHeld, RunLock

REPO = Path(__file__).resolve().parent.parent

HOLD = """
import sys, time
from newsmirror.lock import RunLock
RunLock(sys.argv[1]).acquire()  # no reference kept: dropping the object must not unlock
print("locked", flush=True)
time.sleep(60)
"""

TRY = """
import sys
from newsmirror.lock import LockHeld, RunLock
try:
    with RunLock(sys.argv[1]):
        print("acquired")
except LockHeld as exc:
    print(f"held {exc.pid}")
"""


def python(code: str, *args: str, **kwargs: object) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-c", code, *args], env=env, text=True, stdout=subprocess.PIPE, **kwargs
    )


def try_in_child(path: Path) -> str:
    """What another process gets when it tries the lock: "acquired" or "held <pid>"."""
    proc = python(TRY, str(path))
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    return out.strip()


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """A child process holding the lock at tmp/out/.newsmirror/run.lock."""
    path = tmp_path / "out" / ".newsmirror" / "run.lock"
    proc = python(HOLD, str(path))
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "locked"
        yield proc, path
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()


def test_other_process_holding_the_lock_blocks_with_its_pid(
    holder: tuple[subprocess.Popen[str], Path],
) -> None:
    proc, path = holder
    assert path.read_text() == f"{proc.pid}\n"
    lock = RunLock(path)
    with pytest.raises(LockHeld) as info:
        lock.acquire()
    assert info.value.pid == proc.pid
    assert info.value.path == path
    assert str(path) in str(info.value) and f"pid {proc.pid}" in str(info.value)
    assert not lock.held
    assert path.read_text() == f"{proc.pid}\n"  # a failed attempt does not disturb the holder's pid


def test_lock_is_free_after_holder_is_killed_with_sigkill(holder: tuple[subprocess.Popen[str], Path]) -> None:
    proc, path = holder
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    assert path.read_text() == f"{proc.pid}\n"  # the dead holder's pid is still in the file ...
    lock = RunLock(path)
    lock.acquire()  # ... but does not block
    try:
        assert lock.held
        assert path.read_text() == f"{os.getpid()}\n"
        assert try_in_child(path) == f"held {os.getpid()}"
    finally:
        lock.release()


def test_stale_pid_in_file_does_not_block(tmp_path: Path) -> None:
    path = tmp_path / "run.lock"
    dead = python("pass")
    dead.communicate(timeout=30)
    path.write_text(f"{dead.pid}\n")
    with RunLock(path) as lock:
        assert lock.held
        assert path.read_text() == f"{os.getpid()}\n"


def test_release_then_acquire_again_and_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "run.lock"
    lock = RunLock(path)
    assert path.parent.is_dir()  # the constructor makes the folder
    lock.acquire()
    assert try_in_child(path) == f"held {os.getpid()}"
    # flock is per open file, so even a second RunLock in this very process is refused
    with pytest.raises(LockHeld) as info:
        RunLock(path).acquire()
    assert info.value.pid == os.getpid()

    lock.release()
    lock.release()  # idempotent
    assert not lock.held
    assert path.read_text() == ""  # no pid left behind to mislead anybody
    assert try_in_child(path) == "acquired"

    lock.acquire()
    assert lock.held and path.read_text() == f"{os.getpid()}\n"
    lock.release()


def test_context_manager_releases_on_error_and_double_acquire_is_a_bug(tmp_path: Path) -> None:
    path = tmp_path / "run.lock"
    with pytest.raises(ZeroDivisionError), RunLock(path) as lock:
        assert lock.held
        with pytest.raises(RuntimeError, match="already held"):
            lock.acquire()
        1 / 0  # noqa: B018
    assert not lock.held
    assert try_in_child(path) == "acquired"
