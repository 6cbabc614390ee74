"""CSV rows with checked headers, and cell conversion whose errors name the file, row and column."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

from dispatcher.errors import DispatchwiseError, InvalidInput

T = TypeVar("T")


def read_rows(path: Path, required: Iterable[str]) -> list[dict[str, str]]:
    if not path.exists():
        raise InvalidInput("file not found", file=str(path))
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            return csv_rows(fh, required, str(path))
    except UnicodeDecodeError as exc:
        raise InvalidInput("not UTF-8 text", file=str(path)) from exc


def csv_rows(lines: Iterable[str], required: Iterable[str], source: str) -> list[dict[str, str]]:
    """CSV lines (an open file or ``io.StringIO(text)``) → rows of stripped strings; errors name ``source``."""
    try:
        reader = csv.DictReader(lines)
        header = reader.fieldnames or []
        missing = [c for c in required if c not in header]
        if missing:
            raise InvalidInput(f"missing columns {missing}; found {header}", file=source, row=1)
        rows = []
        for line_no, row in enumerate(reader, start=2):
            if None in row or any(v is None for v in row.values()):
                raise InvalidInput("wrong number of fields", file=source, row=line_no)
            rows.append({k: (v or "").strip() for k, v in row.items()})
        return rows
    except csv.Error as exc:
        raise InvalidInput(f"malformed CSV: {exc}", file=source) from exc


def parse_cell(value: str, convert: Callable[[str], T], *, path: Path, row: int, column: str) -> T:
    try:
        return convert(value)
    except DispatchwiseError as exc:
        raise InvalidInput(exc.message, file=str(path), row=row, field=column) from exc
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"cannot read {value!r}: {exc}", file=str(path), row=row, field=column) from exc


def write_rows(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
