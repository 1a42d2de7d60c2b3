"""A step of the build run beside the others, in a forked process (the machine's second core).

The build's steps hold the interpreter lock for most of their time (rdflib, pyshacl, the
serializers' Python glue), so threads would take turns; a forked child starts with the parent's
graphs already in memory (copy on write: nothing is pickled on the way in) and sends back only
its result. ``Forked(fn, *args)`` starts ``fn(*args)`` at once; ``result()`` waits for it and
returns what it returned, or raises what it raised (as ``ForkedStepFailed`` with its message if
it cannot be sent back), so a failed step fails the build as it would have in the parent.
Where fork does not exist (or ``KG_FORK=0``), the step runs in the parent when ``result()`` asks.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class ForkedStepFailed(RuntimeError):
    """A forked step died or raised something that could not be sent back."""


def _can_fork() -> bool:
    return os.environ.get("KG_FORK", "1") != "0" and "fork" in multiprocessing.get_all_start_methods()


class Forked(Generic[T]):
    def __init__(self, fn: Callable[..., T], *args: Any) -> None:
        self._fn, self._args = fn, args
        self._process: multiprocessing.process.BaseProcess | None = None
        if _can_fork():
            context = multiprocessing.get_context("fork")
            self._receive, send = context.Pipe(duplex=False)
            self._process = context.Process(target=_run, args=(send, fn, args), daemon=True)
            self._process.start()
            send.close()  # the child's end: EOF here if the child dies without a word

    def result(self) -> T:
        if self._process is None:
            return self._fn(*self._args)
        try:
            ok, value = self._receive.recv()
        except EOFError:
            ok, value = False, ForkedStepFailed(f"{_name(self._fn)} ended without a result")
        finally:
            self._receive.close()
            self._process.join()
        if not ok:
            raise value
        return value

    def cancel(self) -> None:
        """Stop the child (the build failed elsewhere): nothing of it is wanted any more."""
        if self._process is not None and self._process.is_alive():
            self._process.kill()
            self._process.join()


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", repr(fn))


def _run(send: Connection, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        message: tuple[bool, Any] = (True, fn(*args))
    except BaseException as exc:
        message = (False, exc)
    try:
        send.send(message)
    except (pickle.PicklingError, TypeError, AttributeError):
        text = "".join(traceback.format_exception_only(message[1])).strip() if not message[0] else ""
        send.send((False, ForkedStepFailed(f"{_name(fn)}: {text or 'its result could not be sent back'}")))
    finally:
        send.close()
