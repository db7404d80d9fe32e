"""The web UI in headless Chromium (Debian's), through Orthanc with authentication on."""

import statistics
import time
import urllib.parse

import pytest
import requests
from playwright.sync_api import expect, sync_playwright
from pydicom.uid import generate_uid

from corpus import CORPUS
from dicom_factory import copy_with
from dose_setup import api_poster, exam_with_drl_over_rest
from kerma.extract import extract
from support.orthanc import OrthancProcess, free_port
from test_orthanc_ingest import wait_until_ingested

XSS = "<img src=x onerror=alert(1)>"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
REPORTS = ["openrem/CT-RDSR-Siemens-Continued-1.dcm", "openrem/CT-RDSR-Toshiba_DoseCheck.dcm", "openrem/CT-RDSR-GEPixelMed.dcm",
           "openrem/RF-RDSR-Siemens-Zee.dcm",
           "openrem/RF-Pat-Orientation-Modifier-Missing.dcm"]  # Ka,r 7.7 Gy: a substantial radiation dose level alert


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    work = tmp_path_factory.mktemp("orthanc-ui")
    process = OrthancProcess(work, free_port(), free_port(), f"sqlite:///{work / 'kerma.sqlite'}")
    process.start()
    xss_image = work / "xss.dcm"
    xss_image.write_bytes(copy_with(CORPUS / "openrem/DX-Im-GE_XR220-1.dcm", ProtocolName=XSS))
    assert all(s == 0 for s in process.store([CORPUS / r for r in REPORTS] + [xss_image]))
    wait_until_ingested(process)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS, headless=True)
        yield chromium
        chromium.close()


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
    page.goto(orthanc.url + "/kerma/ui/#/studies")
    row = page.locator("tr.link", has_text=record["study"]["accession_number"])
    expect(row).to_be_visible()
    row.click()
    expect(page.locator("h1")).to_have_text(record["study"]["study_description"] or "Study")
    events = page.locator("table").last.locator("tbody tr")
    expect(events).to_have_count(len(record["events"]))
    expect(page.locator("dd.source")).to_contain_text("rdsr")
    link = page.locator("a.images").get_attribute("href")
    orthanc_id = orthanc.session().post(orthanc.url + "/tools/lookup", data=record["study_instance_uid"]).json()[0]["ID"]
    assert link.endswith(f"#study?uuid={orthanc_id}")
    with page.context.expect_page() as opened:
        page.locator("a.images").click()
    explorer = opened.value
    explorer.wait_for_load_state()
    assert "/app/explorer.html" in explorer.url
    expect(explorer.locator("#study-info")).to_contain_text(record["study"]["accession_number"])


def test_protocol_names_are_shown_as_text_everywhere(page, orthanc):
    page.goto(orthanc.url + "/kerma/ui/#/mapping")
    expect(page.locator("td", has_text=XSS).first).to_be_visible()
    assert page.locator("main img").count() == 0
    page.goto(orthanc.url + "/kerma/ui/#/studies?modality=DX")
    page.locator("tr.link").first.click()
    expect(page.locator("td", has_text=XSS).first).to_be_visible()
    assert page.locator("main img").count() == 0


def test_mapping_rule_from_the_ui_remaps_and_the_chart_shows_the_median(page, orthanc):
    page.goto(orthanc.url + "/kerma/ui/#/mapping")
    page.select_option("select[name=level]", "exposure")
    page.fill("input[name=modality]", "CT")
    page.fill("input[name=field]", "acquisition_type")
    page.select_option("select[name=op]", "equals")
    page.fill("input[name=value]", "Spiral Acquisition")
    page.fill("input[name=exam_name]", "CT spiral (UI test)")
    page.click("button.preview")
    expect(page.locator(".result")).to_contain_text("Would match")
    page.click("button.save")
    expect(page.locator(".result")).to_contain_text("re-mapped")
    # independent of Kerma's statistics: the spiral CTDIvol values of the reports sent
    per_device: dict = {}
    for r in REPORTS:
        rec = extract((CORPUS / r).read_bytes())
        for e in rec["events"]:
            if rec["modality"] == "CT" and e.get("acquisition_type") == "Spiral Acquisition":
                per_device.setdefault(rec["device"]["station_name"], []).append(e["ctdivol_mGy"])
    # the corpus studies are years old: the page's default window is the last twelve months
    page.goto(orthanc.url + "/kerma/ui/#/statistics?quantity=ctdivol_mGy&period=all&date_from=2000-01-01&date_to=2030-12-31")
    figure = page.locator("figure.exam-chart[data-exam='CT spiral (UI test)']")
    expect(figure).to_be_visible()
    points = figure.locator("circle[data-median]")
    shown = {points.nth(i).get_attribute("data-series"): float(points.nth(i).get_attribute("data-median"))
             for i in range(points.count())}
    assert shown == pytest.approx({device: statistics.median(v) for device, v in per_device.items()})
    # labels and units come from GET quantities, not from the page's own list
    expect(page.locator("select[name=quantity] option[value=ctdivol_mGy]")).to_have_text("CTDIvol (exposure, mGy)")
    expect(page.locator("select[name=quantity] option[value=total_dlp_mGycm]")).to_have_text("DLP (exam, mGy·cm)")
    expect(page.locator("caption", has_text="CTDIvol (exposure, mGy)")).to_be_visible()


def test_explorer_dose_button_leads_to_the_study(page, orthanc):
    record = extract((CORPUS / REPORTS[1]).read_bytes())
    orthanc_id = orthanc.session().post(orthanc.url + "/tools/lookup", data=record["study_instance_uid"]).json()[0]["ID"]
    page.goto(orthanc.url + f"/app/explorer.html#study?uuid={orthanc_id}")
    button = page.locator("#kerma-dose")
    expect(button).to_be_visible()
    expect(button).to_contain_text("DLP 502.4 mGy·cm")  # the label and unit from GET quantities, not the field name
    button.click()
    page.wait_for_url(f"**/kerma/ui/index.html#/studies/{record['study_instance_uid']}")
    expect(page.locator("dd.source")).to_contain_text("rdsr")


def test_an_alert_is_acknowledged_and_closed_with_its_audit_trail(page, orthanc):
    alerts = orthanc.session().get(orthanc.url + "/kerma/api/alerts?status=new").json()["alerts"]
    assert alerts, "the fluoroscopy report over 5 Gy should have raised an alert"
    alert = alerts[0]
    page.goto(orthanc.url + "/kerma/ui/index.html#/alerts")
    page.locator("tr.link", has_text=str(alert["rule"])).first.click()
    page.wait_for_url(f"**#/alerts/{alert['id']}")
    expect(page.locator("dd.status")).to_have_text("new")
    page.fill("input[name=comment]", "Seen by the MPE; patient follow-up arranged")
    page.click("button.action-acknowledge")
    expect(page.locator("dd.status")).to_have_text("acknowledged")
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
        {"field": "accession_number", "op": "equals", "value": record["study"]["accession_number"]},
        quantity="total_dlp_mGycm", value=9999.0, set_name="UI old DRL", valid_to="2000-01-01")
    current = post("drl/sets", {"name": "UI current DRL", "kind": "local", "valid_from": "2000-01-02"})
    post(f"drl/sets/{current['id']}/values", {"standard_exam_id": exam_id, "quantity": "total_dlp_mGycm", "value": 700.0})
    achievable = post("drl/sets", {"name": "UI achievable", "kind": "achievable"})
    post(f"drl/sets/{achievable['id']}/values", {"standard_exam_id": exam_id, "quantity": "total_dlp_mGycm", "value": 400.0})
    page.goto(orthanc.url + f"/kerma/ui/#/studies/{record['study_instance_uid']}")
    levels = page.locator("table", has=page.locator("caption", has_text="Levels in force")).locator("tbody tr")
    expect(levels).to_have_count(1)
    cells = levels.first.locator("td")
    expect(cells.nth(3)).to_have_text("700")  # the study (2017) met the current set, not the one that ended in 2000
    expect(cells.nth(4)).to_have_text("UI current DRL")
    expect(cells.nth(6)).to_have_text("400")
    expect(cells.nth(1)).to_have_text("DLP (mGy·cm)")  # labels and units from GET quantities, not field names
    totals = page.locator("table", has=page.locator("th", has_text="Value")).first.locator("tbody tr")
    expect(totals.filter(has_text="DLP (mGy·cm)").first).to_contain_text("502.4")
    weight = record["patient"]["weight_kg"]
    expect(page.locator("dd.size")).to_have_text(f"{weight:g} kg (DICOM header)" if weight else "—")


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
    page.goto(orthanc.url + "/kerma/ui/#/studies")
    page.locator("tr.link", has_text="UI-ANY-UID").click()
    expect(page.locator("p.deleted-in-pacs")).to_contain_text("Deleted in PACS")
    expect(page.locator("dl.facts")).to_contain_text(uid)
    expect(page.locator("table").last.locator("tbody tr")).not_to_have_count(0)  # the records are kept
