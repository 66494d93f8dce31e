"""What an experiment returns: panels of curves over seeds, and a summary table; written as CSV and text.

A curve holds one row of values per seed; the plot draws the mean over the seeds and shades the range from the
lowest to the highest seed, and the CSV holds all of them:

    panel, series, x, mean, min, max, seed_0, seed_1, ...
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..atomic_file import atomic_write


@dataclass
class Curve:
    series: str  # the legend's label
    x: Sequence[float]
    runs: np.ndarray  # (seeds, len(x))
    dashed: bool = False
    color: str | None = None  # matplotlib's choice when None

    def __post_init__(self) -> None:
        self.runs = np.atleast_2d(np.asarray(self.runs, dtype=np.float64))
        if self.runs.shape[1] != len(self.x):
            raise ValueError(f"curve {self.series!r}: {self.runs.shape[1]} values per seed for {len(self.x)} x values")

    @property
    def mean(self) -> np.ndarray:
        return self.runs.mean(axis=0)

    @property
    def low(self) -> np.ndarray:
        return self.runs.min(axis=0)

    @property
    def high(self) -> np.ndarray:
        return self.runs.max(axis=0)


@dataclass
class Panel:
    title: str
    xlabel: str
    ylabel: str
    curves: list[Curve]
    xscale: str = "linear"  # or "log", "log2"
    yscale: str = "linear"
    xticks: Sequence[float] | None = None  # label exactly these x values
    ylim: tuple[float, float] | None = None
    invert_x: bool = False
    marks: Sequence[tuple[float, str]] = ()  # vertical lines at x, labelled
    note: str = ""  # text in the panel's corner


@dataclass
class Result:
    title: str
    panels: list[Panel]
    table: list[dict[str, Any]] = field(default_factory=list)  # the summary printed at the end
    columns: int = 3  # panels per row in the figure
    shared_legend: bool = False  # one legend beside the figure instead of one per panel (same series everywhere)


def csv_rows(result: Result) -> list[list[Any]]:
    """Every number plotted, one row per (panel, curve, x), header first."""
    seeds = max((curve.runs.shape[0] for panel in result.panels for curve in panel.curves), default=0)
    rows: list[list[Any]] = [["panel", "series", "x", "mean", "min", "max", *(f"seed_{s}" for s in range(seeds))]]
    for panel in result.panels:
        for curve in panel.curves:
            for i, x in enumerate(curve.x):
                values = [_number(v) for v in curve.runs[:, i]]
                stats = [_number(v) for v in (curve.mean[i], curve.low[i], curve.high[i])]
                rows.append([panel.title, curve.series, _number(x), *stats, *values])
    return rows


def write_csv(path, rows: list[list[Any]]) -> None:
    """Write `rows` to `path` whole or not at all."""
    text = io.StringIO(newline="")
    csv.writer(text).writerows(rows)
    with atomic_write(path) as file:
        file.write(text.getvalue().encode())


def table_rows(result: Result) -> list[list[Any]]:
    """The summary table as CSV rows, header first."""
    if not result.table:
        return []
    header = list(result.table[0])
    return [header, *([row.get(key, "") for key in header] for row in result.table)]


def format_table(result: Result) -> str:
    """The summary table as aligned text."""
    rows = [[_text(cell) for cell in row] for row in table_rows(result)]
    if not rows:
        return ""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)


def _number(value: float) -> float | int:
    value = float(value)
    return int(value) if value.is_integer() and abs(value) < 2**53 else float(f"{value:.6g}")


def _text(cell: Any) -> str:
    if isinstance(cell, float) and math.isfinite(cell):
        return f"{cell:.4g}"
    return str(cell)
