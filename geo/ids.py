"""Ids: the one rule by which ids of cells, stations, nodes and points are compared (strings).

Ids come from users' files as integers, floats (``7.0`` after a CSV round trip or a column with
gaps), numpy scalars or text. They are compared as text everywhere: ``7``, ``7.0`` and ``"7"``
are the same id; ``"007"`` is another one (ids are never cast to int, which would merge them).
"""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np
import pandas as pd

__all__ = ["id_str", "normalise_ids", "id_list"]


def id_str(value: object) -> str | None:
    """One id as text: ``7``, ``7.0`` and ``np.int64(7)`` become ``"7"``; text is stripped;
    ``None``, NaN, NA and blank text become None. Booleans are text (``"True"``)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            return None
        if v.is_integer():
            return str(int(v))
        return str(v)
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    text = str(value).strip()
    return text or None


def normalise_ids(values: pd.Series | Iterable[object]) -> pd.Series:
    """Ids as text, one per value (see ``id_str``), keeping a Series' index; dtype object.

    Integer columns take a fast path (node ids of large networks).
    """
    if not isinstance(values, pd.Series):
        values = pd.Series(list(values), dtype=object)
    if pd.api.types.is_integer_dtype(values.dtype) and not pd.api.types.is_extension_array_dtype(values.dtype):
        return pd.Series(values.to_numpy().astype(str).astype(object), index=values.index, dtype=object)
    if isinstance(values.dtype, pd.StringDtype) and len(values) > 256:  # long text columns
        text = values.str.strip()
        return text.astype(object).where(text.notna() & (text != ""), None)
    return pd.Series([id_str(v) for v in values], index=values.index, dtype=object)


def id_list(values: Iterable[object]) -> list[str | None]:
    """``id_str`` of each value, as a list."""
    return [id_str(v) for v in values]
