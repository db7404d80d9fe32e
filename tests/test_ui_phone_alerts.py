"""Alert triage on a phone (issue 14, "works on a phone"), in headless Chromium at 390 × 844 on an Orthanc of its own:
the Alerts and Today screens put the alerts first (their filters and bulk actions, which filled the whole first screen,
fold away under one line that says how many filters apply; Today's figures go two by two), the fold opens to the same filters, and a filter chosen
there applies; at 1440 px nothing is folded."""

import pytest
from playwright.sync_api import expect

from conftest import CORPUS
from support.orthanc import running_orthanc
from test_orthanc_ingest import wait_until_ingested

REPORTS = ("openrem/CT-RDSR-GEPixelMed.dcm", "openrem/RF-RDSR-Siemens-Zee.dcm")  # two devices never seen before: two alerts


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    with running_orthanc(tmp_path_factory.mktemp("orthanc-ui-phone")) as process:
        assert process.store([CORPUS / r for r in REPORTS]) == [0, 0]
        wait_until_ingested(process)
        yield process


def open_page(browser, orthanc, width, height, route):
    context = browser.new_context(http_credentials={"username": "kerma", "password": "kerma"},
                                  viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(orthanc.url + "/kerma/ui/index.html" + route)
    page.wait_for_selector("body[data-drawn]", state="attached")
    return context, page


SCREENS_ABOVE = {"#/alerts": 1, "#/today": 2}  # how many phone screens may come before the first alert's row ends


@pytest.mark.parametrize("route", ["#/alerts", "#/today"])
def test_on_a_phone_the_alerts_come_before_their_filters(browser, orthanc, route):
    alerts = orthanc.session().get(orthanc.url + "/kerma/api/alerts", params={"status": "new"}).json()["alerts"]
    assert len(alerts) >= 2
    context, page = open_page(browser, orthanc, 390, 844, route)
    rows = page.locator("[data-table=triage] tbody tr")
    expect(rows).to_have_count(len(alerts))
    # the first alert on the first screen; on Today under the morning's figures (two by two), in the second
    assert rows.first.bounding_box()["y"] + 40 < SCREENS_ABOVE[route] * 844
    tools = page.locator("details.triage-tools")
    expect(tools.locator("summary")).to_have_text("Filters and bulk actions")
    expect(tools.locator("form.filters")).to_be_hidden()

    tools.locator("summary").click()
    expect(tools.locator("form.filters select[name=severity]")).to_be_visible()
    expect(tools.locator("form.bulk")).to_be_visible()
    tools.locator("select[name=kind]").select_option("new_device")
    tools.locator("form.filters button").click()
    expect(page.locator("details.triage-tools summary")).to_have_text("Filters (1 applied) and bulk actions")
    expect(rows).to_have_count(sum(a["kind"] == "new_device" for a in alerts))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()

    context, page = open_page(browser, orthanc, 1440, 900, route)
    expect(page.locator("[data-table=triage] tbody tr")).to_have_count(len(alerts))
    assert page.locator("details.triage-tools").count() == 0
    expect(page.locator("form.filters")).to_be_visible()
    context.close()
