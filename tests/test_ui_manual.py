"""Manual dose entry in headless Chromium, through Orthanc with authentication on (issue 12 §3): a value outside
the usual range needs a confirmation, the entry is audited, the study's dose becomes it, a correction needs a reason."""

import time

import pytest
from playwright.sync_api import expect

from support.ui import signed_in_page

STUDY_UID = "1.2.826.0.1.3680043.8.498.20240305091500"


@pytest.fixture(scope="module")
def orthanc(shared_orthanc):
    return shared_orthanc


@pytest.fixture
def page(browser, orthanc):
    with signed_in_page(browser, "manual entry") as page:
        yield page


def dose_shows(page, url, dap_Gycm2: str, timeout=30):
    """The study's entries page, shown again until the ingest worker has refreshed the study (its PollSeconds): the
    statistics use the manual record and the study's total DAP reads ``dap_Gycm2``."""
    deadline = time.monotonic() + timeout
    while True:
        page.goto(url)
        page.locator("dd.totals").wait_for()
        source, totals = page.locator("dd.source").inner_text(), page.locator("dd.totals").inner_text()
        if source == "manual" and f"DAP (Gy·cm²) {dap_Gycm2}" in totals.split("; "):  # the quantity's label and unit
            return
        assert time.monotonic() < deadline, f"the study's statistics use {source!r}: {totals!r}"
        page.wait_for_timeout(500)


def test_a_dose_entered_by_hand_needs_confirming_when_unusual_and_is_audited(page, orthanc):
    page.goto(orthanc.url + "/kerma/ui/#/today")
    page.click("#nav a[href='#/manual']")
    form = page.locator("form.manual-entry")
    form.locator("input[name=study_instance_uid]").fill(STUDY_UID)
    form.locator("input[name=study_date]").fill("2024-03-05")
    form.locator("select[name=modality]").select_option("RF")
    form.locator("select[name=quantity]").select_option("dap_total_Gycm2")
    form.locator("input[name=value]").fill("72000")
    form.locator("select[name=unit]").select_option("uGy.m2")  # 72,000 uGy.m2 = 720 Gy.cm2, above NCRP 168's 500
    form.locator("input[name=performed_at]").fill("2024-03-05T09:15")
    form.locator("input[name=performed_by]").fill("J. Radiographer")
    form.locator("select[name=device_id]").select_option("other")
    form.locator("input[name=manufacturer]").fill("Ziehm")
    form.locator("input[name=model]").fill("Vision RFD")
    form.locator("input[name=station_name]").fill("MOBILE-CARM-2")
    form.locator("button.save").click()
    expect(form.locator(".result")).to_contain_text("above the usual range")
    api = orthanc.session()
    assert api.get(orthanc.url + f"/kerma/api/studies/{STUDY_UID}").status_code == 404  # nothing saved yet
    confirm = form.locator("input[name=confirm_outlier]")
    expect(confirm).to_be_visible()
    confirm.check()
    form.locator("button.save").click()
    page.wait_for_url(f"**#/studies/{STUDY_UID}/manual")
    expect(page.locator(".message")).to_contain_text("Saved")
    row = page.locator("table.manual-entries tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("720 Gy.cm2")
    expect(row).to_contain_text("72000 uGy.m2")
    expect(row).to_contain_text("(confirmed)")
    expect(page.locator("table.manual-history tbody tr").first).to_contain_text("create")

    # the audit trail, as an administrator reads it
    [created] = api.get(orthanc.url + "/kerma/api/audit", params={"target_id": STUDY_UID, "action": "manual_entry"}).json()["entries"]
    assert (created["actor"], created["action"]) == ("kerma", "manual_entry.create")
    assert created["after"]["value"] == 720 and created["after"]["entered_unit"] == "uGy.m2"
    assert created["note"].startswith("confirmed: DAP 720 Gy.cm2 is above the usual range")

    # the study's dose is the entry once the ingest worker has refreshed it
    entries_url = orthanc.url + f"/kerma/ui/#/studies/{STUDY_UID}/manual"
    dose_shows(page, entries_url, "720")
    assert api.get(orthanc.url + f"/kerma/api/studies/{STUDY_UID}").json()["totals"]["dap_total_Gycm2"] == 720

    # from the study page to its entries: a correction needs a reason
    page.goto(orthanc.url + f"/kerma/ui/#/studies/{STUDY_UID}")
    page.click("a.manual")
    page.wait_for_url(f"**#/studies/{STUDY_UID}/manual")
    page.click("table.manual-entries button.correct")
    correction = page.locator("form.manual-correct")
    correction.locator("input[name=value]").fill("7200")
    correction.locator("button.save").click()
    assert correction.locator("input[name=reason]").evaluate("input => input.validity.valueMissing")
    correction.locator("input[name=reason]").fill("misread the display: 7,200 uGy.m2")
    correction.locator("button.save").click()
    expect(page.locator(".message")).to_contain_text("Corrected")
    expect(page.locator("table.manual-entries tbody tr")).to_contain_text("72 Gy.cm2")
    history = page.locator("table.manual-history tbody tr").first
    expect(history).to_contain_text("update")
    expect(history).to_contain_text("misread the display")
    dose_shows(page, entries_url, "72")
