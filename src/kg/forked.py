"""A step of the build run beside the others, in a forked process (the machine's second core).

The build's steps hold the interpreter lock for most of their time (rdflib, pyshacl, the
serializers' Python glue), so threads would take turns; a forked child starts with the parent's
graphs already in memory (copy on write: nothing is pickled on the way in) and sends back only
its result. ``Forked(name, fn, *args)`` starts ``fn(*args)`` at once; ``result()`` waits for it
and returns what it returned, or raises what it raised, with the child's traceback as a note. An
error that cannot make the trip back (it does not pickle, or does not unpickle) and a child that
dies without a word become ``ForkedStepFailed``, naming the step, so a failed step fails the
build as it would have in the parent. Where fork does not exist (or ``KG_FORK=0``), the step runs
in the parent when ``result()`` asks.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import pickle
import signal
import traceback
import warnings
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, Generic, TypeVar

from kg.errors import KGError

T = TypeVar("T")


class ForkedStepFailed(KGError):
    """A forked step died, or raised something that could not be sent back."""


def _can_fork() -> bool:
    return os.environ.get("KG_FORK", "1") != "0" and "fork" in multiprocessing.get_all_start_methods()


class Forked(Generic[T]):
    def __init__(self, name: str, fn: Callable[..., T], *args: Any) -> None:
        self.name, self._fn, self._args = name, fn, args
        self._process: multiprocessing.process.BaseProcess | None = None
        if _can_fork():
            context = multiprocessing.get_context("fork")
            self._receive, send = context.Pipe(duplex=False)
            run = (send, self._receive, os.getpid(), name, fn, args)
            self._process = context.Process(target=_run, args=run, daemon=True)
            with warnings.catch_warnings():
                # Python 3.12 warns of fork in a threaded process: the only other thread here is
                # a native library's idle pool (numpy's, via morph-kgc), and the child uses no lock
                # of it: it runs our step and exits.
                warnings.filterwarnings(
                    "ignore", message=r".*multi-threaded.*fork", category=DeprecationWarning
                )
                self._process.start()
            send.close()  # the child's end: EOF here if the child dies without a word

    def result(self) -> T:
        if self._process is None:
            return self._fn(*self._args)
        try:
            ok, value = self._receive.recv()
        except EOFError:
            self._process.join()
            code = self._process.exitcode
            ok, value = (
                False,
                ForkedStepFailed(f"the build's {self.name} ended without a result (exit code {code})"),
            )
        finally:
            self._receive.close()
            self._process.join()
        if not ok:
            raise value
        return value

    def cancel(self) -> None:
        """Stop the child (the build failed or was interrupted elsewhere): nothing of it is wanted."""
        if self._process is not None and self._process.is_alive():
            self._process.kill()
            self._process.join()


def _run(
    send: Connection, receive: Connection, parent: int, name: str, fn: Callable[..., Any], args: tuple
) -> None:
    # The parent's end closed here: with it open, a send after the parent died would block for
    # ever once the pipe is full, instead of failing. And the step ends with the parent.
    receive.close()
    die_with(parent)
    try:
        message: tuple[bool, Any] = (True, fn(*args))
    except BaseException as exc:
        exc.add_note(
            f"in the build's {name} (a forked process):\n" + "".join(traceback.format_exception(exc))
        )
        message = (False, exc)
    try:
        send.send_bytes(_travelling(message, name))
    except OSError:  # the parent is gone (interrupted): nobody to tell
        pass
    finally:
        send.close()


def _travelling(message: tuple[bool, Any], name: str) -> bytes:
    """The message pickled, if it also unpickles (an exception whose constructor takes other
    arguments than its args does not); else the error as ForkedStepFailed with its text."""
    try:
        data = pickle.dumps(message)
        pickle.loads(data)
        return data
    except Exception:
        if message[0]:
            failed = ForkedStepFailed(f"the build's {name} gave a result that cannot be sent back")
        else:
            text = "".join(traceback.format_exception_only(message[1])).strip()
            failed = ForkedStepFailed(f"the build's {name} failed: {text}")
        return pickle.dumps((False, failed))


def die_with(parent: int) -> None:
    """End this process when ``parent`` dies (Linux's PR_SET_PDEATHSIG), even stopped or busy;
    and now, if it has died already. Otherwise a child whose parent was killed (SIGTERM from a
    supervisor, a query process's supervisor killed while it started up) would go on, holding
    memory and files, for ever."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(0)
