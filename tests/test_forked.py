"""kg.forked: a build step in a forked process gives back its result, or fails as it would have."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from kg.forked import Forked, ForkedStepFailed


def _pid_and(value: int) -> tuple[int, int]:
    return os.getpid(), value * 2


def _raise(kind: type[Exception], message: str) -> None:
    raise kind(message)


def _die() -> None:
    os._exit(3)


class _Unpicklable(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.lock = threading.Lock()  # cannot be pickled: the exception cannot be sent back


def _raise_unpicklable() -> None:
    raise _Unpicklable("a lock inside")


def _sleep() -> None:
    threading.Event().wait(60)


def test_the_result_comes_back_from_another_process():
    pid, doubled = Forked("doubling", _pid_and, 21).result()
    assert doubled == 42 and pid != os.getpid()


def test_what_the_step_raises_is_raised_here_with_its_type_and_message():
    with pytest.raises(ValueError, match="bad shapes file"):
        Forked("validation", _raise, ValueError, "bad shapes file").result()


def test_a_step_that_dies_without_a_word_fails_with_its_name():
    with pytest.raises(ForkedStepFailed, match=r"the build's dumps ended without a result \(exit code 3\)"):
        Forked("dumps", _die).result()


def test_an_error_that_cannot_be_sent_back_still_fails_with_its_message():
    with pytest.raises(ForkedStepFailed, match=r"the build's dumps failed: .*_Unpicklable: a lock inside"):
        Forked("dumps", _raise_unpicklable).result()


class _KeywordOnly(Exception):
    def __init__(self, message: str, *, code: int) -> None:
        super().__init__(message)
        self.code = code


def _raise_keyword_only() -> None:
    raise _KeywordOnly("pickles, but does not unpickle", code=7)


def test_an_error_that_does_not_unpickle_fails_with_its_message_not_a_type_error():
    with pytest.raises(ForkedStepFailed, match=r"the build's validation failed: .*does not unpickle"):
        Forked("validation", _raise_keyword_only).result()


def test_the_childs_traceback_comes_back_as_a_note():
    with pytest.raises(ValueError) as caught:
        Forked("validation", _raise, ValueError, "bad shapes file").result()
    (note,) = caught.value.__notes__
    assert note.startswith("in the build's validation (a forked process):") and "_raise" in note


def test_a_forked_failure_is_an_error_the_cli_prints_cleanly():
    from kg.errors import KGError

    assert issubclass(ForkedStepFailed, KGError)


def test_without_fork_the_step_runs_here_when_its_result_is_asked_for(monkeypatch):
    monkeypatch.setenv("KG_FORK", "0")
    step = Forked("doubling", _pid_and, 1)
    assert step._process is None
    assert step.result() == (os.getpid(), 2)


def test_a_cancelled_step_is_stopped():
    step = Forked("sleeping", _sleep)
    assert step._process is not None and step._process.is_alive()
    step.cancel()
    assert not step._process.is_alive()


ORPHANED = """
import time
from kg.forked import Forked

def step():
    time.sleep(60)
    return b"x" * 200_000  # more than a pipe holds: its sending would wait for a reader

step_run = Forked("sleepy step", step)
print(step_run._process.pid, flush=True)
time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")  # a zombie has ended, whoever reaps it


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_a_step_ends_when_its_parent_is_killed():
    with subprocess.Popen([sys.executable, "-c", ORPHANED], stdout=subprocess.PIPE, text=True) as parent:
        child = int(parent.stdout.readline())
        try:
            parent.send_signal(signal.SIGKILL)  # as a supervisor's SIGTERM would, with no handler
            parent.wait(timeout=10)
            deadline = time.monotonic() + 10
            while _alive(child) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not _alive(child)
        finally:
            if _alive(child):
                os.kill(child, signal.SIGKILL)
