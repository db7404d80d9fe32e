"""The audit log screen filters by dates, person, action and what an entry is on (issue 14, "Screens for the rest of
the API ... audit log"), in headless Chromium on an Orthanc of its own: three alert rules made and one changed over
the API (four entries of the user "kerma" on alert rules, counted here), then the screen's filters find exactly
those, each filter kept in the address; dates are native date pickers, and a range before any entry finds none."""

import re

import pytest
from playwright.sync_api import expect

from support.orthanc import running_orthanc
from support.ui import drawn_after, signed_in_page

RULE = {"kind": "absolute", "severity": "high", "level": "exam", "quantity": "total_dlp_mGycm", "notify_roles": []}


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    with running_orthanc(tmp_path_factory.mktemp("orthanc-ui-audit")) as process:
        yield process


def test_the_audit_log_is_filtered_by_person_action_target_and_dates(browser, orthanc):
    api, url = orthanc.session(), orthanc.url + "/kerma/api/"
    made = []
    for i in range(3):
        answer = api.post(url + "alerts/rules", json={**RULE, "name": f"Audit filter rule {i}", "parameters": {"threshold": 1000.0 + i}})
        assert answer.status_code == 200, answer.text
        made.append(answer.json()["id"])
    assert api.put(url + f"alerts/rules/{made[0]}", json={"parameters": {"threshold": 2000.0}}).status_code == 200

    with signed_in_page(browser, "audit") as page:
        page.goto(orthanc.url + "/kerma/ui/index.html#/audit")
        page.wait_for_selector("body[data-drawn]", state="attached")
        form = page.locator("form.filters")
        assert [form.locator(f"input[name={n}]").get_attribute("type") for n in ("date_from", "date_to")] == ["date", "date"]
        rows = page.locator("[data-table=audit] tbody tr")

        form.locator("input[name=actor]").fill("kerma")
        form.locator("input[name=target_type]").fill("alert_rule")
        drawn_after(page, form.locator("button"))
        expect(rows).to_have_count(4)
        expect(page).to_have_url(re.compile(r"#/audit\?actor=kerma&target_type=alert_rule$"))
        assert sorted(rows.locator("td[data-label=Action]").all_inner_texts()) == ["alert rule create"] * 3 + ["alert rule update"]

        form = page.locator("form.filters")
        assert form.locator("input[name=actor]").input_value() == "kerma"  # the filter shown as it is applied
        form.locator("input[name=action]").fill("alert_rule.update")
        drawn_after(page, form.locator("button"))
        expect(rows).to_have_count(1)
        expect(rows.first.locator("td[data-label=What]")).to_contain_text("parameters")

        form = page.locator("form.filters")
        form.locator("input[name=action]").fill("")
        form.locator("input[name=date_from]").fill("2000-01-01")
        form.locator("input[name=date_to]").fill("2000-12-31")
        drawn_after(page, form.locator("button"))
        expect(page.locator("[data-table=audit] tbody td.empty")).to_have_text("No entry.")
        page.locator("form.filters input[name=date_to]").fill("")
        drawn_after(page, page.locator("form.filters button"))
        expect(rows).to_have_count(4)
