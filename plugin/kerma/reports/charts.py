"""The report's charts (matplotlib, Agg): each function takes report data and returns a Figure."""

from __future__ import annotations

from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
matplotlib.rcParams.update({"pdf.fonttype": 42, "font.size": 9})  # TrueType text: the PDF's numbers stay text

from matplotlib.figure import Figure  # noqa: E402

from ..numbers import significant  # noqa: E402
from ..quantities import heading, label_of  # noqa: E402

MAX_CHARTS = 12  # per kind of chart: the most frequent exams


def number(value) -> str:
    """How the report prints a dose value."""
    return "–" if value is None else significant(value)


def trend_groups(trends: list[dict]) -> list[tuple[str, str, list[dict]]]:
    """(exam, quantity, monthly rows) for the exams with the most values first."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in trends:
        groups[(row["standard_exam"], row["quantity"])].append(row)
    ranked = sorted(groups.items(), key=lambda kv: -sum(r["n"] for r in kv[1]))[:MAX_CHARTS]
    return [(exam, quantity, sorted(rows, key=lambda r: r["period"])) for (exam, quantity), rows in ranked]


def trend_chart(exam: str, quantity: str, rows: list[dict]) -> Figure:
    """Monthly median per patient band, with the DRL as a dashed line."""
    fig = Figure(figsize=(7.5, 3.2))
    ax = fig.subplots()
    by_band: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_band[(row["drl"] or {}).get("patient_group", "no DRL")].append(row)
    for band, items in sorted(by_band.items()):
        ax.plot([r["period"] for r in items], [r["median"] for r in items], marker="o", label=f"median ({band})")
        drls = [(r["period"], r["drl"]["value"]) for r in items if r["drl"]]
        if drls:
            ax.plot([p for p, _ in drls], [v for _, v in drls], linestyle="--", label=f"DRL ({band})")
    ax.set_title(f"{exam}: median {label_of(quantity)} per month against the DRL")
    ax.set_ylabel(heading(quantity))
    ax.tick_params(axis="x", labelrotation=45)
    ax.legend(loc="best", fontsize=7)
    fig.tight_layout()
    return fig


def distribution_chart(exam: str, quantity: str, rows: list[dict], device_names: dict) -> Figure:
    """A box plot of the period's values per device."""
    fig = Figure(figsize=(7.5, 3.2))
    ax = fig.subplots()
    ax.boxplot([r["values"] for r in rows], showfliers=True)
    ax.set_xticks(range(1, len(rows) + 1), [device_names.get(r["device_id"], f"device {r['device_id']}") for r in rows],
                  fontsize=7)
    ax.set_title(f"{exam}: {label_of(quantity)} per device in the period")
    ax.set_ylabel(heading(quantity))
    fig.tight_layout()
    return fig


def load_heatmap(load: dict) -> Figure:
    """Examinations by weekday (rows) and hour (columns)."""
    fig = Figure(figsize=(7.5, 3.0))
    ax = fig.subplots()
    image = ax.imshow(load["by_weekday_hour"], aspect="auto", cmap="Blues")
    ax.set_yticks(range(7), load["weekdays"])
    ax.set_xticks(range(0, 24, 2), [f"{h:02d}" for h in range(0, 24, 2)])
    ax.set_xlabel("hour of the study")
    ax.set_title("Examinations by weekday and hour")
    fig.colorbar(image, ax=ax, label="examinations")
    fig.tight_layout()
    return fig


def procedure_chart(load: dict, top: int = 8) -> Figure:
    """Examinations by weekday, stacked by procedure (the ``top`` most frequent)."""
    fig = Figure(figsize=(7.5, 3.2))
    ax = fig.subplots()
    bottom = [0] * 7
    for name, entry in list(load["by_procedure"].items())[:top]:
        ax.bar(load["weekdays"], entry["by_weekday"], bottom=bottom, label=name[:40])
        bottom = [b + v for b, v in zip(bottom, entry["by_weekday"])]
    ax.set_title("Examinations by weekday and procedure")
    ax.set_ylabel("examinations")
    ax.legend(fontsize=6, loc="upper right")
    fig.tight_layout()
    return fig


def alerts_chart(alerts: dict) -> Figure:
    """Alerts of the period by kind."""
    fig = Figure(figsize=(7.5, 2.6))
    ax = fig.subplots()
    kinds = sorted(alerts["kind"])
    ax.barh(kinds, [alerts["kind"][k] for k in kinds])
    ax.set_title(f"Alerts in the period: {alerts['total']}")
    ax.set_xlabel("alerts")
    fig.tight_layout()
    return fig
