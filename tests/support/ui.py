"""For the web UI's tests of one screen (on the conftest's shared_orthanc and browser): a signed-in page in Chromium
that fails the test when anything opens a dialog (a script run from data), and a click that waits for the screen it asks
for to be drawn afresh."""

from contextlib import contextmanager


@contextmanager
def signed_in_page(browser, screen: str):
    context = browser.new_context(http_credentials={"username": "kerma", "password": "kerma"}, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    yield page
    assert dialogs == [], f"the {screen} screen opened a dialog"
    context.close()


def drawn_after(page, locator) -> None:
    """Click ``locator`` and wait until the screen it leads to is drawn (``body[data-drawn]``, which the app removes on a
    new address and sets once the new screen is in place): a filter form's submit, for one, changes the address and
    the screen is drawn anew, so an assertion or a fill made before that would meet the screen being replaced."""
    page.evaluate("delete document.body.dataset.drawn")
    locator.click()
    page.wait_for_selector("body[data-drawn]", state="attached")
