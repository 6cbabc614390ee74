"""One self-contained HTML report page: the demo's PNG plots (embedded as data URIs) and a KPI table.

``render_report`` is pure (bytes in, HTML text out); ``write_report`` reads the PNG files and writes
``index.html`` next to them, e.g. in ``./.dispatchwise/report/``. The page opens offline and can be
mailed as one file.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from dispatcher.errors import InvalidInput

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
Unit = Literal["%", "s", "count", ""]


@dataclass(frozen=True, slots=True)
class KpiRow:
    """One KPI against its target: at least ``minimum``, at most ``maximum``, or inside both (a band).
    ``%`` values are fractions (0.82 shows as 82.0 %)."""

    name: str
    value: float | None
    unit: Unit = ""
    minimum: float | None = None
    maximum: float | None = None

    @property
    def met(self) -> bool | None:
        """True/False when the value and a target are known, None otherwise."""
        if self.value is None or math.isnan(self.value) or (self.minimum is None and self.maximum is None):
            return None
        return (self.minimum is None or self.value >= self.minimum) and (
            self.maximum is None or self.value <= self.maximum
        )

    @property
    def target_text(self) -> str:
        low, high = self.minimum, self.maximum
        if low is not None and high is not None:
            return f"{format_kpi_value(low, self.unit)} – {format_kpi_value(high, self.unit)}"
        if low is not None:
            return f"≥ {format_kpi_value(low, self.unit)}"
        if high is not None:
            return f"≤ {format_kpi_value(high, self.unit)}"
        return "—"


HEADLINE_KPIS: tuple[tuple[str, str, Unit], ...] = (
    ("service_level", "Service level", "%"),
    ("asa_s", "Average speed of answer", "s"),
    ("abandonment_rate", "Abandonment", "%"),
    ("occupancy", "Occupancy", "%"),
)
DEFAULT_TARGETS: dict[str, tuple[float | None, float | None]] = {
    "service_level": (0.8, None),
    "asa_s": (None, 60.0),
    "abandonment_rate": (None, 0.05),
    "occupancy": (0.75, 0.85),
}
"""(minimum, maximum) per KPI; the dashboard shows the same targets."""


def kpi_rows(
    kpis: Mapping[str, float | int | None],
    targets: Mapping[str, tuple[float | None, float | None]] = DEFAULT_TARGETS,
) -> list[KpiRow]:
    """The four headline KPIs of a ``/v1/kpis`` body (or the same keys from a simulation) as report rows."""
    rows = []
    for key, label, unit in HEADLINE_KPIS:
        value = kpis.get(key)
        low, high = targets.get(key, (None, None))
        rows.append(KpiRow(label, None if value is None else float(value), unit, low, high))
    return rows


@dataclass(frozen=True, slots=True)
class Plot:
    """A PNG image with the caption shown under it."""

    caption: str
    png: bytes


def format_kpi_value(value: float | None, unit: Unit) -> str:
    if value is None or math.isnan(value):
        return "—"
    if unit == "%":
        return f"{value * 100:.1f} %"
    if unit == "s":
        return f"{value:.1f} s"
    if unit == "count":
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _data_uri(plot: Plot) -> str:
    if not plot.png.startswith(PNG_SIGNATURE):
        raise InvalidInput(f"plot {plot.caption!r} is not a PNG image", field="png")
    return "data:image/png;base64," + base64.b64encode(plot.png).decode("ascii")


_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f4f6f9;color:#1d2633}
header{background:#18324f;color:#fff;padding:18px 32px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;opacity:.8}main{max-width:1180px;margin:0 auto;padding:24px 32px}
section{background:#fff;border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.08);padding:18px 22px;margin-bottom:22px}
h2{font-size:17px;margin:0 0 12px}table{border-collapse:collapse;width:100%;max-width:820px}
th,td{text-align:left;padding:8px 10px;border-bottom:1px solid #e6eaf0}th{color:#5b6776;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}.met{color:#17803d;font-weight:600}
.missed{color:#c0392b;font-weight:600}.unknown{color:#8a94a3}
figure{margin:0 0 22px}figure img{max-width:100%;border:1px solid #e6eaf0;border-radius:6px}
figcaption{color:#5b6776;margin-top:6px}
"""


def render_report(
    *,
    title: str,
    kpis: Sequence[KpiRow],
    plots: Sequence[Plot],
    generated_at: datetime,
    subtitle: str = "",
) -> str:
    """The report page as HTML text: a KPI table (value, target, met/missed) then the plots."""
    esc = html.escape
    rows = []
    for kpi in kpis:
        met = kpi.met
        status, css = ("met", "met") if met else ("missed", "missed") if met is False else ("no target", "unknown")
        target = kpi.target_text
        rows.append(
            f"<tr><td>{esc(kpi.name)}</td><td class=num>{esc(format_kpi_value(kpi.value, kpi.unit))}</td>"
            f"<td class=num>{esc(target)}</td><td class={css}>{status}</td></tr>"
        )
    kpi_table = (
        "<table><thead><tr><th>KPI</th><th>Actual</th><th>Target</th><th>Status</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        if rows
        else "<p class=unknown>No KPIs recorded.</p>"
    )
    figures = "".join(
        f'<figure><img src="{_data_uri(p)}" alt="{esc(p.caption)}"><figcaption>{esc(p.caption)}</figcaption></figure>'
        for p in plots
    )
    stamp = generated_at.strftime("%Y-%m-%d %H:%M %Z").strip()
    sub = f"{esc(subtitle)} · " if subtitle else ""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{esc(title)}</h1><p>{sub}generated {esc(stamp)}</p></header><main>"
        f"<section><h2>Key performance indicators</h2>{kpi_table}</section>"
        f"<section><h2>Plots</h2>{figures or '<p class=unknown>No plots.</p>'}</section>"
        "</main></body></html>\n"
    )


def write_report(
    out_dir: Path,
    *,
    kpis: Sequence[KpiRow],
    plots: Sequence[tuple[str, Path]],
    title: str = "dispatchwise report",
    subtitle: str = "",
    generated_at: datetime | None = None,
    filename: str = "index.html",
) -> Path:
    """Write the report page into ``out_dir``; ``plots`` are (caption, PNG path) pairs."""
    loaded = []
    for caption, path in plots:
        try:
            png = Path(path).read_bytes()
        except FileNotFoundError:
            raise InvalidInput(f"plot file {path} does not exist", file=str(path)) from None
        if not png.startswith(PNG_SIGNATURE):
            raise InvalidInput(f"plot file {path} is not a PNG image", file=str(path))
        loaded.append(Plot(caption=caption, png=png))
    page = render_report(
        title=title,
        kpis=kpis,
        plots=loaded,
        generated_at=generated_at or datetime.now().astimezone(),
        subtitle=subtitle,
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / filename
    target.write_text(page, encoding="utf-8")
    return target
