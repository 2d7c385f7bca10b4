"""The one place where package errors (GridPatrolError) become messages on the page, never tracebacks."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Sequence

import streamlit as st

from geo.errors import GridPatrolError, Problem, ValidationError
from ui.i18n import current_language, t
from ui.report import problems_table

__all__ = ["shown_errors", "show_problems"]


def show_problems(problems: Sequence[Problem], *, error: bool,
                  hide_folders: Sequence[str | Path] = ()) -> None:
    """Problems as ``st.error`` (or warnings as ``st.warning``) followed by a table of them."""
    if not problems:
        return
    if error:
        st.error(t("err.problems", n=len(problems)))
    else:
        st.warning(t("err.warnings", n=len(problems)))
    st.dataframe(problems_table(problems, lang=current_language(), hide_folders=hide_folders),
                 hide_index=True, width="stretch")


@contextmanager
def shown_errors(*, on_problems: Callable[[list[Problem]], None] | None = None,
                 hide_folders: Sequence[str | Path] = ()) -> Iterator[None]:
    """Run the block; show a GridPatrolError with ``st.error`` (a ValidationError as a table).

    ``on_problems`` receives the problems of a caught error (a plain error becomes one problem
    without layer), e.g. to keep them for the validation report. Other exceptions are bugs and
    propagate.
    """
    try:
        yield
    except ValidationError as exc:
        if on_problems is not None:
            on_problems(list(exc.problems))
        show_problems(exc.problems, error=True, hide_folders=hide_folders)
    except GridPatrolError as exc:
        message = str(exc)
        for folder in hide_folders:
            message = message.replace(str(folder), "…")
        if on_problems is not None:
            on_problems([Problem("", "", type(exc).__name__, message, "")])
        st.error(message)
