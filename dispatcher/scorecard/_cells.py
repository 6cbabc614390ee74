"""Reading table cells into typed columns: text, timestamps, numbers, booleans; errors name the row and column."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from dispatcher.errors import InvalidInput

_TZ_SUFFIX = re.compile(r"[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?\s*(?:Z|z|[+-]\d\d(?::?\d\d)?)$")
"""A timestamp with a time of day and an offset (a bare date or a time without offset is naive)."""
_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "f"})


def _text(series: pd.Series) -> pd.Series:
    """Cells as stripped text (pandas' Arrow-backed ``str`` dtype), missing values as ''."""
    if series.isna().all():
        return pd.Series("", index=series.index, dtype="str")
    if pd.api.types.is_bool_dtype(series.dtype):
        series = series.astype(object)
    if not pd.api.types.is_string_dtype(series.dtype) or series.dtype == object:
        series = series.astype("str")
    return series.str.strip().fillna("")


def _fail(message: str, *, column: str, position: int, row_offset: int) -> InvalidInput:
    return InvalidInput(message, field=column, row=position + row_offset)


def _timestamps(series: pd.Series, column: str, *, row_offset: int, required: pd.Series) -> pd.Series:
    """Tz-aware UTC timestamps; empty where allowed, InvalidInput naming the row otherwise."""
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        parsed = series.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_any_dtype(series.dtype) and series.notna().any():
        raise InvalidInput("timestamps must be timezone-aware (give an offset or Z)", field=column)
    elif series.isna().all() or (_text(series) == "").all():
        parsed = pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns, UTC]")
    else:
        text = _text(series)
        present = text != ""
        naive = present & ~text.str.contains(_TZ_SUFFIX.pattern, regex=True)
        if naive.any():
            pos = int(np.flatnonzero(naive.to_numpy())[0])
            raise _fail(f"timestamp {text.iloc[pos]!r} has no timezone (give an offset or Z)",
                        column=column, position=pos, row_offset=row_offset)
        parsed = pd.to_datetime(text.where(present, None), utc=True, errors="coerce", format="ISO8601")
        bad = present & parsed.isna()
        if bad.any():
            pos = int(np.flatnonzero(bad.to_numpy())[0])
            raise _fail(f"not an ISO 8601 timestamp: {text.iloc[pos]!r}", column=column, position=pos,
                        row_offset=row_offset)
    missing = required & parsed.isna()
    if missing.any():
        pos = int(np.flatnonzero(missing.to_numpy())[0])
        raise _fail("timestamp is required here", column=column, position=pos, row_offset=row_offset)
    try:
        result: pd.Series = parsed.astype("datetime64[ns, UTC]")
    except pd.errors.OutOfBoundsDatetime as exc:
        raise _fail(f"timestamp outside 1677-2262: {exc}", column=column, position=0, row_offset=row_offset) from exc
    return result


def _numbers(series: pd.Series, column: str, *, row_offset: int, required: pd.Series,
             low: float, high: float) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        values = series.astype(float)
        present = values.notna()
        text = series
    else:
        text = _text(series)
        present = text != ""
        values = pd.to_numeric(text.where(present, None), errors="coerce").astype(float)
    bad = present & ~(values.between(low, high) & np.isfinite(values))
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        raise _fail(f"expected a number in [{low:g}, {high:g}], got {str(text.iloc[pos])!r}", column=column,
                    position=pos, row_offset=row_offset)
    missing = required & ~present
    if missing.any():
        pos = int(np.flatnonzero(missing.to_numpy())[0])
        raise _fail("a number is required here", column=column, position=pos, row_offset=row_offset)
    return values


def _booleans(series: pd.Series, column: str, *, row_offset: int) -> pd.Series:
    """Nullable booleans: true/false/1/0/yes/no, empty = unknown."""
    text = _text(series).str.lower()
    bad = (text != "") & ~text.isin(_TRUE | _FALSE)
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        raise _fail(f"expected true/false, got {str(text.iloc[pos])!r}", column=column, position=pos,
                    row_offset=row_offset)
    out = pd.Series(pd.NA, index=series.index, dtype="boolean")
    out[text.isin(_TRUE)] = True
    out[text.isin(_FALSE)] = False
    return out
