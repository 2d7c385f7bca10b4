"""Warning capture: what geo/ and planning/ warned about inside a block, for the front ends.

The packages report recoverable data problems with ``logging`` (``log.warning``) or with
``warnings.warn(..., GridPatrolWarning)``. ``captured_warnings`` collects both, so that the
command line can print them and put them in ``--json`` and the app can show them. It is the one
helper for this job; the CLI and the app use it.

Capture is per thread (Streamlit runs each session in its own thread): a block sees the
warnings raised by its own thread only. Logged records still reach the other handlers.
"""
from __future__ import annotations

import logging
import threading
import warnings
from contextlib import contextmanager
from typing import Iterator, Sequence

from geo.errors import GridPatrolWarning

__all__ = ["captured_warnings", "PACKAGE_LOGGERS"]

PACKAGE_LOGGERS: tuple[str, ...] = ("geo", "planning")

_local = threading.local()
_original_showwarning = warnings.showwarning


class _Collect(logging.Handler):
    """Appends the message of each WARNING (or worse) record of one thread to a list."""

    def __init__(self, notes: list[str], thread: int):
        super().__init__(logging.WARNING)
        self.notes, self.thread = notes, thread

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self.thread:
            return
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call must not break the caller
            message = str(record.msg)
        _add(self.notes, message)


def _add(notes: list[str], message: str) -> None:
    message = " ".join(str(message).split())
    if message and message not in notes:
        notes.append(message)


def _showwarning(message, category, filename, lineno, file=None, line=None):
    stack = getattr(_local, "stack", None)
    if stack and isinstance(category, type) and issubclass(category, GridPatrolWarning):
        for notes in stack:  # nested blocks all see it, as with logged records
            _add(notes, str(message))
        return
    _original_showwarning(message, category, filename, lineno, file, line)


@contextmanager
def captured_warnings(*, loggers: Sequence[str] = PACKAGE_LOGGERS) -> Iterator[list[str]]:
    """Collect the warnings raised inside the block; yields the list of messages (text,
    whitespace collapsed, each once, in order). It fills while the block runs.

    Parameters
    ----------
    loggers : names of the loggers whose WARNING records are collected (with their children).

    Collected are WARNING-or-worse records of ``loggers`` and ``GridPatrolWarning`` warnings
    (shown every time, not once per place). Other warnings (library deprecations) pass as usual.
    """
    global _original_showwarning
    notes: list[str] = []
    handler = _Collect(notes, threading.get_ident())
    targets = [logging.getLogger(name) for name in dict.fromkeys(loggers)]
    for logger in targets:
        logger.addHandler(handler)
    if warnings.showwarning is not _showwarning:
        _original_showwarning = warnings.showwarning
        warnings.showwarning = _showwarning
    warnings.filterwarnings("always", category=GridPatrolWarning)
    stack = _local.__dict__.setdefault("stack", [])
    stack.append(notes)
    try:
        yield notes
    finally:
        for i in range(len(stack) - 1, -1, -1):
            if stack[i] is notes:
                del stack[i]
                break
        for logger in targets:
            logger.removeHandler(handler)
