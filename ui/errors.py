"""The one place where package warnings and errors become messages on the page, never tracebacks."""
from __future__ import annotations

import logging
import re
import threading
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterator, Sequence

import streamlit as st

from geo.errors import GridPatrolError, Problem, ValidationError
from geo.markup import escape_markdown
from geo.warn import captured_warnings
from server.accounts import PermissionDenied
from ui.i18n import current_language, t
from ui.report import problems_table

__all__ = ["shown_errors", "show_problems", "show_warnings"]


def show_problems(problems: Sequence[Problem], *, error: bool,
                  hide_folders: Sequence[str | Path] = ()) -> None:
    """Problems as ``st.error`` (or warnings as ``st.warning``) followed by a table of them."""
    if not problems:
        return
    problems = [replace(p, source=_without_paths(str(p.source), hide_folders),
                        message=_without_paths(str(p.message), hide_folders),
                        fix=_without_paths(str(p.fix), hide_folders)) for p in problems]
    if error:
        st.error(t("err.problems", n=len(problems)))
    else:
        st.warning(t("err.warnings", n=len(problems)))
    st.dataframe(problems_table(problems, lang=current_language(), hide_folders=hide_folders),
                 hide_index=True, width="stretch")


_local = threading.local()
log = logging.getLogger(__name__)

# Absolute paths (POSIX or Windows) in a message: only the file name is shown.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~:/\\])(?:[A-Za-z]:[\\/]|/)(?:[^\s/\\'\"]+[\\/])+")


def _without_paths(message: str, hide_folders: Sequence[str | Path] = ()) -> str:
    """``message`` without the folders of absolute paths (the file name stays) and with any
    other mention of ``hide_folders`` as ``…``: the page never shows where the server keeps
    files."""
    message = _ABSOLUTE_PATH.sub("", message)
    for folder in hide_folders:
        message = message.replace(str(folder), "…")
    return message


def _show_warnings(notes: Sequence[str], start: int, hide_folders: Sequence[str | Path]) -> None:
    """Show the notes not yet shown by an inner block (``start``: this block's mark)."""
    shown = _local.__dict__.setdefault("shown", [])
    already = set(shown[start:])
    for note in notes:
        if note in already:
            continue
        already.add(note)
        shown.append(note)
        st.warning(t("err.warning", message=escape_markdown(_without_paths(note, hide_folders))))


def show_warnings(messages: Sequence[str], *, hide_folders: Sequence[str | Path] = ()) -> None:
    """Show package warnings that a page kept (e.g. returned from a cached computation) with
    ``st.warning``, each once: an enclosing ``shown_errors`` block does not show them again."""
    messages = [" ".join(str(m).split()) for m in messages]
    if getattr(_local, "depth", 0) == 0:  # no block to remember them for
        for message in dict.fromkeys(messages):
            st.warning(t("err.warning", message=escape_markdown(_without_paths(message, hide_folders))))
        return
    _show_warnings(messages, 0, hide_folders)


@contextmanager
def shown_errors(*, on_problems: Callable[[list[Problem]], None] | None = None,
                 hide_folders: Sequence[str | Path] = ()) -> Iterator[list[str]]:
    """Run the block; show its warnings and errors on the page, never a traceback.

    - every warning that geo/ and planning/ raise inside the block (``geo.warn``) is shown
      with ``st.warning`` (once, also when blocks are nested); the block receives the list;
    - a ValidationError is shown as a table of its problems, a GridPatrolError with
      ``st.error``;
    - any other exception is a bug: the traceback goes to the server log
      (``logging.exception``) and the page says only that an internal error was logged.

    Messages never show server folders: ``hide_folders`` become ``…`` and other absolute
    paths keep only their file name. ``on_problems`` receives the problems of a caught
    GridPatrolError (a plain error becomes one problem without layer), e.g. to keep them for
    the validation report. Streamlit's own control flow (``st.rerun``, ``st.stop``) passes.
    """
    shown = _local.__dict__.setdefault("shown", [])
    depth = getattr(_local, "depth", 0)
    _local.depth = depth + 1
    start = len(shown)
    try:
        with captured_warnings() as notes:
            try:
                yield notes
            except ValidationError as exc:
                if on_problems is not None:
                    on_problems(list(exc.problems))
                show_problems(exc.problems, error=True, hide_folders=hide_folders)
            except PermissionDenied as exc:  # the role is checked on the server, said in the UI language
                st.error(t("err.denied", role=t(f"login.role.{exc.role}") if exc.role else "-"))
            except GridPatrolError as exc:
                message = _without_paths(str(exc), hide_folders)
                if on_problems is not None:
                    on_problems([Problem("", "", type(exc).__name__, message, "")])
                st.error(escape_markdown(message))  # names from data are text, never markup
            except Exception:  # a bug: the log gets the traceback, the page one sentence
                log.exception("internal error on the page")
                st.error(t("err.internal"))
        _show_warnings(notes, start, hide_folders)
    finally:
        _local.depth = depth
        if depth == 0:
            shown.clear()
