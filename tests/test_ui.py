"""The web UI in headless Chromium (Debian's), through Orthanc with authentication on."""

import os
import re
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect
from pydicom import dcmread
from pydicom.uid import generate_uid

from corpus import CORPUS
from dicom_factory import copy_with
from dose_setup import api_poster, exam_with_drl_over_rest
from kerma.extract import extract
from support.orthanc import running_orthanc
from test_orthanc_ingest import wait_until_ingested

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
import dosedata  # noqa: E402  (bench/: the generated dose database of benchmark (s), at a small size here)

XSS = "<img src=x onerror=alert(1)>"
CONTRAST_IMAGE = "public/ct_image/orthanc-tests__2020-09-11-Christopher-ELSCINT1-Raw.dcm"  # Iodine, IV, its amounts 0
GENERATED_EVENTS = 6_000  # ~2,000 studies of 1-5 events, 2025-2026, on 200 devices, with a local DRL set (bench/dosedata.py)
REPORTS = ["openrem/CT-RDSR-Siemens-Continued-1.dcm", "openrem/CT-RDSR-Toshiba_DoseCheck.dcm", "openrem/CT-RDSR-GEPixelMed.dcm",
           "openrem/RF-RDSR-Siemens-Zee.dcm",
           "openrem/RF-Pat-Orientation-Modifier-Missing.dcm"]  # Ka,r 7.7 Gy: a substantial radiation dose level alert


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    """Kerma on ~2,000 generated studies written straight into its database (seconds, where C-STORE would take
    minutes: bench/dosedata.py), then the corpus reports and an image with a script as its protocol
    name by C-STORE (among them a CT with Dose Check alerts and fluoroscopy over 5 Gy)."""
    work = tmp_path_factory.mktemp("orthanc-ui")
    url = f"sqlite:///{work / 'kerma.sqlite'}"
    dosedata.build(url, GENERATED_EVENTS, say=lambda *_: None)
    mapped_by_rules(url)
    xss_image = work / "xss.dcm"
    xss_image.write_bytes(copy_with(CORPUS / "openrem/DX-Im-GE_XR220-1.dcm", ProtocolName=XSS, AccessionNumber="UI-XSS"))
    with running_orthanc(work, url) as process:
        assert all(s == 0 for s in process.store([CORPUS / r for r in REPORTS] + [xss_image, CORPUS / CONTRAST_IMAGE]))
        wait_until_ingested(process)
        yield process


def mapped_by_rules(url: str):
    """The rules that map the generated studies (by description) and events (by protocol) to their exams, as a site's
    would: a mapping change re-maps the whole history, and the generated mapping must survive it."""
    from sqlalchemy import insert, select

    from kerma.db.engine import make_engine
    from kerma.db.models import MappingRule, StandardExam

    engine = make_engine(url)
    with engine.begin() as conn:
        exams = conn.execute(select(StandardExam.id, StandardExam.name, StandardExam.modality)).all()
        conn.execute(insert(MappingRule.__table__), [
            {"name": f"generated {level}", "level": level, "priority": 500, "modality": modality, "enabled": True, "version": 1,
             "conditions": [{"field": field, "op": "equals", "value": name}], "standard_exam_id": exam_id}
            for exam_id, name, modality in exams for level, field in (("exam", "study_description"), ("exposure", "protocol"))])
    engine.dispose()


@pytest.fixture
def page(browser, orthanc):
    context = browser.new_context(http_credentials={"username": "kerma", "password": "kerma"}, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.dialogs = dialogs
    yield page
    assert page.dialogs == [], "a script ran from data (XSS) or an unexpected dialog opened"
    context.close()


def test_the_ui_needs_authentication(orthanc):
    assert requests.get(orthanc.url + "/kerma/ui/index.html").status_code == 401
    assert requests.get(orthanc.url + "/kerma/ui/app.js").status_code == 401


def test_study_list_detail_events_and_link_to_images(page, orthanc):
    record = extract((CORPUS / REPORTS[0]).read_bytes())
    page.goto(orthanc.url + f"/kerma/ui/#/studies?accession={record.study.accession_number}")
    row = page.locator("tr.link", has_text=record.study.accession_number)
    expect(row).to_be_visible()
    row.click()
    expect(page.locator("h1")).to_have_text(record.study.study_description or "Study")
    events = page.locator("table").last.locator("tbody tr")
    expect(events).to_have_count(len(record.events))
    expect(page.locator("dd.source")).to_contain_text("RDSR")
    link = page.locator("a.images").get_attribute("href")
    orthanc_id = orthanc.session().post(orthanc.url + "/tools/lookup", data=record.study_instance_uid).json()[0]["ID"]
    assert link.endswith(f"#study?uuid={orthanc_id}")
    with page.context.expect_page() as opened:
        page.locator("a.images").click()
    explorer = opened.value
    explorer.wait_for_load_state()
    assert "/app/explorer.html" in explorer.url
    expect(explorer.locator("#study-info")).to_contain_text(record.study.accession_number)


def test_protocol_names_are_shown_as_text_everywhere(page, orthanc):
    page.goto(orthanc.url + "/kerma/ui/#/mapping")
    expect(page.locator("td", has_text=XSS).first).to_be_visible()
    assert page.locator("main img").count() == 0
    page.goto(orthanc.url + "/kerma/ui/#/studies?accession=UI-XSS")
    page.locator("tr.link").first.click()
    expect(page.locator("td", has_text=XSS).first).to_be_visible()
    assert page.locator("main img").count() == 0


def test_mapping_rule_from_the_ui_remaps_and_the_chart_shows_the_median(page, orthanc):
    page.goto(orthanc.url + "/kerma/ui/#/mapping")
    page.select_option("form.rule-form select[name=level]", "exposure")
    page.select_option("form.rule-form select[name=modality]", "CT")
    page.fill("form.rule-form input[name=field]", "acquisition_type")
    page.select_option("form.rule-form select[name=op]", "equals")
    page.fill("form.rule-form input[name=value]", "Spiral Acquisition")
    page.fill("input[name=exam_name]", "CT spiral (UI test)")
    page.click("button.preview")
    expect(page.locator(".preview-result")).to_contain_text("Would match", timeout=60_000)  # every study is tried
    page.click("button.save")
    expect(page.locator("p.message")).to_contain_text("re-mapped", timeout=60_000)
    # independent of Kerma's statistics: the spiral CTDIvol values of the reports and the CT image sent
    per_device: dict = {}
    for r in REPORTS + [CONTRAST_IMAGE]:
        rec = extract((CORPUS / r).read_bytes())
        for e in rec.events:
            if rec.modality == "CT" and e.get("acquisition_type") == "Spiral Acquisition":
                per_device.setdefault(rec.device.station_name, []).append(e["ctdivol_mGy"])
    # the corpus studies are years old: the page's default window is the last twelve months
    exams = orthanc.session().get(orthanc.url + "/kerma/api/exams", params={"limit": 500}).json()["exams"]
    exam_id = next(e["id"] for e in exams if e["name"] == "CT spiral (UI test)")
    page.goto(orthanc.url + "/kerma/ui/#/statistics?quantity=ctdivol_mGy&period=all&date_from=2000-01-01&date_to=2030-12-31"
              f"&standard_exam_id={exam_id}")
    figure = page.locator("section.exam-charts[data-exam='CT spiral (UI test)'] figure.exam-chart")
    expect(figure).to_be_visible()
    points = figure.locator("circle[data-median]")
    shown = {points.nth(i).get_attribute("data-series"): float(points.nth(i).get_attribute("data-median"))
             for i in range(points.count())}
    assert shown == pytest.approx({device: statistics.median(v) for device, v in per_device.items()}), (shown, per_device)
    # labels and units come from GET quantities, not from the page's own list
    expect(page.locator("select[name=quantity] option[value=ctdivol_mGy]")).to_have_text("CTDIvol (exposure, mGy)")
    expect(page.locator("select[name=quantity] option[value=total_dlp_mGycm]")).to_have_text("DLP (exam, mGy·cm)")
    expect(page.locator("caption", has_text="CTDIvol (exposure, mGy)")).to_be_visible()


def test_question_4_an_unmapped_protocol_is_mapped_from_its_row_in_two_clicks(page, orthanc):
    """"Which local protocol names are not mapped yet? Map this one.": from the start page, Mapping (1), the row's
    Map… (2) gives the rule pre-filled. The row's count is the report's events with that protocol, read here from
    the file; once saved the protocol leaves the list."""
    record = extract((CORPUS / REPORTS[3]).read_bytes())  # Siemens Artis Zee fluoroscopy: no rule maps it
    protocol = record.events[0]["protocol"]
    exposures = sum(e.get("protocol") == protocol for e in record.events)
    page.goto(orthanc.url + "/kerma/ui/index.html")
    page.wait_for_selector("body[data-drawn]", state="attached")
    expect(page.locator("h1")).to_have_text("Today")
    page.click("#nav a[href='#/mapping']")
    row = page.locator("[data-table=unmapped] tbody tr", has_text=protocol)
    expect(row).to_have_count(1)
    expect(row.locator("td[data-label=Exposures]")).to_have_text(str(exposures))
    expect(row.locator("td[data-label='Devices (exposures)']")).to_have_text(f"{record.device.station_name} ({exposures})")
    row.locator("button.map").click()
    form = page.locator("form.rule-form")
    expect(form.locator("input[name=field]")).to_have_value("protocol")
    expect(form.locator("select[name=op]")).to_have_value("equals")
    expect(form.locator("input[name=value]")).to_have_value(protocol)
    expect(form.locator("select[name=modality]")).to_have_value(record.modality)
    form.locator("select[name=standard_exam_id]").select_option("")
    form.locator("input[name=exam_name]").fill("Fluoroscopy, angiography (UI test)")
    form.locator("button.save").click()
    expect(page.locator("p.message")).to_contain_text("re-mapped", timeout=60_000)
    expect(page.locator("[data-table=unmapped] tbody tr", has_text=protocol)).to_have_count(0)


def test_a_misspelt_field_is_refused_in_the_page_and_a_rule_is_changed_after_confirmation(page, orthanc):
    """The rule form knows the fields of each level (GET mapping/fields): "protocl" is refused before anything is
    sent. A rule's Edit fills the form; saving asks first (accepted here), then the rule has its new version."""
    posted = []
    page.on("request", lambda r: posted.append(r.url) if r.method in ("POST", "PUT") else None)
    page.goto(orthanc.url + "/kerma/ui/index.html#/mapping")
    form = page.locator("form.rule-form")
    form.locator("input[name=field]").fill("protocl")
    form.locator("input[name=value]").fill("Anything")
    form.locator("select[name=standard_exam_id]").select_option(index=1)
    form.locator("button.save").click()
    expect(form.locator(".result")).to_contain_text("is no field of an exposure")
    assert posted == []
    rule = next(r for r in orthanc.session().get(orthanc.url + "/kerma/api/mapping/rules").json()["rules"]
                if r["name"] == "generated exam" and r["conditions"][0]["value"] == "CT exam 01")  # on the first page
    page.locator("[data-table=mapping-rules] tbody tr", has_text='Study description equals "CT exam 01"').locator("button.edit").click()
    expect(form.locator("input[name=value]")).to_have_value("CT exam 01")
    expect(form.locator("select[name=level]")).to_have_value("exam")
    form.locator("input[name=priority]").fill("501")
    page.evaluate("window.confirm = (text) => { window.asked = text; return true; }")  # the question, answered yes
    form.locator("button.save").click()
    expect(page.locator("p.message")).to_contain_text("re-mapped", timeout=60_000)
    assert "mapped again" in page.evaluate("window.asked")
    changed = orthanc.session().get(orthanc.url + "/kerma/api/mapping/rules").json()["rules"]
    assert next((r["priority"], r["version"]) for r in changed if r["id"] == rule["id"]) == (501, 2)


def _shown(value, decimals):
    """A number as the UI writes it in en-US: thousands separated, at most ``decimals`` decimals, none trailing."""
    if value is None:
        return "—"
    text = f"{round(value, decimals):,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _drl_groups(orthanc, first, last):
    """Every value of the generated DRL set's quantities between ``first`` and ``last``, grouped as a DRL is compared:
    (quantity, exam, device, patient group) -> (values, DRL), read here from the database. Exposure-level quantities
    are the counted events (each with its own exam), exam-level ones the studies; adults are 16 years and over (or of
    unknown age), the paediatric band 15-30 kg under 16."""
    from sqlalchemy import select

    from kerma.db.engine import make_engine
    from kerma.db.models import Device, DrlValue, IrradiationEvent, StandardExam, Study

    engine = make_engine(orthanc.database_url)
    groups: dict = {}
    with engine.connect() as conn:
        drls = {(q, exam, group): (value, low, high) for q, exam, group, value, low, high in conn.execute(
            select(DrlValue.quantity, StandardExam.name, DrlValue.patient_group, DrlValue.value, DrlValue.weight_min_kg,
                   DrlValue.weight_max_kg).join(StandardExam).where(DrlValue.drl_set_id == 1))}
        for quantity in sorted({q for q, _, _ in drls}):
            if quantity.startswith("total_"):
                stmt = (select(StandardExam.name, Device.station_name, getattr(Study, quantity), Study.patient_age_years,
                               Study.patient_weight_kg).join(StandardExam, StandardExam.id == Study.standard_exam_id)
                        .join(Device, Device.id == Study.device_id).where(Study.study_date.between(first, last)))
            else:
                stmt = (select(StandardExam.name, Device.station_name, getattr(IrradiationEvent, quantity),
                               Study.patient_age_years, Study.patient_weight_kg)
                        .join(Study, Study.id == IrradiationEvent.study_id)
                        .join(StandardExam, StandardExam.id == IrradiationEvent.standard_exam_id)
                        .join(Device, Device.id == IrradiationEvent.device_id)
                        .where(IrradiationEvent.counted, IrradiationEvent.event_date.between(first, last)))
            for exam, device, value, age, weight in conn.execute(stmt):
                if value is None:
                    continue
                if age is None or age >= 16:
                    group = "adult"
                else:
                    _, low, high = drls.get((quantity, exam, "paediatric"), (None, None, None))
                    group = "paediatric" if low is not None and weight is not None and low <= weight < high else None
                if (quantity, exam, group) in drls:
                    groups.setdefault((quantity, exam, device, group), ([], drls[(quantity, exam, group)][0]))[0].append(value)
    engine.dispose()
    return groups


def test_question_1_exams_and_devices_above_the_drl_this_quarter_in_two_clicks(page, orthanc):
    """"Which examinations on which device exceed the DRL this quarter, and by how much?": the start page's DRL tile
    (1) opens DRL compliance for this quarter, the rows whose median is above the DRL (red), worst first, each with
    median / DRL; a row (2) opens the values above its DRL. Medians, ratios and counts are computed here from the
    generated database and the set's DRLs; the browser's clock is pinned in the last quarter of the generated data."""
    import datetime as dt

    groups = _drl_groups(orthanc, dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    known = {q["key"]: q for q in orthanc.session().get(orthanc.url + "/kerma/api/quantities").json()["quantities"]}
    heading = lambda key: f"{known[key]['label']} ({known[key]['level']}, {known[key]['unit_display']})"  # noqa: E731
    red = {key: statistics.median(values) / drl for key, (values, drl) in groups.items() if statistics.median(values) > drl}
    assert len(red) > 1
    page.clock.set_fixed_time(dt.datetime(2026, 11, 16, 9, 0))
    page.goto(orthanc.url + "/kerma/ui/index.html")
    page.wait_for_selector("body[data-drawn]", state="attached")
    page.click("a.tile:has-text('above the DRL this quarter')")
    table = page.locator("[data-table=compliance]")
    rows = table.locator("tbody tr")
    expect(rows.first.locator("td[data-label=Period]")).to_have_text("2026-Q4")
    expect(table.locator(".count")).to_have_text(re.compile(rf"(^{len(red):,} rows?| of {len(red):,})$"))
    shown = [tuple(rows.nth(i).locator(f"td[data-label='{name}']").inner_text()
                   for name in ("Status", "Standard exam", "Device", "Quantity", "Median / DRL")) for i in range(rows.count())]
    worst = sorted(red.items(), key=lambda item: -item[1])[:len(shown)]  # the first page: highest median / DRL first
    assert sorted(shown) == sorted(("red", exam, device, heading(q), f"{_shown(ratio, 2)} ×") for (q, exam, device, _), ratio in worst)
    assert [row[4] for row in shown] == [f"{_shown(ratio, 2)} ×" for _, ratio in worst]
    (quantity, exam, device, group), ratio = worst[0]
    values, drl = groups[(quantity, exam, device, group)]
    page.evaluate("delete document.body.dataset.drawn")
    rows.first.click()
    page.wait_for_selector("body[data-drawn]", state="attached", timeout=30_000)  # the drill-down drawn
    above = page.locator("[data-table=above-drl] tbody tr")
    expect(above).to_have_count(sum(v > drl for v in values))
    expect(above.first.locator("td[data-label='Value / DRL']")).to_have_text(f"{_shown(max(values) / drl, 2)} ×")
    expect(above.first.locator("td[data-label=Device]")).to_have_text(device)
    expect(above.first.locator("td[data-label='Standard exam']")).to_have_text(exam)


def test_question_2_a_patients_dose_history_in_two_clicks(page, orthanc):
    """"Show me this patient's dose history.": from the start page, Patients (1), the patient ID and Show (2): every
    study of the patient with its totals and a link to it, the sums over the 12 months ending on the browser's
    (pinned) today, and the statement that a cumulative effective dose is no personal risk, against the generated
    database read here (absent totals as "—", estimates not made as "not estimated")."""
    import datetime as dt

    from sqlalchemy import func, select

    from kerma.db.engine import make_engine
    from kerma.db.models import Study

    today = dt.date(2026, 11, 16)
    since = dt.date(2025, 11, 17)  # 12 months ending today, both days included
    engine = make_engine(orthanc.database_url)
    with engine.connect() as conn:
        patient = conn.execute(select(Study.patient_id).group_by(Study.patient_id)
                               .order_by(func.count().desc(), Study.patient_id).limit(1)).scalar_one()
        studies = {row.accession_number: row for row in conn.execute(
            select(Study.accession_number, Study.study_instance_uid, Study.study_date, Study.total_dlp_mGycm,
                   Study.total_dap_Gycm2).where(Study.patient_id == patient))}
    engine.dispose()
    assert len(studies) >= 2
    recent = [s for s in studies.values() if since <= s.study_date <= today]
    page.clock.set_fixed_time(dt.datetime(2026, 11, 16, 9, 0))
    page.goto(orthanc.url + "/kerma/ui/index.html")
    page.wait_for_selector("body[data-drawn]", state="attached")
    page.click("#nav a[href='#/patients']")
    page.fill("form.patient-search input[name=patient_id]", patient)
    page.click("form.patient-search button")
    expect(page.locator("dl.facts.patient")).to_contain_text(patient)
    expect(page.locator("p.statement")).to_contain_text("A cumulative effective dose is a bookkeeping figure, not a personal risk")
    rows = page.locator("[data-table=patient-studies] tbody tr")
    expect(rows).to_have_count(len(studies))
    # a quantity has a column when some study of the patient has it
    shown = [(label, key, decimals) for label, key, decimals in (("DLP", "total_dlp_mGycm", 1), ("DAP", "total_dap_Gycm2", 3))
             if any(getattr(s, key) is not None for s in studies.values())]
    assert shown
    for i in range(len(studies)):
        study = studies[rows.nth(i).locator("td[data-label=Accession]").inner_text()]
        link = rows.nth(i).locator("a.row-link").get_attribute("href")
        assert link == "#/studies/" + urllib.parse.quote(study.study_instance_uid, safe="")
        for label, key, decimals in shown:
            expect(rows.nth(i).locator(f"td[data-label^={label}]")).to_have_text(_shown(getattr(study, key), decimals))
        expect(rows.nth(i).locator("td[data-label^='Effective dose']")).to_have_text("not estimated")
    last_12 = page.locator("[data-table=patient-sums] tbody tr").first
    expect(last_12.locator("td[data-label=Period]")).to_contain_text("12 months")
    expect(last_12.locator("td[data-label=Examinations]")).to_have_text(str(len(recent)))
    for label, key, decimals in shown:
        values = [getattr(s, key) for s in recent if getattr(s, key) is not None]
        expect(last_12.locator(f"td[data-label^={label}]")).to_have_text(_shown(sum(values) if values else None, decimals))


def test_a_study_page_lists_its_contrast_media(page, orthanc):
    """The corpus CT whose header names its contrast (agent and route as read here with pydicom; its amounts 0, so
    not stated): one administration from the image headers, counted, its volume a dash."""
    header = dcmread(CORPUS / CONTRAST_IMAGE, stop_before_pixels=True)
    page.goto(orthanc.url + "/kerma/ui/index.html#/studies/" + urllib.parse.quote(header.StudyInstanceUID, safe=""))
    rows = page.locator("[data-table=contrast] tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td[data-label=Agent]")).to_have_text(header.ContrastBolusAgent)
    expect(rows.first.locator("td[data-label=Route]")).to_have_text(header.ContrastBolusRoute)
    expect(rows.first.locator("td[data-label^='contrast volume'], td[data-label^='Contrast volume']")).to_have_text("—")
    expect(rows.first.locator("td[data-label=Source]")).to_have_text("image headers")
    expect(rows.first.locator("td[data-label='In the totals']")).to_have_text("yes")


def test_the_statistics_screen_offers_contrast_media_apart_from_the_doses(browser, tmp_path):
    """Two CT studies whose headers (written here) state 80 mL of 350 mg iodine/mL for 70 kg (28,000 mg, 400 mg/kg) and
    100 mL of 300 mg/mL for 60 kg (30,000 mg, 500 mg/kg), a third none, by C-STORE into an Orthanc of their own: the
    quantity choice lists the contrast totals in a group of their own, not among the doses; the table's medians are
    those numbers' (29,000 mg; 450 mg/kg, the third study not a 0); the studies list sorts by iodine."""
    from dicom_factory import ct_slice
    from test_contrast import DOSED

    files = []
    for name, (module, weight, *_) in [*DOSED.items(), ("C", ({}, 80))]:
        path = tmp_path / f"{name}.dcm"
        path.write_bytes(ct_slice(generate_uid(), generate_uid(), generate_uid(), z=0.0, ctdivol=8.0,
                                  image_type="ORIGINAL\\PRIMARY\\AXIAL", acquisition_number=1, thickness=1.0, instance=1,
                                  series_description="Abdomen", PatientWeight=weight, PatientID=f"PAT-{name}", **module))
        files.append(path)
    with running_orthanc(tmp_path) as process:
        assert all(s == 0 for s in process.store(files))
        wait_until_ingested(process)
        context = browser.new_context(http_credentials={"username": "kerma", "password": "kerma"},
                                      viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(process.url + "/kerma/ui/index.html#/statistics?quantity=total_iodine_mg&period=all"
                  "&date_from=2026-01-01&date_to=2026-01-31")
        contrast = page.locator("select[name=quantity] optgroup[label='Contrast media (no radiation dose)'] option")
        expect(contrast).to_have_count(3)
        assert sorted(contrast.evaluate_all("options => options.map((o) => o.value)")) == \
            ["total_contrast_volume_mL", "total_iodine_mg", "total_iodine_mg_per_kg"]
        doses = page.locator("select[name=quantity] optgroup[label='Dose quantities'] option")
        assert not {"total_iodine_mg", "total_contrast_volume_mL"} & set(doses.evaluate_all("os => os.map((o) => o.value)"))
        rows = page.locator("[data-table=statistics] tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first.locator("td[data-label=n]")).to_have_text("2")
        expect(rows.first.locator("td[data-label=Median]")).to_have_text(_shown((80 * 350 + 100 * 300) / 2, 0))
        expect(rows.first.locator("td[data-label=DRL]")).to_have_text("—")
        page.select_option("select[name=quantity]", "total_iodine_mg_per_kg")
        page.click("form.filters button")
        expect(page.locator("[data-table=statistics] tbody tr td[data-label=Median]")).to_have_text(
            _shown((80 * 350 / 70 + 100 * 300 / 60) / 2, 1))
        page.goto(process.url + "/kerma/ui/index.html#/studies?sort=total_iodine_mg&order=desc")
        ids = page.locator("[data-table=studies] tbody tr td[data-label='Patient ID']")
        expect(ids).to_have_count(3)
        assert ids.all_inner_texts()[:2] == ["PAT-B", "PAT-A"]  # 30,000 mg, then 28,000 mg
        context.close()


CT_BODY_TRIGGER_mGy = 80  # StrlSchV (2018) Anlage 14 I.2 a): CTDIvol of a CT of the body (other than brain), one acquisition


def test_question_3_the_most_severe_alert_is_opened_and_closed_in_two_clicks(page, orthanc):
    """"What needs my attention today, and how do I close it?": the start page lists open alerts most severe first;
    the CT acquisition above the German trigger level shows its value (read here from the report) and threshold,
    opens with one click and closes with a comment and a second."""
    record = extract((CORPUS / REPORTS[2]).read_bytes())  # GE: a radiotherapy QA acquisition of 222.59 mGy
    highest = max(e["ctdivol_mGy"] for e in record.events if e.get("ctdivol_mGy") is not None)
    page.goto(orthanc.url + "/kerma/ui/index.html")
    page.wait_for_selector("body[data-drawn]", state="attached")
    rows = page.locator("table", has=page.locator("caption", has_text="Open alerts")).locator("tbody tr")
    expect(rows.first.locator("td").first).to_have_text("high")
    row = rows.filter(has_text=record.device.station_name).filter(has_text="high")
    expect(row).to_have_count(1)
    expect(row.locator("td[data-label=Value]")).to_have_text(f"{highest:g} mGy")
    expect(row.locator("td[data-label=Threshold]")).to_have_text(f"{CT_BODY_TRIGGER_mGy} mGy")
    row.click()
    expect(page.locator("dd.status")).to_have_text("new")
    page.fill("textarea[name=comment]", "A radiotherapy QA scan of a phantom, not of a patient")
    page.click("button.action-close")
    expect(page.locator("dd.status")).to_have_text("closed")


def test_explorer_dose_button_leads_to_the_study(page, orthanc):
    record = extract((CORPUS / REPORTS[1]).read_bytes())
    orthanc_id = orthanc.session().post(orthanc.url + "/tools/lookup", data=record.study_instance_uid).json()[0]["ID"]
    page.goto(orthanc.url + f"/app/explorer.html#study?uuid={orthanc_id}")
    button = page.locator("#kerma-dose")
    expect(button).to_be_visible()
    expect(button).to_contain_text("DLP 502.4 mGy·cm")  # the label and unit from GET quantities, not the field name
    button.click()
    page.wait_for_url(f"**/kerma/ui/index.html#/studies/{record.study_instance_uid}")
    page.wait_for_selector("body[data-drawn]", state="attached", timeout=30_000)  # a first load: every module, then the study
    expect(page.locator("dd.source")).to_contain_text("RDSR")


def test_an_alert_is_acknowledged_and_closed_with_its_audit_trail(page, orthanc):
    alerts = orthanc.session().get(orthanc.url + "/kerma/api/alerts?status=new").json()["alerts"]
    assert alerts, "the fluoroscopy report over 5 Gy should have raised an alert"
    alert = alerts[0]
    page.goto(orthanc.url + "/kerma/ui/index.html#/alerts")
    page.locator(f"a.row-link[href='#/alerts/{alert['id']}']").click()  # the list is in triage order: its row
    page.wait_for_url(f"**#/alerts/{alert['id']}")
    expect(page.locator("dd.status")).to_have_text("new")
    page.fill("textarea[name=comment]", "Seen by the MPE; patient follow-up arranged")
    page.click("button.action-acknowledge")
    expect(page.locator("dd.status")).to_have_text("acknowledged")
    page.fill("textarea[name=comment]", "Closed: follow-up letter sent")
    page.click("button.action-close")
    expect(page.locator("dd.status")).to_have_text("closed")
    trail = page.locator("table").last.locator("tbody tr")
    expect(trail).to_have_count(2)
    expect(trail.first).to_contain_text("kerma")
    assert orthanc.session().get(orthanc.url + f"/kerma/api/alerts/{alert['id']}").json()["status"] == "closed"


def test_study_page_shows_the_weight_source_and_levels_in_force(page, orthanc):
    record = extract((CORPUS / REPORTS[1]).read_bytes())  # the Toshiba CT report: 2017, DLP 502.4 mGy·cm
    post = api_poster(orthanc)
    exam_id = exam_with_drl_over_rest(
        post, "CT-UI-LEVELS", "CT (levels UI test)", "CT",
        {"field": "accession_number", "op": "equals", "value": record.study.accession_number},
        quantity="total_dlp_mGycm", value=9999.0, set_name="UI old DRL", valid_to="2000-01-01")
    current = post("drl/sets", {"name": "UI current DRL", "kind": "local", "valid_from": "2000-01-02"})
    post(f"drl/sets/{current['id']}/values", {"standard_exam_id": exam_id, "quantity": "total_dlp_mGycm", "value": 700.0})
    achievable = post("drl/sets", {"name": "UI achievable", "kind": "achievable"})
    post(f"drl/sets/{achievable['id']}/values", {"standard_exam_id": exam_id, "quantity": "total_dlp_mGycm", "value": 400.0})
    page.goto(orthanc.url + f"/kerma/ui/#/studies/{record.study_instance_uid}")
    levels = page.locator("table", has=page.locator("caption", has_text="Levels in force")).locator("tbody tr")
    expect(levels).to_have_count(1)
    cells = levels.first.locator("td")
    expect(cells.nth(3)).to_have_text("700")  # the study (2017) met the current set, not the one that ended in 2000
    expect(cells.nth(4)).to_have_text("UI current DRL")
    expect(cells.nth(6)).to_have_text("400")
    expect(cells.nth(1)).to_have_text("DLP (mGy·cm)")  # labels and units from GET quantities, not field names
    totals = page.locator("table", has=page.locator("th", has_text="Value")).first.locator("tbody tr")
    expect(totals.filter(has_text="DLP (mGy·cm)").first).to_contain_text("502.4")
    weight = record.patient.weight_kg
    expect(page.locator("dd.size")).to_have_text(f"{weight:g} kg (DICOM header)" if weight else "—")


def test_study_page_shows_the_dose_estimates_with_their_band_and_the_skin_map(page, orthanc):
    """The fluoroscopy report's PSD (the model run here on the same file), its map drawn, and the effective dose's
    wording (population estimate, not a personal risk)."""
    from kerma.dosimetry.skin import skin_dose

    record = extract((CORPUS / REPORTS[3]).read_bytes())  # the Siemens Zee fluoroscopy report
    psd = skin_dose(record).psd_mGy
    page.goto(orthanc.url + f"/kerma/ui/#/studies/{record.study_instance_uid}")
    deadline = time.monotonic() + 120
    while not page.locator(".psd-value").count():  # computed in the dosimetry process after ingestion
        assert time.monotonic() < deadline, "no peak skin dose on the study page"
        page.wait_for_timeout(500)
        page.reload()
    expect(page.locator(".psd-value")).to_contain_text(f"{psd:.0f} mGy (")
    expect(page.locator(".population-estimate")).to_contain_text("not this patient's personal risk")
    image = page.locator("img.skin-map")
    expect(image).to_have_count(1)
    page.wait_for_function("img => img.complete && img.naturalWidth > 100", arg=image.element_handle())


def test_a_study_of_any_uid_opens_and_says_when_pacs_deleted_it(page, orthanc):
    session = orthanc.session()
    uid = "Kerma UI study #1"  # not a dotted number, with characters a URL must encode
    answer = session.post(orthanc.url + "/instances", data=copy_with(
        CORPUS / REPORTS[2], StudyInstanceUID=uid, SeriesInstanceUID=generate_uid(), AccessionNumber="UI-ANY-UID"))
    assert answer.status_code == 200
    wait_until_ingested(orthanc)
    assert session.delete(f"{orthanc.url}/studies/{answer.json()['ParentStudy']}").status_code == 200
    route = f"{orthanc.url}/kerma/api/studies/{urllib.parse.quote(uid, safe='')}"
    deadline = time.monotonic() + 30
    while not session.get(route).json()["deleted_in_pacs_at"]:
        assert time.monotonic() < deadline, "Kerma did not mark the deleted study"
        time.sleep(0.2)
    page.goto(orthanc.url + "/kerma/ui/#/studies?accession=UI-ANY-UID")
    page.locator("tr.link", has_text="UI-ANY-UID").click()
    expect(page.locator("p.deleted-in-pacs")).to_contain_text("Deleted in PACS")
    expect(page.locator("dl.facts")).to_contain_text(uid)
    expect(page.locator("table").last.locator("tbody tr")).not_to_have_count(0)  # the records are kept


# --------------------------------------------------------------------------- every screen, on a generated data set

SIZES = {"desktop": (1440, 900), "phone": (390, 844)}
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"  # package-lock.json pins it; scripts/setup.sh --dev installs it
DATES = "date_from=2025-01-01&date_to=2026-12-31"  # the generated period: no screen's answer depends on today's date
DESKTOP_ONLY = ("statistics-dap", "reconciliation-mismatches", "studies-above-drl", "drl-local")  # the same screens as others, filtered
WRONG_WORDS = ("[object Object]", "undefined", "NaN")
# a database id shown as such ("ID 12", "device id: 4", "rule #7"); a Patient ID is the hospital's, not ours
INTERNAL_ID = re.compile(r"(?<!Patient )(?<![\w.])id\s*:?\s*\d+\b|\b(?:device|rule|alert|set|report|recipient|exam)\s*(?:id|#)\s*:?\s*\d+", re.I)


def route_patterns() -> list[re.Pattern]:
    """The UI's route table: every screen pattern of ``ROUTES`` in webui/app.js (JavaScript regular expressions of
    this simple kind read the same in Python)."""
    app = (REPO / "webui" / "app.js").read_text(encoding="utf-8")
    table = app[app.index("const ROUTES = ["):]
    table = table[:table.index("];")]
    return [re.compile(found) for found in re.findall(r"^\s*\[/(\^#.*?\$)/,", table, re.M)]


def uncovered(patterns: list[re.Pattern], screens: dict[str, str]) -> list[str]:
    """The patterns of the route table that no screen of ``screens`` opens."""
    return [p.pattern for p in patterns if not any(p.fullmatch(route.split("?")[0]) for route in screens.values())]


def routes(orthanc) -> dict[str, str]:
    """Every screen of the UI, by name: the menu's screens, a study of each kind, an alert, filtered lists."""
    api = orthanc.session()
    alert = api.get(orthanc.url + "/kerma/api/alerts", params={"sort": "severity", "order": "desc", "limit": 1}).json()["alerts"][0]
    ct_study = api.get(orthanc.url + "/kerma/api/studies", params={"modality": "CT", "limit": 1}).json()["studies"][0]
    quote = lambda uid: urllib.parse.quote(uid, safe="")  # noqa: E731
    return {
        "today": "#/today", "studies": "#/studies", "studies-above-drl": f"#/studies?above_drl=1&{DATES}",
        "study-generated": f"#/studies/{quote(ct_study['study_instance_uid'])}",
        "study-fluoroscopy": f"#/studies/{quote(alert['study_instance_uid'])}",
        "statistics": f"#/statistics?{DATES}", "compliance": f"#/compliance?period=quarter&{DATES}",
        "compliance-above": _drill_down(api, orthanc.url), "statistics-dap": f"#/statistics?quantity=total_dap_Gycm2&period=quarter&{DATES}",
        "mapping": "#/mapping", "drl": "#/drl", "drl-local": "#/drl?set=1", "alerts": "#/alerts", "alert": f"#/alerts/{alert['id']}",
        "alert-rules": "#/alert-rules", "reports": "#/reports", "reconciliation": "#/reconciliation",
        "reconciliation-mismatches": "#/reconciliation?list=mismatches", "hl7": "#/hl7", "mpps": "#/mpps",
        "notifications": "#/notifications", "audit": "#/audit", "ingest-errors": "#/ingest-errors?status=error,ignored",
        "getting-started": "#/getting-started", "manual": "#/manual",
        "occupational": "#/occupational?year=2026",
        "patients": "#/patients",
        "study-contrast": f"#/studies/{quote(dcmread(CORPUS / CONTRAST_IMAGE, stop_before_pixels=True).StudyInstanceUID)}",
        "patient": f"#/patients/{quote(ct_study['patient']['patient_id'])}?window=5y&as_of=2026-12-31",
    }


def _drill_down(api, url) -> str:
    """The values above the DRL behind the worst row of DRL compliance over the generated period, as its row links."""
    row = api.get(url + "/kerma/api/statistics/compliance", params={"period": "quarter", "status": "red", "date_from": "2025-01-01",
                                                                   "date_to": "2026-12-31"}).json()["compliance"][0]
    return "#/compliance/above?" + urllib.parse.urlencode({k: row[k] for k in ("quantity", "standard_exam_id", "device_id", "drl_value_id")}
                                                          | {"date_from": row["period_from"], "date_to": row["period_to"], "period": row["period"]})


def _json_keys(value, into: set):
    if isinstance(value, dict):
        into.update(value)
        for v in value.values():
            _json_keys(v, into)
    elif isinstance(value, list):
        for v in value:
            _json_keys(v, into)


# the tables wider than their box (scrolled sideways inside it), by caption, with how many pixels are hidden
WIDE_TABLES = """() => [...document.querySelectorAll(".table-wrap")].filter((w) => w.scrollWidth > w.clientWidth + 1)
    .map((w) => `${w.getAttribute("aria-label")}: ${w.scrollWidth - w.clientWidth} px`)"""
AXE_SERIOUS = """async () => (await axe.run(document, { resultTypes: ["violations"] })).violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`)"""


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    """Where the walk writes its screenshots: ``KERMA_UI_SCREENSHOTS``, else a folder of pytest's temporary tree
    (the path is printed by the axe test)."""
    folder = os.environ.get("KERMA_UI_SCREENSHOTS")
    if not folder:
        return tmp_path_factory.mktemp("ui-screens")
    Path(folder).mkdir(parents=True, exist_ok=True)
    return Path(folder)


@pytest.fixture(scope="module")
def walk(browser, orthanc, screenshots):
    """Every route at both sizes, each drawn once: its visible text, the page's width, a screenshot
    (``<screenshots>/<size>-<screen>.png``), the raw field names the API answered (snake_case keys: none may show),
    and axe-core's serious and critical violations. The screens are :func:`routes`, then, for each pattern of the
    route table (webui/app.js) none of them opens, the first link to it found on the screens drawn (a screen added
    to the table is walked once a link leads to it)."""
    axe = AXE.read_text(encoding="utf-8")
    screens = routes(orthanc)
    patterns = route_patterns()
    links: list[str] = []
    seen: dict[tuple[str, str], dict] = {}
    keys: set[str] = set()
    for size, (width, height) in SIZES.items():
        context = browser.new_context(http_credentials={"username": "kerma", "password": "kerma"},
                                      viewport={"width": width, "height": height}, locale="en-GB")
        page = context.new_page()
        problems = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("dialog", lambda dialog: (problems.append(dialog.message), dialog.dismiss()))

        def answered(response):
            if "/kerma/api/" in response.url and response.ok and "json" in (response.headers.get("content-type") or ""):
                _json_keys(response.json(), keys)
        page.on("response", answered)
        page.goto(orthanc.url + "/kerma/ui/index.html#/getting-started")
        page.wait_for_selector("body[data-drawn]", state="attached")
        page.evaluate(axe)  # through the DevTools protocol: the page's Content-Security-Policy allows no inline script
        queue = [name for name in screens if size == "desktop" or name not in DESKTOP_ONLY]
        while queue:
            name = queue.pop(0)
            route = screens[name]
            page.evaluate("route => { delete document.body.dataset.drawn; location.hash = route; }", route)
            page.wait_for_selector("body[data-drawn]", state="attached", timeout=20_000)
            page.screenshot(path=str(screenshots / f"{size}-{name}.png"))
            seen[(size, name)] = {"route": route, "text": page.inner_text("body"), "violations": page.evaluate(AXE_SERIOUS),
                                  "scroll_width": page.evaluate("document.documentElement.scrollWidth"), "width": width,
                                  "wide_tables": page.evaluate(WIDE_TABLES),
                                  "heading": page.inner_text("h1"),
                                  "help": page.evaluate("document.querySelector('h1 + p.what')?.innerText.trim() ?? ''")}
            if size == "desktop":
                links += page.eval_on_selector_all("a[href^='#/']", "links => links.map((a) => a.getAttribute('href'))")
                if not queue:  # the listed screens are done: a screen for each pattern still missing, if a link leads there
                    for pattern in uncovered(patterns, screens):
                        found = next((h for h in links if re.fullmatch(pattern, h.split("?")[0])), None)
                        if found:  # named for the pattern's fixed words: ^#\/studies\/([^/?]+)\/manual$ -> linked-studies-manual
                            name = "linked-" + "-".join(re.findall(r"[a-z][a-z-]*", re.sub(r"\(.*?\)", "", pattern)))
                            screens[name] = found
                            queue.append(name)
        assert problems == [], f"{size}: script errors or dialogs: {problems}"
        context.close()
    return {"screens": seen, "keys": {k for k in keys if "_" in k}, "routes": screens, "patterns": patterns,
            "folder": screenshots}


def test_the_walk_opens_every_route_of_the_ui(walk):
    assert uncovered(walk["patterns"], walk["routes"]) == []


def test_every_screen_shows_words_and_units_not_keys_ids_or_broken_values(walk):
    wrong = {}
    for (size, name), screen in walk["screens"].items():
        text = screen["text"]
        found = [w for w in WRONG_WORDS if w in text]
        found += sorted(k for k in walk["keys"] if re.search(rf"(?<![\w.-]){re.escape(k)}(?![\w-])", text))
        found += INTERNAL_ID.findall(text)
        if screen["heading"] in ("Not available", ""):
            found.append("the screen did not open")
        if found:
            wrong[f"{size} {name}"] = found
    assert wrong == {}


def test_no_screen_scrolls_sideways_at_1440_px(walk):
    wide = {name: s["scroll_width"] for (size, name), s in walk["screens"].items() if size == "desktop" and s["scroll_width"] > s["width"]}
    assert wide == {}


def test_every_screen_says_under_its_title_what_it_shows(walk):
    missing = sorted(f"{size} {name}" for (size, name), s in walk["screens"].items() if len(s["help"].split()) < 5)
    assert missing == []


def test_alert_rules_say_which_drls_they_compare_with(walk):
    text = walk["screens"][("desktop", "alert-rules")]["text"]
    assert "2 × local or national DRL" in text and "drl kind" not in text.lower()


def test_no_table_scrolls_sideways_at_1440_px(walk):
    """Every table's default columns fit a 1440 px window (more can be chosen: Columns)."""
    wide = {name: s["wide_tables"] for (size, name), s in walk["screens"].items() if size == "desktop" and s["wide_tables"]}
    assert wide == {}, wide


def test_axe_finds_no_serious_or_critical_violation_on_any_screen(walk, capsys):
    found = {f"{size} {name}": s["violations"] for (size, name), s in walk["screens"].items() if s["violations"]}
    with capsys.disabled():
        print(f"\nUI screenshots ({len(walk['screens'])}, both sizes): {walk['folder']}")
    assert found == {}


# --------------------------------------------------------------------------- double submit

# What a form needs beyond what _FILL writes (a file, an existing study): by a selector the form matches.
# Left out: forms that choose what a screen shows (a GET), and a DRL value's enable/disable switch, which creates
# nothing (a PUT of the value's state, idempotent by its method; its reason is audited with each switch)
READ_ONLY_FORMS = "form.filters, form.switch"
# what makes two forms the same kind: their class, heading and field names (null for a form that only chooses a view)
FORM_KIND = """(f) => f.matches(%r) ? null : [f.className, f.querySelector("h2, h3")?.textContent,
  ...[...f.elements].map((e) => e.name)].join(" ")""" % READ_ONLY_FORMS
SAVE = "button[type=submit], button:not([type])"  # a form's submit buttons
TYPED = "input:not([type]), input[type=text], input[type=email], input[type=number]"  # where Enter submits

_FILL = """(form, n) => {
  const set = (input, value) => {
    input.value = value;
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.dispatchEvent(new Event("change", { bubbles: true }));
  };
  const month = String(1 + (n % 9)).padStart(2, "0");
  for (const input of form.querySelectorAll("input, select, textarea")) {
    if (input.disabled || input.closest("[hidden]") || ["hidden", "checkbox", "radio", "file", "submit", "button"].includes(input.type)) continue;
    if (input.tagName === "SELECT") {
      const options = [...input.options].filter((o) => o.value);
      if (!input.value && options.length) set(input, options[n % options.length].value);
    } else if (input.value) continue;
    else if (input.type === "email") set(input, `double.submit.${n}@example.org`);
    else if (input.type === "date") set(input, `2026-${month}-${/to$/.test(input.name) ? 28 : "01"}`);
    else if (input.type === "number") set(input, input.min && input.max ? String((Number(input.min) + Number(input.max)) / 2)
      : input.min && Number(input.min) > 0 ? input.min : "1");
    else if (input.type === "datetime-local") set(input, `2026-${month}-01T10:00`);
    else set(input, `Double submit ${n}`);
  }
}"""


def _fill_manual_entry(form, n, orthanc):
    """A new study (a UID no study has), unless the form is a study's, and a value in the middle of the usual range."""
    if form.locator("input[name=study_instance_uid]").count():  # the form of any study (not of the study's own page)
        form.locator("input[name=study_instance_uid]").fill(f"2.25.{9000 + n}")
    # one entry per quantity and study, and not a total beside its exposures: another exposure quantity each time
    exposures = form.locator("select[name=quantity] option", has_text="one exposure")
    form.locator("select[name=quantity]").select_option(exposures.nth(n % exposures.count()).get_attribute("value"))
    usual = form.locator("small.usual").inner_text()  # "usual 10–3000 mGy·cm"
    low, high = re.findall(r"[\d.]+", usual)[:2]
    form.locator("select[name=unit]").select_option(usual.rsplit(" ", 1)[1])  # the range's own unit
    form.locator("input[name=value]").fill(f"{(float(low) + float(high)) / 2:g}")


def _fill_reassign(form, n, orthanc):
    """A generated study, moved to a patient of its own."""
    study = orthanc.session().get(orthanc.url + "/kerma/api/studies", params={"modality": "DX", "offset": n, "limit": 1}).json()["studies"][0]
    form.locator("input[name=study_instance_uid]").fill(study["study_instance_uid"])
    form.locator("input[name=patient_id]").fill(f"DOUBLE-SUBMIT-{n}")


def _fill_dosimetry_import(form, n, orthanc):
    """The occupational test's report for a person of its own, previewed (the import needs a preview first)."""
    from test_ui_occupational import REPORT

    form.locator("input[name=report]").set_input_files(
        {"name": f"double-{n}.csv", "mimeType": "text/csv", "buffer": REPORT.replace(b"X7,Alex Seven", f"D{n},Double {n}".encode())})
    form.locator("button.preview").click()
    form.locator(".mapping-editor tr[data-column='Hp(10)'] select[name=unit]").select_option("mSv")  # the report does not say


def _fill_bulk(form, n, orthanc):
    """One alert still new ticked (the last: the least severe), so that the triage test below finds others."""
    page = form.page
    page.locator("[data-table=triage] tbody tr", has=page.locator("td[data-label=Status]", has_text=re.compile("^new$"))).last \
        .locator("input.pick").check()


FILLS = {"form.manual-entry": _fill_manual_entry, "form.bulk": _fill_bulk,
         "form:has(input[name=patient_id]):has(input[name=study_instance_uid]):not(.manual-entry)": _fill_reassign,
         "form.dosimetry-import": _fill_dosimetry_import}


def _table_counts(url: str) -> dict[str, int]:
    """Rows per table of Kerma's database, but the audit trail (read through the API) and the idempotency keys."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url)
    with engine.connect() as conn:
        counts = {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar()
                  for t in inspect(conn).get_table_names() if t not in ("audit_entry", "idempotency_key", "alembic_version")}
    engine.dispose()
    return counts


def _changes_audited(orthanc) -> set[int]:
    """The audit trail's entries of changes by the test's user (reads and exports left out), through the API."""
    entries = orthanc.session().get(orthanc.url + "/kerma/api/audit",
                                    params={"actor": "kerma", "sort": "at", "order": "desc", "limit": 500}).json()["entries"]
    return {e["id"] for e in entries if e["action"] not in ("data.read", "data.export")}


KEPT_BY_WORKERS = ("month_summary", "month_summary_stale", "derived_dose")  # recomputed in the background, any time


def _what_changed(orthanc, before, after) -> dict:
    """The rows each table gained (the kept tables left out), and the audited changes added."""
    (rows_before, audit_before), (rows_after, audit_after) = before, after
    changed = {t: rows_after[t] - rows_before.get(t, 0) for t in rows_after
               if rows_after[t] > rows_before.get(t, 0) and t not in KEPT_BY_WORKERS}
    return {**changed, **({"audit entries": len(audit_after - audit_before)} if audit_after - audit_before else {})}


def _forms(page) -> list[str]:
    """A selector of each form on the screen: its position among the screen's forms."""
    return [f"#view form >> nth={i}" for i in range(page.locator("#view form").count())]


def _submit_twice(page, orthanc, form, how: str) -> list[dict]:
    """Submit ``form`` twice in a row as a person does (``dblclick`` its save button, or Enter pressed twice in its
    first text field) while every POST the page sends goes twice on the wire, the second with the same headers (a
    retry after a lost answer); the rows and audited changes each made, per POST."""
    snapshot = lambda: (_table_counts(orthanc.database_url), _changes_audited(orthanc))  # noqa: E731
    posts, pending = [], []

    def twice(request_route):
        request = request_route.request
        if request.method != "POST":
            return request_route.continue_()
        pending.append(request.url)
        before = snapshot()
        first = request_route.fetch()
        middle = snapshot()
        again = request_route.fetch()
        posts.append({"path": request.url.split("/kerma/api/", 1)[1].split("?")[0], "key": request.headers.get("idempotency-key"),
                      "status": first.status, "answer": first.text(), "again": (again.status, again.text()),
                      "made": _what_changed(orthanc, before, middle), "made again": _what_changed(orthanc, middle, snapshot())})
        request_route.fulfill(response=first)
        pending.remove(request.url)

    page.route("**/kerma/api/**", twice)
    try:
        target = page.locator(form)
        if how == "double click":
            target.locator(SAVE).first.dblclick()
        else:
            field = target.locator(TYPED).first
            field.press("Enter")
            field.press("Enter")
        # until the first POST went out (a loaded machine may take seconds to validate and send it; at most 30 s for
        # a form that sends none), then until none has been pending for 0.5 s (the save, and what it saves first)
        quiet = 0
        for _ in range(300):
            page.wait_for_timeout(100)
            quiet = 0 if pending or not (posts or pending) else quiet + 1
            if quiet >= 5:
                break
    finally:
        page.unroute("**/kerma/api/**", twice)
    return posts


def _open(page, orthanc, route: str):
    """``route`` drawn afresh in ``page`` (as a click on a link to it, or the app's own refresh of a screen)."""
    if not page.url.startswith(orthanc.url + "/kerma/ui/"):
        page.goto(orthanc.url + "/kerma/ui/index.html#/getting-started")
        page.wait_for_selector("body[data-drawn]", state="attached")
    page.evaluate("""route => { delete document.body.dataset.drawn;
      if (location.hash === route) window.dispatchEvent(new HashChangeEvent("hashchange")); else location.hash = route; }""", route)
    page.wait_for_selector("body[data-drawn]", state="attached")


def test_every_form_submitted_twice_does_its_work_once(page, orthanc, walk):
    """Every form of every screen of the walk (a new screen's forms included; one of each kind: the same fields
    under the same heading count once), filled in, submitted twice in a row, by a double click on its save button
    and then, filled in anew, by Enter pressed twice: the page sends one submission (each write route posted once,
    with an Idempotency-Key), which changes Kerma's database, and the same POST sent again on the wire gets the same
    answer and changes nothing (no row, no audited change). Forms that only choose what a screen shows
    (``form.filters``) are left out."""
    wrong, written, kinds, gone = {}, set(), set(), []
    n = 0
    for name, route in walk["routes"].items():
        _open(page, orthanc, route)
        for form in _forms(page):
            kind = page.locator(form).evaluate(FORM_KIND)
            if kind is None or kind in kinds:
                continue
            kinds.add(kind)
            # the screen as it was when the form was found: an earlier form's save may have navigated (a new DRL set
            # opens that set), and the route alone would then draw other forms in these positions
            here = page.evaluate("location.hash")
            for how in ("double click", "Enter twice"):
                n += 1
                where = f"{name} {form} ({how})"
                _open(page, orthanc, here)
                found = [f for f in _forms(page) if page.locator(f).evaluate(FORM_KIND) == kind]
                if not found:
                    if how == "Enter twice" and where.replace(how, "double click") not in wrong:
                        gone.append(where)  # its double-click save changed its object's state (an acknowledged alert)
                    else:
                        wrong[where] = f"not on {here} when it was opened again"
                    continue
                shown = found[0]
                target = page.locator(shown)
                if not target.locator(SAVE if how == "double click" else TYPED).count():
                    if how == "double click":
                        wrong[where] = "a form that writes without a submit button"
                    continue
                try:
                    target.evaluate(_FILL, n)
                    for selector, fill in FILLS.items():
                        if target.evaluate(f"(f) => f.matches({selector!r})"):
                            fill(target, n, orthanc)
                    posts = _submit_twice(page, orthanc, shown, how)
                except PlaywrightError as error:
                    wrong[where] = str(error).splitlines()[0]
                    continue
                paths = [p["path"] for p in posts]
                problems = [f"{p['path']}: HTTP {p['status']} {p['answer'][:200]}" for p in posts if p["status"] >= 300]
                problems += [f"{p['path']} sent again: {p['again'][0]}, not the first answer" for p in posts
                             if p["again"] != (p["status"], p["answer"])]
                problems += [f"{p['path']} sent again changed {p['made again']}" for p in posts if p["made again"]]
                problems += [f"{p} posted {paths.count(p)} times (a second submission)" for p in set(paths) if paths.count(p) > 1]
                problems += [f"{p['path']} without an Idempotency-Key" for p in posts if not p["key"]]
                if not posts:
                    state = target.evaluate("""(f) => f.isConnected ? [...f.elements].filter((e) => e.name)
                      .map((e) => `${e.name}=${e.value}${e.validationMessage ? ` (${e.validationMessage})` : ""}`).join(", ") : "redrawn" """)
                    problems.append(f"nothing posted: a form that writes, a fill in FILLS it needs, or a filter form (class filters); "
                                    f"its fields: {state}")
                elif not any(p["made"] for p in posts):
                    problems.append(f"the submission changed nothing: {posts}")
                if problems:
                    wrong[where] = problems
                written.update(paths)
    print(f"forms' write routes posted twice: {sorted(written)}; gone after their first save: {gone}")
    assert wrong == {}, "\n".join(f"{where}: {problems}" for where, problems in wrong.items())


# --------------------------------------------------------------------------- alert triage (changes the alerts: last)

def test_triage_on_today_severity_then_age_bulk_acknowledge_assign_and_close_needs_a_comment(page, orthanc):
    """Today lists the open alerts most severe first, then the oldest (the order computed here from the alerts'
    severities and times); "Select this page" and "Acknowledge selected" acknowledge every new one, "Assign selected"
    gives them to one person (both read back over the API); the assignee filter finds them; closing without a comment
    is refused in the page."""
    api = orthanc.session()
    rank = {"high": 0, "warning": 1, "info": 2}
    open_alerts = api.get(orthanc.url + "/kerma/api/alerts", params={"status": "new,acknowledged,under_investigation",
                                                                    "limit": 500}).json()["alerts"]
    assert 1 < len(open_alerts) <= 50 and any(a["status"] == "new" for a in open_alerts)
    expected = [a["id"] for a in sorted(open_alerts, key=lambda a: (rank[a["severity"]], a["created_at"], a["id"]))]
    page.goto(orthanc.url + "/kerma/ui/index.html")
    page.wait_for_selector("body[data-drawn]", state="attached")
    rows = page.locator("[data-table=triage] tbody tr")
    expect(rows).to_have_count(len(expected))
    assert [int(rows.nth(i).locator("input.pick").get_attribute("value")) for i in range(len(expected))] == expected
    page.click("button.select-page")
    page.fill("form.bulk input[name=bulk_comment]", "Seen in the morning round")
    with page.expect_response(lambda r: "/alerts/bulk/acknowledge" in r.url, timeout=60_000) as answer:
        page.click("button.bulk-acknowledge")
    assert answer.value.ok, answer.value.text()
    assert sorted(answer.value.json()["done"]) == sorted(a["id"] for a in open_alerts if a["status"] == "new")
    expect(rows.locator("td[data-label=Status]", has_text=re.compile("^new$"))).to_have_count(0, timeout=20_000)  # Today redrawn
    statuses = {a["id"]: a["status"] for a in api.get(orthanc.url + "/kerma/api/alerts", params={"limit": 500}).json()["alerts"]}
    assert {statuses[i] for i in expected} <= {"acknowledged", "under_investigation"}
    page.click("button.select-page")
    page.fill("form.bulk input[name=bulk_assignee]", "mpe.smith")
    page.click("button.bulk-assign")
    expect(rows.first.locator("td[data-label=Assignee]")).to_have_text("mpe.smith", timeout=20_000)
    assert api.get(orthanc.url + "/kerma/api/alerts", params={"assignee": "mpe.smith"}).json()["total"] == len(expected)
    page.fill("form.filters input[name=assignee]", "mpe.smith")
    page.click("form.filters button")
    expect(page.locator("[data-table=triage] .count")).to_have_text(f"{len(expected)} rows")
    rows.first.locator("a.row-link").click()
    expect(page.locator("dd.status")).to_have_text("acknowledged")
    page.click("button.action-close")
    expect(page.locator("form.review .result")).to_contain_text("Say why in the comment")
    assert api.get(orthanc.url + f"/kerma/api/alerts/{expected[0]}").json()["status"] == "acknowledged"
