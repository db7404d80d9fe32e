"""For the web UI's tests of one screen (on the conftest's shared_orthanc and browser): a signed-in page in Chromium
that fails the test when anything opens a dialog (a script run from data)."""

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
