"""The HTML report page: KPI table against targets and PNG plots embedded as data URIs."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.demo.report import KpiRow, Plot, format_kpi_value, kpi_rows, render_report, write_report
from dispatcher.errors import InvalidInput

BOUND = st.none() | st.floats(0, 1)
NAMES = st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=30)
STAMP = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)


class PageParser(HTMLParser):
    """Collects table body rows (cell texts) and image sources of a rendered page."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.images: list[str] = []
        self._in_body = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.rows.append([])
        elif tag == "td" and self._in_body:
            self._cell = []
        elif tag == "img":
            self.images.append(dict(attrs).get("src") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_body = False
        elif tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse(page: str) -> PageParser:
    parser = PageParser()
    parser.feed(page)
    return parser


def png_file(path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(2, 1.5), dpi=50)
    ax.plot([0, 1, 2], [1, 3, 2])
    fig.savefig(path, format="png")
    plt.close(fig)
    return path


def test_kpi_rows_show_value_target_and_whether_it_was_met() -> None:
    kpis = [
        KpiRow("Service level (20 s)", 0.853, "%", minimum=0.8),
        KpiRow("Average speed of answer", 75.0, "s", maximum=60.0),
        KpiRow("Abandonment", 0.031, "%", maximum=0.05),
        KpiRow("Occupancy", 0.912, "%", minimum=0.75, maximum=0.85),
        KpiRow("Contacts handled", 12840, "count"),
    ]
    rows = parse(render_report(title="t", kpis=kpis, plots=[], generated_at=STAMP)).rows
    assert rows == [
        ["Service level (20 s)", "85.3 %", "≥ 80.0 %", "met"],
        ["Average speed of answer", "75.0 s", "≤ 60.0 s", "missed"],
        ["Abandonment", "3.1 %", "≤ 5.0 %", "met"],
        ["Occupancy", "91.2 %", "75.0 % – 85.0 %", "missed"],
        ["Contacts handled", "12,840", "—", "no target"],
    ]


def test_kpi_rows_read_the_service_kpi_body_with_default_targets() -> None:
    body = {"tasks": 120, "service_level": 0.78, "asa_s": 41.5, "abandonment_rate": None, "occupancy": 0.8}
    rows = kpi_rows(body)
    assert [(r.name, r.value, r.met) for r in rows] == [
        ("Service level", 0.78, False), ("Average speed of answer", 41.5, True), ("Abandonment", None, None),
        ("Occupancy", 0.8, True)]


def test_written_page_embeds_the_png_bytes_and_captions(tmp_path: Path) -> None:
    forecast = png_file(tmp_path / "forecast.png")
    gantt = png_file(tmp_path / "gantt.png")
    page_path = write_report(tmp_path / "report", kpis=[KpiRow("Occupancy", 0.84, "%", 0.75, 0.85)],
                             plots=[("Forecast vs actual", forecast), ("Today's shifts", gantt)],
                             generated_at=STAMP, subtitle="seed 7")
    page = page_path.read_text(encoding="utf-8")
    assert page_path == tmp_path / "report" / "index.html"
    images = parse(page).images
    assert len(images) == 2
    prefix = "data:image/png;base64,"
    assert all(src.startswith(prefix) for src in images)
    assert base64.b64decode(images[0][len(prefix):]) == forecast.read_bytes()
    assert base64.b64decode(images[1][len(prefix):]) == gantt.read_bytes()
    assert "<figcaption>Today&#x27;s shifts</figcaption>" in page
    assert "seed 7 · generated 2026-11-23 18:00 UTC" in page


def test_text_is_escaped_so_names_cannot_inject_markup() -> None:
    page = render_report(title="<b>x</b>", kpis=[KpiRow("<script>alert(1)</script>", 0.5, "%", 0.4)],
                         plots=[], generated_at=STAMP)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_missing_plot_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"plot file .*coverage\.png does not exist"):
        write_report(tmp_path, kpis=[], plots=[("Coverage", tmp_path / "coverage.png")])


def test_plot_that_is_not_a_png_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "kpis.png"
    fake.write_bytes(b"GIF89a not a png")
    with pytest.raises(InvalidInput, match="is not a PNG image") as err:
        write_report(tmp_path, kpis=[], plots=[("KPIs", fake)])
    assert err.value.file == str(fake)
    with pytest.raises(InvalidInput, match="'KPIs' is not a PNG image"):
        render_report(title="t", kpis=[], plots=[Plot("KPIs", b"GIF89a")], generated_at=STAMP)


def test_unknown_values_show_a_dash_and_no_verdict() -> None:
    rows = parse(render_report(title="t", kpis=[KpiRow("ASA", None, "s", maximum=20.0),
                                                KpiRow("SL", float("nan"), "%", minimum=0.8)],
                               plots=[], generated_at=STAMP)).rows
    assert rows == [["ASA", "—", "≤ 20.0 s", "no target"], ["SL", "—", "≥ 80.0 %", "no target"]]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(NAMES, st.floats(0, 1), BOUND, BOUND), max_size=12))
def test_every_kpi_gets_one_row_with_its_name_and_a_consistent_verdict(
    rows: list[tuple[str, float, float | None, float | None]],
) -> None:
    kpis = [KpiRow(name, value, "%", low, high) for name, value, low, high in rows]
    parsed = parse(render_report(title="t", kpis=kpis, plots=[], generated_at=STAMP)).rows
    assert len(parsed) == len(kpis)
    for cells, (name, value, low, high) in zip(parsed, rows, strict=True):
        assert cells[0] == name
        assert cells[1] == format_kpi_value(value, "%")
        if low is None and high is None:
            assert cells[3] == "no target"
        else:
            inside = (low is None or value >= low) and (high is None or value <= high)
            assert cells[3] == ("met" if inside else "missed")
