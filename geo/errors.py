"""The small exception family of GridPatrol and the problem records validators collect."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

__all__ = ["GridPatrolError", "InputError", "CRSError", "ValidationError", "Problem",
           "GridPatrolWarning", "format_ids"]


class GridPatrolError(ValueError):
    """Bad input or an impossible request: shown to the user, exit code 2 on the command line."""


class InputError(GridPatrolError):
    """A file, layer, column or argument that cannot be used as given."""


class CRSError(GridPatrolError):
    """A coordinate reference system that is missing, unknown or unfit for the job."""


class GridPatrolWarning(UserWarning):
    """A recoverable data problem that was repaired; the message lists the affected ids."""


def format_ids(ids: Iterable[object], *, limit: int = 12) -> str:
    """Render ids as ``a, b, c`` with a count of the rest when there are more than ``limit``."""
    texts = [str(i) for i in ids]
    if len(texts) <= limit:
        return ", ".join(texts)
    return ", ".join(texts[:limit]) + f" … (+{len(texts) - limit} more)"


@dataclass(frozen=True)
class Problem:
    """One problem found in one layer.

    Attributes
    ----------
    source : the file (or upload name) the layer came from.
    layer : the workspace layer it was meant for (``stations``, ``townships``…).
    rule : a short machine-readable name (``no_crs``, ``null_ids``…).
    message : what is wrong, in words.
    fix : what the user should do.
    ids : the row ids (or row numbers) concerned, possibly empty.
    """

    source: str
    layer: str
    rule: str
    message: str
    fix: str
    ids: tuple = field(default_factory=tuple)

    def __str__(self) -> str:
        where = f"{self.source} [{self.layer}]"
        ids = f" (rows: {format_ids(self.ids)})" if self.ids else ""
        return f"{where}: {self.message}{ids}. Fix: {self.fix}"


class ValidationError(GridPatrolError):
    """Every problem found in one validation pass, raised once."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} found"
        super().__init__(head + ":\n" + "\n".join(f"- {p}" for p in self.problems))
