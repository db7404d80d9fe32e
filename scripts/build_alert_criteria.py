"""Build plugin/kerma/evaluate/data/{fluoro_trigger_levels,significant_event_criteria}.csv (run by hand).

Reads the project's reference tables and writes each row in Kerma's terms: the rule kind that checks
it, the record field, the level and the threshold in the field's unit, each row keeping its published
wording, verification and citation.  A row is enabled when its number was read in the primary text
and Kerma can check it from dose records alone; the others are shipped present but disabled (visible,
marked), and rows that need what no dose record holds (the intended dose, a foetal dose, an observed
tissue reaction) are kept as reference for the reviewer, not as rules.

Usage: .venv/bin/python scripts/build_alert_criteria.py ../shared/reference
"""

import csv
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugin"))
from kerma.drl.reference import VERIFIED  # noqa: E402
from kerma.evaluate.shipped import COLUMNS, FLUORO_LEVELS, SIGNIFICANT_EVENTS  # noqa: E402

# the fluoroscopy reference's wording of a quantity -> (record field at exam level, factor from its unit)
FLUORO_QUANTITIES = {"ka,r": ("total_ka_r_mGy", {"Gy": 1000.0}), "kap": ("total_dap_Gycm2", {"Gy·cm2": 1.0}),
                     "fluoroscopy time": ("total_fluoro_time_s", {"min": 60.0}),
                     "peak skin dose": ("psd_mGy", {"Gy": 1000.0})}  # Kerma's PSD estimate (kerma.derived)
BRAIN = [{"field": "anatomy", "op": "regex", "value": r"brain|head|skull|cran|neuro|kopf|sch[aä]del|hirn|cerebr"}]
# (jurisdiction, clause, start of the category) -> how Kerma checks the criterion
CRITERIA = {
    ("UK", "IR & cardiology", "Interventional"): dict(
        kind="drl", modality="RF", level="exam", parameters={"k": 10.0, "drl_kind": "local"}),
    ("Germany", "I.1 (group of persons)", "Examinations"): dict(
        kind="group_drl", level="exam", parameters={"exam_count": 20, "mean_factor": 2.0, "trigger_factor": 3.0,
                                                    "drl_kind": "national"}, per_modality=("CT", "RF", "NM")),
    ("Germany", "I.2 a) (individual)", "CT brain"): dict(
        kind="absolute", modality="CT", quantity="ctdivol_mGy", level="exposure",
        parameters={"threshold": 120.0, "conditions": BRAIN}),
    ("Germany", "I.2 a) (individual)", "CT body"): dict(
        kind="absolute", modality="CT", quantity="ctdivol_mGy", level="exposure",
        parameters={"threshold": 80.0, "exclude": BRAIN}),
    ("Germany", "I.2 a) (individual)", "Diagnostic fluoroscopy"): dict(
        kind="absolute", modality="RF", quantity="total_dap_Gycm2", level="exam",
        parameters={"threshold": 200.0}),  # 20 000 cGy·cm²
}


def fluoro_rows(path: Path) -> list[dict]:
    out = []
    for number, r in enumerate(csv.DictReader(open(path, newline="", encoding="utf-8")), 1):
        if r["framework"].startswith("Germany StrlSchV"):
            continue  # the same criterion is a row of the significant-event table
        word = r["quantity"].lower()
        field, factors = next(((f, fs) for key, (f, fs) in FLUORO_QUANTITIES.items() if word.startswith(key)), (None, {}))
        evaluable = field is not None and r["unit"] in factors
        increment = r["subsequent_increment"].replace("every", "").split()[0] if r["subsequent_increment"] else ""
        srdl = r["level_type"].startswith("SRDL")
        out.append(row(
            code=f"fluoro:{number}", name=f"{r['framework']}: {r['level_type']} {r['quantity']} {r['threshold']} {r['unit']}",
            kind="fluoro_level" if evaluable else "", modality="RF", quantity=field or "", level="exam" if evaluable else "",
            parameters={"threshold": float(r["threshold"]) * factors[r["unit"]],
                        "increment": float(increment) * factors[r["unit"]] if increment else None} if evaluable else {},
            severity="high" if srdl else "warning", notify_roles=["mpe", "radiologist"] if srdl else ["mpe"],
            evaluable=evaluable, verification=r["verification"],
            published=f"{r['level_type']}: {r['quantity']} {r['threshold']} {r['unit']}"
                      + (f", then {r['subsequent_increment']}" if r["subsequent_increment"] else ""),
            source=r["source"], notes=r["notes"] if evaluable else f"Kerma holds no {r['quantity']}; reference only. {r['notes']}"))
    return out


def criteria_rows(path: Path) -> list[dict]:
    out = []
    for number, r in enumerate(csv.DictReader(open(path, newline="", encoding="utf-8")), 1):
        how = next((v for (j, clause, category), v in CRITERIA.items() if r["jurisdiction"] == j
                    and r["code_or_clause"] == clause and r["exposure_category"].startswith(category)), None)
        base = dict(published=f"{r['exposure_category']}: {r['criterion']} {r['threshold_value']} {r['unit']}".strip(),
                    verification=r["verification"], source=r["source"], notes=r["notes"],
                    name=f"{r['jurisdiction']} {r['framework']} {r['code_or_clause']}: {r['exposure_category']}")
        if how is None:
            out.append(row(code=f"criterion:{number}", kind="", evaluable=False, severity="high", notify_roles=["rpo", "mpe"],
                           **{**base, "notes": f"Needs what no dose record holds; for the reviewer. {r['notes']}".strip()}))
            continue
        how = dict(how)
        modalities = how.pop("per_modality", (how.get("modality"),))
        for modality in modalities:
            suffix = f":{modality}" if len(modalities) > 1 else ""
            out.append(row(code=f"criterion:{number}{suffix}", evaluable=True, severity="high", notify_roles=["rpo", "mpe"],
                           **{**base, **how, "modality": modality, "name": base["name"] + (f" ({modality})" if suffix else "")}))
    return out


def row(*, evaluable: bool, verification: str, parameters=None, notify_roles=(), **fields) -> dict:
    out = {c: "" for c in COLUMNS}
    out.update(fields)
    out.update(parameters=json.dumps(parameters or {}, ensure_ascii=False), notify_roles=" ".join(notify_roles),
               evaluable="yes" if evaluable else "no", verification=verification,
               enabled="yes" if evaluable and verification in VERIFIED else "no")
    return out


def write(path: Path, rows: list[dict], what: str) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        fh.write(f"# {what}: built by scripts/build_alert_criteria.py from ../shared/reference; each row keeps its citation.\n")
        fh.write("# enabled = read in the primary text and checkable from dose records; thresholds in the unit of `quantity`.\n")
        writer = csv.DictWriter(fh, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} rows -> {path}")


def main(reference: str) -> None:
    folder = Path(reference)
    write(FLUORO_LEVELS, fluoro_rows(folder / "fluoro_skin_trigger_levels.csv"), "Fluoroscopy substantial radiation dose levels")
    write(SIGNIFICANT_EVENTS, criteria_rows(folder / "unintended_exposure_criteria.csv"), "Significant-event criteria")


if __name__ == "__main__":
    main(sys.argv[1])
