"""The one way HiGHS models are made here: silent and on one thread.

HiGHS prints a banner ("Running HiGHS … Copyright …") on the C-level stdout when the first
model of a process is made, before any option can turn it off; in ``gridpatrol … --json``
that text would come before the JSON. ``new_highs`` makes that first model with stdout
pointed at the null device, and every model with ``output_flag`` off and one thread.
"""
from __future__ import annotations

import os
import sys
import threading

import highspy

__all__ = ["new_highs", "LOG_VARIABLE"]

#: Environment variable that turns the solver log on (to stdout) for every model: debugging.
LOG_VARIABLE = "GP_HIGHS_LOG"

_lock = threading.Lock()
_banner_shown = False  # HiGHS prints its banner once per process, at the first model


def _quiet_first() -> highspy.Highs:
    """A model made with the C-level stdout on the null device (the banner goes nowhere)."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError, AttributeError):  # no real stdout (embedded interpreters)
        return highspy.Highs()
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 1)
        finally:
            os.close(null)
        return highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def new_highs(*, threads: int = 1, log: bool | None = None) -> highspy.Highs:
    """A new HiGHS model with its output off and ``threads`` threads.

    Parameters
    ----------
    threads : HiGHS threads; keep 1: HiGHS' task scheduler is global to the process, and a
        multi-threaded run made a later model in the same process end "Not Set".
    log : the solver log on stdout (``output_flag``); None: only when the environment
        variable ``GP_HIGHS_LOG`` is set (debugging).

    The first model of the process is made with stdout on the null device, so that HiGHS'
    banner reaches neither stdout (``--json``) nor stderr.
    """
    global _banner_shown
    with _lock:
        if _banner_shown:
            h = highspy.Highs()
        else:
            h = _quiet_first()
            _banner_shown = True
    if log is None:
        log = bool(os.environ.get(LOG_VARIABLE))
    h.setOptionValue("output_flag", bool(log))
    h.setOptionValue("threads", int(threads))
    return h
