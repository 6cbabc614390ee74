"""shift_templates.csv: ``name,start,length_min,breaks`` where ``breaks`` is ``15@90-150/paid;30@180-300``
(length @ earliest-latest start minute into the shift). Errors name file, row and column."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import time, timedelta
from pathlib import Path

from api.formats.csv_rows import parse_cell, read_rows, write_rows
from dispatcher.domain import BreakRule, ShiftTemplate
from dispatcher.errors import InvalidInput

TEMPLATE_COLUMNS = ["name", "start", "length_min", "breaks"]


def parse_breaks(text: str) -> tuple[BreakRule, ...]:
    rules = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        spec, _, flag = part.partition("/")
        length, sep, window = spec.partition("@")
        earliest, sep2, latest = window.partition("-")
        if not sep or not sep2:
            raise ValueError(f"expected LEN@EARLIEST-LATEST[/paid], got {part!r}")
        rules.append(BreakRule(int(length), int(earliest), int(latest), paid=flag.strip().lower() == "paid"))
    return tuple(rules)


def format_breaks(rules: Iterable[BreakRule]) -> str:
    return ";".join(
        f"{r.length_min}@{r.earliest_start_min}-{r.latest_start_min}{'/paid' if r.paid else ''}" for r in rules
    )


def read_templates(path: Path) -> list[ShiftTemplate]:
    rows = read_rows(path, TEMPLATE_COLUMNS[:3])
    templates = []
    for line_no, row in enumerate(rows, start=2):
        start = parse_cell(row["start"], time.fromisoformat, path=path, row=line_no, column="start")
        length = parse_cell(row["length_min"], lambda v: timedelta(minutes=float(v)), path=path, row=line_no,
                            column="length_min")
        breaks = parse_cell(row.get("breaks", ""), parse_breaks, path=path, row=line_no, column="breaks")
        try:
            templates.append(ShiftTemplate(row["name"], start, length, breaks))
        except InvalidInput as exc:
            raise InvalidInput(exc.message, file=str(path), row=line_no, field=exc.field) from exc
    if not templates:
        raise InvalidInput("no shift templates", file=str(path))
    return templates


def write_templates(path: Path, templates: Iterable[ShiftTemplate]) -> None:
    write_rows(path, TEMPLATE_COLUMNS, (
        [t.name, t.start.strftime("%H:%M"), int(t.length.total_seconds() // 60), format_breaks(t.breaks)]
        for t in templates
    ))
