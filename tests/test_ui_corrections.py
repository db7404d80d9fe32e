"""Correction factors and the acceptance kit in headless Chromium, through Orthanc with authentication on (issue 16
§2, §3): the Philips Veradius Unity mobile C-arm's RDSR is received by C-STORE; its acceptance page says kVp is never
filled; a physicist gives it a DAP calibration factor on the correction screen, and the study's DAP the statistics
use becomes the reported DAP (read from the file with pydicom) times that factor, the reported one kept beside it, and
the study page shows both with the factor that links to its page, in its totals and in its events table (the studies
list and its CSV the reported one too).  An alert rule that the reported DAP stays under and the corrected one exceeds
fires when the factor is saved, and the save says so."""

import csv
import io
import json
import re
import urllib.parse
from pathlib import Path

import pydicom

import pytest
from playwright.sync_api import expect

from conftest import CORPUS
from support.orthanc import running_orthanc
from support.ui import signed_in_page
from test_orthanc_ingest import wait_until_ingested
from test_ui import AXE, INTERNAL_ID, WRONG_WORDS

SHOTS = Path(__file__).parent / "output" / "ui-screens"
REPORT = CORPUS / "openrem/RF-No-kVp-and-others.dcm"
FACTOR = 1.2


def reported_dap_Gycm2(code: str = "113722") -> list[float]:
    """Every DAP of concept ``code`` as the file writes it, in Gy.cm2 (1 Gy.m2 = 10,000 Gy.cm2): the accumulated DAP
    (DCM 113722), or each irradiation event's (DCM 122130)."""
    found = []

    def walk(item):
        for child in getattr(item, "ContentSequence", []):
            names = getattr(child, "ConceptNameCodeSequence", None)
            if names and names[0].CodeValue == code and child.ValueType == "NUM":
                value = child.MeasuredValueSequence[0]
                assert value.MeasurementUnitsCodeSequence[0].CodeValue == "Gy.m2"
                found.append(float(value.NumericValue) * 1e4)
            walk(child)
    walk(pydicom.dcmread(REPORT))
    return found


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    with running_orthanc(tmp_path_factory.mktemp("orthanc-ui-corrections")) as process:
        assert process.store([REPORT]) == [0]
        wait_until_ingested(process)
        yield process


@pytest.fixture
def page(browser, orthanc):
    with signed_in_page(browser, "correction factors") as page:
        yield page


def checked(page, keys: set[str]) -> None:
    """The screen as the UI walk checks every screen (tests/test_ui.py): words and units, never an API field name,
    an id or a broken value; nothing wider than the window; no serious or critical axe-core violation."""
    text = page.inner_text("body")
    assert [w for w in WRONG_WORDS if w in text] == [] and not INTERNAL_ID.search(text), text
    assert sorted(k for k in keys if "_" in k and k in text) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    page.evaluate(AXE.read_text(encoding="utf-8"))
    violations = page.evaluate("""async () => (await axe.run(document, { resultTypes: ["violations"] })).violations
        .filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id}: ${v.help}`)""")
    assert violations == []


def json_keys(value, into: set) -> set:
    if isinstance(value, dict):
        into.update(value)
        for v in value.values():
            json_keys(v, into)
    elif isinstance(value, list):
        for v in value:
            json_keys(v, into)
    return into


def test_the_acceptance_page_finds_the_missing_kvp_and_a_dap_factor_corrects_the_study(page, orthanc):
    page.goto(orthanc.url + "/kerma/ui/#/today")
    page.click("#nav details.more summary")
    page.click("#nav a[href='#/acceptance']")
    # the devices' table, not a row of the Today screen still drawn (its alerts name the device too)
    page.locator("[data-table='acceptance-devices'] tbody tr", has_text="Veradius Unity").locator("a").first.click()
    expect(page.locator("ul.gaps")).to_contain_text("kVp per event never filled: 0 of 1 studies")
    expect(page.locator("[data-table='acceptance-fields'] tbody tr", has_text="kVp")).to_contain_text("never")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "desktop-acceptance-device.png"), full_page=True)
    api = orthanc.session()
    device_id = api.get(orthanc.url + "/kerma/api/acceptance/devices").json()["devices"][0]["device_id"]
    report = api.get(orthanc.url + f"/kerma/api/acceptance/devices/{device_id}").json()
    checked(page, json_keys(report, {f["field"] for f in report["fields"]}))

    [raw] = reported_dap_Gycm2()
    trigger = raw * 1.1  # the reported DAP stays under it, the corrected one (×1.2) does not
    assert api.post(orthanc.url + "/kerma/api/alerts/rules", json={
        "name": "DAP trigger", "kind": "absolute", "severity": "high", "level": "exam", "quantity": "total_dap_Gycm2",
        "parameters": {"threshold": trigger}, "notify_roles": []}).status_code == 200
    page.click("#nav details.more summary")
    page.click("#nav a[href='#/corrections']")
    form = page.locator("form.correction-form")
    form.locator("select[name=device_id]").select_option(label="Philips Medical Systems Veradius Unity")
    form.locator("select[name=kind]").select_option("dap")
    form.locator("input[name=factor]").fill(str(FACTOR))
    form.locator("input[name=valid_from]").fill("2017-01-01")
    form.locator("input[name=measured_on]").fill("2017-01-02")
    form.locator("textarea[name=method]").fill("RaySafe X2 under the table, 70 kV, 20 x 20 cm at the detector")
    form.locator("input[name=measured_by]").fill("M. Physicist")
    form.locator("button.save").click()
    # the save opens the new factor's page, which says what the save did (and keeps saying it once drawn)
    expect(page).to_have_url(re.compile(r"#/corrections\?id=\d+$"))
    expect(page.locator("section.screen > p.message")).to_contain_text("1 studies recomputed (statistics and alerts follow); "
                                                                       "alerts: 1 raised.")
    expect(page.locator("[data-table='corrections'] tbody tr")).to_contain_text("1.2")
    expect(page.locator("[data-table='correction-history'] tbody tr")).to_have_count(1)
    page.screenshot(path=str(SHOTS / "desktop-corrections.png"), full_page=True)
    checked(page, json_keys(api.get(orthanc.url + "/kerma/api/corrections").json(), set()))

    uid = api.get(orthanc.url + "/kerma/api/studies").json()["studies"][0]["study_instance_uid"]
    study = api.get(orthanc.url + "/kerma/api/studies/" + urllib.parse.quote(uid, safe="")).json()
    assert study["uncorrected_totals"]["dap_total_Gycm2"] == pytest.approx(raw, rel=1e-9)
    assert study["exam_totals"]["total_dap_Gycm2"] == pytest.approx(raw * FACTOR, rel=1e-9)
    assert study["dose_objects"][0]["totals"]["dap_total_Gycm2"] == pytest.approx(raw, rel=1e-9)

    # the study page: the corrected DAP with the factor and the DAP as reported beside it, and the factor named and linked
    page.goto(orthanc.url + "/kerma/ui/#/studies/" + urllib.parse.quote(uid, safe=""))
    dap = page.get_by_role("region", name="Totals its statistics use").locator("tbody tr", has_text="DAP")
    expect(dap).to_contain_text("(corrected ×1.2; reported ")
    shown = re.search(r"([\d.,]+) \(corrected ×1\.2; reported ([\d.,]+)\)", dap.inner_text())
    corrected, reported = (float(n.replace(",", "")) for n in shown.groups())
    assert reported == pytest.approx(raw, abs=0.0005) and corrected == pytest.approx(raw * FACTOR, abs=0.0005)
    # its events table: each event's DAP corrected, with the factor and the DAP as the file writes it
    events = page.get_by_role("region", name=re.compile("^Every parameter the chosen source gives")).locator("tbody tr")
    expect(events).to_have_count(len(reported_dap_Gycm2("122130")))
    shown = sorted(tuple(float(n.replace(",", "")) for n in re.search(
        r"([\d.,]+) \(corrected ×1\.2; reported ([\d.,]+)\)", events.nth(i).inner_text()).groups())
        for i in range(events.count()))
    assert [r for _, r in shown] == pytest.approx(sorted(reported_dap_Gycm2("122130")), abs=0.0005)
    assert [c for c, _ in shown] == pytest.approx([d * FACTOR for d in sorted(reported_dap_Gycm2("122130"))], abs=0.0005)
    # its alerts: the trigger the corrected DAP exceeds
    expect(page.get_by_role("region", name="Alerts on this study").locator("tbody tr", has_text="DAP trigger")).to_have_count(1)
    [alert] = api.get(orthanc.url + "/kerma/api/alerts", params={"study": uid, "kind": "absolute"}).json()["alerts"]
    assert alert["value"] == pytest.approx(raw * FACTOR, rel=1e-9) and alert["threshold"] == pytest.approx(trigger)
    applied = page.locator("ul.corrections-applied li")
    expect(applied).to_have_count(1)
    expect(applied).to_contain_text("DAP calibration factor ×1.2 of Philips Medical Systems Veradius Unity, in force")
    correction_id = api.get(orthanc.url + "/kerma/api/corrections").json()["corrections"][0]["id"]
    expect(applied.locator("a")).to_have_attribute("href", f"#/corrections?id={correction_id}")
    page.screenshot(path=str(SHOTS / "desktop-study-corrected.png"), full_page=True)
    checked(page, json_keys(study, set()))
    applied.locator("a").click()
    expect(page.locator("[data-table='correction-history'] tbody tr")).to_have_count(1)

    # the studies list says it too, and its CSV export keeps the totals as reported in a column of their own
    page.goto(orthanc.url + "/kerma/ui/#/studies")
    row = page.locator("[data-table='studies'] tbody tr", has_text="Veradius Unity")
    expect(row).to_contain_text("(reported ")
    listed = re.search(r"\(reported ([\d.,]+)\)", row.inner_text()).group(1)
    assert float(listed.replace(",", "")) == pytest.approx(raw, abs=0.0005)
    exported = next(csv.DictReader(io.StringIO(api.get(orthanc.url + "/kerma/api/studies?format=csv").text)))
    assert json.loads(exported["uncorrected_totals"])["dap_total_Gycm2"] == pytest.approx(raw, rel=1e-9)
