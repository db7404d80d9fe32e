"""The statistics line chart with tens of devices (issue 14, "Charts with scales"), in headless Chromium on the UI's
own module (webui/lib/charts.js, served by Orthanc): at 1440 and 390 px wide, 60 devices give a legend that stays
inside its figure, in a box of its own that scrolls, every device named in full; the first 32 lines are each drawn
their own way (colour and dash); pointing at or tabbing to a device's legend entry brings its line forward and dims
the others; each point's hover text gives the device, the period and its value."""

from pathlib import Path

import pytest

from test_ui import AXE, AXE_SERIOUS

SHOTS = Path(__file__).parent / "output" / "ui-screens"

DEVICES = 60
PERIODS = ("2026-01", "2026-02", "2026-03", "2026-04")


def label(i: int) -> str:
    return f"Siemens Healthineers SOMATOM go.Top CT room {i:02d} (station CTROOM{i:02d})"


def median(i: int, j: int) -> float:
    return 300 + 7 * i + 11 * j


DRAW = """async ([devices, periods]) => {
  const { lineChart } = await import("/kerma/ui/lib/charts.js");
  const series = Array.from({ length: devices }, (_, i) => ({
    label: `Siemens Healthineers SOMATOM go.Top CT room ${String(i).padStart(2, "0")} (station CTROOM${String(i).padStart(2, "0")})`,
    points: periods.map((p, j) => ({ x: p, xText: p, y: 300 + 7 * i + 11 * j, n: 10 + i })) }));
  const view = document.getElementById("view");
  view.replaceChildren(lineChart({ title: "Median DLP per month", what: "each device a line; the DRL in force dashed", series,
    yTitle: "DLP (mGy·cm)", lines: [{ value: 600, label: "DRL 600 mGy·cm" }] }));
}"""


@pytest.mark.parametrize("width,height", [(1440, 900), (390, 844)])
def test_a_chart_of_60_devices_keeps_a_readable_legend_and_finds_each_line(browser, shared_orthanc, width, height):
    context = browser.new_context(http_credentials={"username": "kerma", "password": "kerma"},
                                  viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(shared_orthanc.url + "/kerma/ui/index.html#/getting-started")
    page.wait_for_selector("body[data-drawn]", state="attached")
    page.evaluate(DRAW, [DEVICES, list(PERIODS)])
    figure = page.locator("figure.exam-chart")
    legend = figure.locator("ul.legend")
    entries = legend.locator("li[data-index]")
    assert entries.count() == DEVICES

    # the legend stays inside its figure and the page, scrolls in a box of its own, and names every device in full
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    inside = figure.evaluate("""f => { const box = f.getBoundingClientRect();
        return [...f.querySelectorAll("ul.legend li")].every((li) => { const r = li.getBoundingClientRect();
          return r.left >= box.left - 0.5 && r.right <= box.right + 0.5; }); }""")
    assert inside
    height_px, scroll_px = legend.evaluate("l => [l.clientHeight, l.scrollHeight]")
    assert height_px <= 170 < scroll_px  # 9.5rem at most: the chart stays in view
    assert [entries.nth(i).get_attribute("title") for i in range(DEVICES)] == [label(i) for i in range(DEVICES)]
    assert entries.nth(7).inner_text() == label(7)
    cut = entries.evaluate_all("items => items.filter((li) => li.scrollWidth > li.clientWidth).length")
    assert cut == 0  # no name cut off with an ellipsis: names differing only at the end stay told apart

    SHOTS.mkdir(parents=True, exist_ok=True)
    figure.screenshot(path=str(SHOTS / f"chart-60-devices-{width}px.png"))

    # the first 32 lines each drawn their own way: colour and dash
    looks = page.locator("svg.chart polyline.series").evaluate_all(
        "lines => lines.map((l) => { const s = getComputedStyle(l); return `${s.stroke} ${s.strokeDasharray}`; })")
    assert len(looks) == DEVICES and len(set(looks[:32])) == 32

    # pointing at a legend entry brings that line forward; tabbing to another does the same for it
    def opacities():
        return page.locator("svg.chart polyline.series").evaluate_all("lines => lines.map((l) => getComputedStyle(l).opacity)")
    assert set(opacities()) == {"1"}
    entries.nth(45).scroll_into_view_if_needed()
    entries.nth(45).hover()
    shown = opacities()
    assert shown[45] == "1" and {o for i, o in enumerate(shown) if i != 45} == {"0.12"}
    page.mouse.move(0, 0)
    assert set(opacities()) == {"1"}
    entries.nth(3).focus()
    shown = opacities()
    assert shown[3] == "1" and shown[45] == "0.12"
    entries.nth(3).blur()
    assert set(opacities()) == {"1"}

    # each point's hover text: the device, the period and its median with n
    tip = page.locator("svg.chart circle.point[data-index='12'][data-period='2026-03'] title").text_content()
    assert tip == f"{label(12)}, 2026-03: {median(12, 2):,} (n = 22)"
    entries.nth(45).hover()
    figure.screenshot(path=str(SHOTS / f"chart-60-devices-{width}px-picked.png"))
    page.evaluate(AXE.read_text(encoding="utf-8"))
    assert page.evaluate(AXE_SERIOUS) == []
    context.close()
