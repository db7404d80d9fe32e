"""The skin dose map as a PNG (matplotlib, Agg): the map in mGy with axes in cm, a colour bar and the PSD."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from .result import SkinDoseResult  # noqa: E402


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g}"


def render_png(result: SkinDoseResult, path: Path) -> Path:
    """Write the map of ``result`` to ``path`` (folders created) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image, rows, cols = result.dose_map, result.rows_cm, result.cols_cm
    width = float(cols[-1] - cols[0]) if len(cols) > 1 else 1.0
    height = float(rows[-1] - rows[0]) if len(rows) > 1 else 1.0
    fig = Figure(figsize=(max(4.0, min(9.0, 2.5 + 6.0 * width / max(height, 1.0))), 7.0))
    ax = fig.subplots()
    step_c = float(cols[1] - cols[0]) if len(cols) > 1 else 1.0
    step_r = float(rows[1] - rows[0]) if len(rows) > 1 else 1.0
    extent = (cols[0] - step_c / 2, cols[-1] + step_c / 2, rows[0] - step_r / 2, rows[-1] + step_r / 2)
    shown = ax.imshow(image, origin="lower", extent=extent, cmap="inferno", aspect="equal",
                      vmin=0.0, vmax=max(float(image.max()), 1e-9) if image.size else 1.0)
    fig.colorbar(shown, ax=ax, label="skin dose (mGy)")
    ax.set_xlabel(result.col_label)
    ax.set_ylabel(result.row_label)
    if result.col_ticks:
        top = ax.secondary_xaxis("top")
        top.set_xticks([p for p, _ in result.col_ticks], [name for _, name in result.col_ticks], fontsize=8)
    peak = result.peak
    if peak:
        ax.plot([peak["col_cm"]], [peak["row_cm"]], marker="+", color="cyan", markersize=12, mew=1.5)
    title = f"{result.phantom}: PSD {_number(result.psd_mGy)} mGy"
    if result.bound_mGy:
        title += f" (map {_number(result.map_psd_mGy)} + bound {_number(result.bound_mGy)})"
    rel = result.uncertainty.relative
    if rel is not None:
        title += f", ±{rel * 100:.0f} %"
    ax.set_title(title, fontsize=10)
    if result.map_psd_mGy is None or result.map_psd_mGy <= 0:
        ax.text(0.5, 0.5, "no beam mapped on this phantom\n(see the events' reasons)", transform=ax.transAxes,
                ha="center", va="center", color="white", fontsize=10)
    fig.text(0.01, 0.005, f"Σ Ka,r {_number(result.kar_total_mGy)} mGy; {result.events_used} events used; "
                          f"{result.orientation}", fontsize=7)
    fig.subplots_adjust(left=0.12, right=0.98, bottom=0.1, top=0.9)  # fixed margins: tight_layout costs a third
    fig.savefig(path, format="png", dpi=100, pil_kwargs={"compress_level": 1})  # zlib level 6 took a third
    return path
