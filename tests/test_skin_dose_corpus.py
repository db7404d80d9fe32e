"""Skin dose on the real reports: every fluoroscopy / angiography RDSR of the corpus, PySkinDose as the oracle, the CLI."""

import copy
import csv
import json
from pathlib import Path

import pytest

from conftest import SHARED
from corpus import dose_reports
from kerma.cli import main
from kerma.dosimetry.skin import PHANTOMS, render_png, skin_dose
from kerma.extract import extract

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def fluoroscopy_reports() -> list[tuple[Path, dict]]:
    """Every corpus dose report the extractor reads as a fluoroscopy / angiography RDSR (modality RF)."""
    found = []
    for path in dose_reports():
        record = extract(path.read_bytes())
        if record.status == "ok" and record.modality == "RF" and record.source == "rdsr":
            found.append((path, record))
    return found


REPORTS = fluoroscopy_reports()
with open(SHARED / "reference" / "skin_backscatter_mu_en_table.csv", newline="", encoding="utf-8") as _fh:
    _QUALITIES = list(csv.DictReader(_fh))
LARGEST_FACTOR = (max(float(r["backscatter"]) for r in _QUALITIES)
                  * max(float(r["mu_en_quotient"]) for r in _QUALITIES))  # k_bs × k_med can be no larger
SIEMENS = next(r for p, r in REPORTS if p.name == "PySkinDose__siemens_axiom_artis.dcm")


def test_the_corpus_has_the_fluoroscopy_reports_of_every_vendor():
    assert len(REPORTS) >= 12
    makers = {(r.device.manufacturer or "").split()[0].lower() for _, r in REPORTS if r.device.manufacturer}
    assert {"siemens", "philips", "canon_mec", "ge"} <= makers


@pytest.mark.parametrize("path, record", REPORTS, ids=[p.name for p, _ in REPORTS])
def test_every_corpus_fluoroscopy_report_gives_a_psd_and_a_map(path, record, tmp_path):
    has_ka_r = any(e.get("ka_r_mGy") for e in record.events) or bool(record.totals.get("ka_r_total_mGy"))
    for phantom in PHANTOMS:
        result = skin_dose(record, phantom)
        summary = result.to_dict()
        json.dumps(summary, allow_nan=False)
        if phantom != "cylinder":  # the cylinder's picture is drawn as the elliptic one's
            png = render_png(result, tmp_path / f"{path.stem}-{phantom}.png")
            print(f"{path.name} {phantom}: PSD {summary['psd_mGy']} mGy (map {summary['map_psd_mGy']}, bound "
                  f"{summary['bound_mGy']}), Σ Ka,r {summary['kar_total_mGy']} mGy, map {png}")
            assert png.read_bytes()[:8] == PNG_MAGIC and png.stat().st_size > 5000
        assert result.dose_map.shape == (len(result.rows_cm), len(result.cols_cm))
        assert len(result.events) == len(record.events)
        if not has_ka_r:
            assert result.psd_mGy is None and summary["method"].startswith("not estimated")
            continue
        assert result.psd_mGy > 0 and result.uncertainty.relative > 0.3 and result.uncertainty.reasons is not None
        # every event with Ka,r is in the estimate: on the map, off the phantom, or bounded
        dosed = sum(1 for e in record.events if e.get("ka_r_mGy"))
        assert result.events_used == dosed
        # what the map holds never exceeds Ka,r × the largest correction of each event
        ceiling = sum(e.ka_r_mGy * e.k_isq_max * LARGEST_FACTOR for e in result.events if e.method in ("map", "missed"))
        assert (result.map_psd_mGy or 0.0) <= ceiling + 1e-9


def _pyskindose_psd(path: Path, model: str) -> float:
    """PySkinDose 25.1.1 with its own example settings (settings_example.json) in calculate_dose mode."""
    import pyskindose
    from pyskindose.main import main as pyskindose_main
    from pyskindose.settings import PyskindoseSettings

    settings = json.loads((Path(pyskindose.__file__).parent / "settings_example.json").read_text())
    settings = copy.deepcopy(settings)
    settings["mode"] = "calculate_dose"
    settings["plot"]["notebook_mode"] = False
    settings["phantom"]["model"] = model
    output = pyskindose_main(file_path=str(path), settings=PyskindoseSettings(settings=settings, output_format="dict"))
    return float(output["psd"])


@pytest.mark.parametrize("phantom, published", [("plane", 1.303), ("cylinder", 1.302)])
def test_psd_matches_pyskindose_on_its_siemens_example(phantom, published, tmp_path, monkeypatch):
    """PySkinDose's example settings (head first supine, no offset, table 281.5 × 45 × 5 cm, pad 4 cm, table
    transmission estimated at 0.8, 1 cm grid) on its Siemens AXIOM-Artis report: ours within 5 %."""
    monkeypatch.chdir(tmp_path)  # PySkinDose writes its corrections database in the working folder
    path = next(p for p, _ in REPORTS if p.name == "PySkinDose__siemens_axiom_artis.dcm")
    oracle = _pyskindose_psd(path, phantom)
    assert oracle == pytest.approx(published, abs=0.001)
    ours = skin_dose(SIEMENS, phantom, pyskindose_defaults=True)
    print(f"{phantom}: Kerma {ours.psd_mGy:.4f} mGy, PySkinDose {oracle:.4f} mGy")
    assert ours.psd_mGy == pytest.approx(oracle, rel=0.05)


def test_cli_prints_the_skin_dose_as_json(tmp_path, capsys):
    path = next(p for p, _ in REPORTS if p.name == "PySkinDose__siemens_axiom_artis.dcm")
    png = tmp_path / "map.png"
    assert main(["skin-dose", str(path), "--phantom", "plane", "--pyskindose-defaults", "--json", "--png", str(png)]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["psd_mGy"] == pytest.approx(skin_dose(SIEMENS, "plane", pyskindose_defaults=True).psd_mGy, rel=1e-5)
    assert answer["kar_total_mGy"] == pytest.approx(sum(e["ka_r_mGy"] for e in SIEMENS.events))
    assert answer["events_used"] == 15 and answer["map_png"] == str(png) and png.read_bytes()[:8] == PNG_MAGIC
    assert answer["uncertainty"]["relative"] > 0 and answer["uncertainty"]["reasons"]


def test_cli_refuses_what_is_not_a_projection_report(tmp_path, capsys, corpus):
    assert main(["skin-dose", str(corpus / "openrem" / "CT-ESR-GE_Optima.dcm"), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["status"] == "error"
    assert main(["skin-dose", str(tmp_path / "absent.dcm"), "--json"]) == 1
    assert "cannot read" in json.loads(capsys.readouterr().out)["reason"]
