"""Build plugin/kerma/drl/data/national_drls.csv from the project's reference table (run by hand).

Keeps only the rows whose number was read in the primary (or peer-reviewed) text, each with its
citation, in Kerma's terms (record field, level, patient band; see kerma/drl/reference.py).
Usage: .venv/bin/python scripts/build_drl_table.py ../shared/reference/drl_reference_levels.csv
"""

import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugin"))
from kerma.drl.reference import VERIFIED, kerma_row  # noqa: E402
from kerma.drl.sets import SHIPPED  # noqa: E402


def main(path: str) -> None:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = [kerma_row(r) for r in csv.DictReader(fh) if r["verification"] in VERIFIED]
    with open(SHIPPED, "w", newline="", encoding="utf-8") as fh:
        fh.write("# Verified rows of Kerma's DRL reference table (number read in the primary or peer-reviewed text), each with its citation.\n")
        fh.write("# Built by scripts/build_drl_table.py; quantity = the Kerma field the level applies to; level = exposure or exam.\n")
        writer = csv.DictWriter(fh, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} rows -> {SHIPPED}")


if __name__ == "__main__":
    main(sys.argv[1])
