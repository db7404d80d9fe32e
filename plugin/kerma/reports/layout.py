"""What a report contains, in order, whatever it is rendered to: sections of charts and tables."""

from __future__ import annotations

from dataclasses import dataclass, field

from matplotlib.figure import Figure

from ..quantities import contrast_quantities, heading
from . import charts
from .charts import number


@dataclass
class Section:
    """A part of a report: a title, its charts, and a table of the numbers behind them."""

    title: str
    figures: list[Figure] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    note: str | None = None


def sections(data: dict, device_names: dict) -> list[Section]:
    """The report's sections from :func:`kerma.reports.data.report_data`."""
    out = [Section("Summary", columns=["what", "value"], rows=[
        ["period", f"{data['start']} – {data['end']}"], ["examinations", str(data["examinations"])],
        ["alerts", str(data["alerts"]["total"])], ["values above the DRL", str(len(data["above_drl"]))]])]
    trend = Section("Median dose per standard exam over time, against the DRL",
                    columns=["standard exam", "quantity", "month", "n", "median", "DRL", "median/DRL"])
    for exam, quantity, rows in charts.trend_groups(data["trends"]):
        trend.figures.append(charts.trend_chart(exam, quantity, rows))
        trend.rows += [[exam, heading(quantity), r["period"], str(r["n"]), number(r["median"]),
                        number((r["drl"] or {}).get("value")), number(r["median_over_drl"])] for r in rows]
    out.append(trend)
    distribution = Section("Distribution per device in the period",
                           columns=["standard exam", "quantity", "device", "n", "median", "25th pct", "75th pct", "max"])
    by_exam: dict[tuple, list[dict]] = {}
    for row in data["distributions"]:
        by_exam.setdefault((row["standard_exam"], row["quantity"]), []).append(row)
    for (exam, quantity), rows in list(by_exam.items())[:charts.MAX_CHARTS]:
        distribution.figures.append(charts.distribution_chart(exam, quantity, rows, device_names))
    distribution.rows = [[r["standard_exam"], heading(r["quantity"]), device_names.get(r["device_id"], str(r["device_id"])),
                          str(r["n"]), number(r["median"]), number(r["p25"]), number(r["p75"]), number(r["max"])]
                         for r in data["distributions"]]
    out.append(distribution)
    alerts = data["alerts"]
    out.append(Section("Alerts in the period", figures=[charts.alerts_chart(alerts)] if alerts["total"] else [],
                       columns=["#", "date", "kind", "severity", "status", "why"],
                       rows=[[str(a["id"]), a["date"] or "", a["kind"], a["severity"], a["status"], a["reason"]]
                             for a in alerts["list"]]))
    out.append(Section("Examinations above the DRL", columns=["date", "standard exam", "quantity", "value", "DRL", "ratio"],
                       rows=[[r["date"] or "", r["standard_exam"] or "", heading(r["quantity"]), number(r["value"]),
                              number(r["drl"]), f"{r['ratio']:.2f}"] for r in data["above_drl"]]))
    if data.get("skin_doses"):  # fluoroscopy studies of the period with an estimate
        out.append(Section("Peak skin doses in the period (Kerma's estimates from each report's geometry, with the "
                           "range of their uncertainty)",
                           columns=["date", "study", "PSD (mGy)", "range (mGy)", "Σ Ka,r (mGy)", "method"],
                           rows=[[r["date"] or "", r["study"] or "", number(r["psd_mGy"]),
                                  f"{number(r['psd_mGy_low'])}–{number(r['psd_mGy_high'])}"
                                  if r["psd_mGy_low"] is not None else "", number(r["kar_total_mGy"]), r["method"] or ""]
                                 for r in data["skin_doses"]]))
    if data.get("contrast"):
        keys = [q.key for q in contrast_quantities()]
        out.append(Section("Contrast media in the period (each administration counted once, from the image headers, "
                           "else the HIS; not a radiation dose)",
                           columns=["date", "study", "agent", "source", *map(heading, keys)],
                           rows=[[r["date"] or "", r["study"] or "", "; ".join(r["agents"]), r["source"],
                                  *(number(r[k]) for k in keys)] for r in data["contrast"]]))
    load = data["load"]
    out.append(Section("Modality load", figures=[charts.load_heatmap(load), charts.procedure_chart(load)],
                       columns=["procedure", "total", *load["weekdays"]],
                       rows=[[name, str(e["total"]), *map(str, e["by_weekday"])] for name, e in load["by_procedure"].items()]))
    return out
