"""Draw a Result as one PNG: a grid of panels, each curve its mean over seeds with the seeds' range shaded.

matplotlib is the `plot` extra: `pyplot()` raises ImportError when it is missing, and nothing else here runs.
"""

from __future__ import annotations

import io
import math

from ..atomic_file import atomic_write
from .results import Panel, Result

DPI = 80
PANEL_INCHES = (4.6, 3.5)
LEGEND_INCHES = 1.9
PALETTE = 64


def pyplot():
    """matplotlib's pyplot on its file-only backend (Agg); ImportError when matplotlib is not installed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_png(result: Result, path) -> None:
    plt = pyplot()
    columns = min(result.columns, len(result.panels))
    rows = math.ceil(len(result.panels) / columns)
    legend_inches = LEGEND_INCHES if result.shared_legend else 0.0
    width = PANEL_INCHES[0] * columns + legend_inches
    figure, axes = plt.subplots(rows, columns, figsize=(width, PANEL_INCHES[1] * rows + 0.4), squeeze=False)
    for ax, panel in zip(axes.flat, result.panels):
        _draw(ax, panel, legend=not result.shared_legend)
    for ax in list(axes.flat)[len(result.panels) :]:
        ax.set_axis_off()
    figure.suptitle(result.title)
    figure.tight_layout(rect=(0, 0, 1 - legend_inches / width, 1))
    if result.shared_legend:
        handles, labels = axes.flat[0].get_legend_handles_labels()
        figure.legend(handles, labels, loc="center right", fontsize=8)
    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format="png", dpi=DPI)
    finally:
        plt.close(figure)
    _save_with_palette(buffer, path)


def _save_with_palette(png: io.BytesIO, path) -> None:
    """Write the PNG with a palette of PALETTE colors (a quarter of the bytes, no visible change for line plots),
    whole or not at all. Pillow comes with matplotlib."""
    from PIL import Image

    png.seek(0)
    with Image.open(png) as image, atomic_write(path) as file:
        image.convert("RGB").quantize(PALETTE, method=Image.Quantize.MEDIANCUT).save(file, format="png", optimize=True)


def _draw(ax, panel: Panel, legend: bool) -> None:
    for curve in panel.curves:
        marker = "o" if len(curve.x) <= 12 else None
        (line,) = ax.plot(
            curve.x,
            curve.mean,
            linestyle="--" if curve.dashed else "-",
            marker=marker,
            markersize=4,
            color=curve.color,
            label=curve.series,
        )
        if curve.runs.shape[0] > 1:
            ax.fill_between(curve.x, curve.low, curve.high, color=line.get_color(), alpha=0.18, linewidth=0)
    if panel.xscale == "log2":
        ax.set_xscale("log", base=2)
    else:
        ax.set_xscale(panel.xscale)
    ax.set_yscale(panel.yscale)
    if panel.xticks is not None:
        ax.set_xticks(list(panel.xticks), [f"{x:g}" for x in panel.xticks])
        ax.minorticks_off()
    if panel.ylim is not None:
        ax.set_ylim(*panel.ylim)
    if panel.invert_x:
        ax.invert_xaxis()
    for x, label in panel.marks:
        ax.axvline(x, color="0.5", linewidth=0.8, linestyle=":")
        ax.annotate(
            label,
            (x, 1),
            xycoords=("data", "axes fraction"),
            xytext=(-1, -3),
            textcoords="offset points",
            fontsize=7,
            rotation=90,
            ha="right",
            va="top",
            color="0.3",
        )
    if panel.note:
        ax.text(
            0.02,
            0.02,
            panel.note,
            transform=ax.transAxes,
            fontsize=7,
            va="bottom",
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "0.8"},
        )
    ax.set(title=panel.title, xlabel=panel.xlabel, ylabel=panel.ylabel)
    ax.title.set_fontsize(10)
    ax.grid(alpha=0.3)
    if legend and any(curve.series for curve in panel.curves):
        ax.legend(fontsize=7)
