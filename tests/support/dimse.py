"""pynetdicom associations of the tests' and bench/'s SCUs, safe from a race in pynetdicom's reactor and one in
CPython's threading. No pytest here.

    assoc = ae.associate("127.0.0.1", port, contexts=contexts)
    responses_to_sender(assoc)      # before the first send_c_*
    status = assoc.send_c_store(path)

Every pynetdicom association runs a reactor thread that polls the DIMSE queue (``dimse.get_msg(block=False)``) and
serves whatever it takes off as a request; a ``send_c_*`` call pauses it, sends, and waits on the same queue
(``get_msg(block=True)``).  In pynetdicom 3.0.4 the pause can be stale: the reactor sets ``_is_paused = False`` only
after its checkpoint's ``wait()`` has returned, so a send that follows the previous one at once sees the old
``True`` and goes ahead while the reactor is about to poll.  When the reactor thread gets the CPU just as the
response lands, it takes the response ("Received unexpected C-STORE service message", as it is no request), and
the sender waits until its DIMSE timeout and aborts.  On a loaded 2-core machine this hit one C-STORE in a few
thousand (twice in full CI runs, 2026-12-02: the "C-STORE answered only after more than 60 s"); holding the reactor
at that point until the response is queued makes it happen within a few dozen stores.

An SCU association of ours never receives a request (no C-GET, no N-EVENT-REPORT), so its reactor need not take
messages at all: every message is left to the sender waiting for it.  Release and abort are not affected (the
reactor sees them through ACSE, not the DIMSE queue).

A second race is CPython's, not pynetdicom's: before Python 3.13 two threads asking ``is_alive()`` of a thread that
has just ended can collide in ``threading`` (python/cpython#116372: one of them fails ``assert not lock.locked()``).
At the end of a release both the association's reactor and ``release()`` ask it of the DUL thread; one CI pass under
libfaketime met it (2026-12-03) after the SCP had answered the release.  :func:`release` takes that for what it is.
"""

import sys


def responses_to_sender(assoc):
    """Make the reactor of the SCU association ``assoc`` leave every DIMSE message to the ``send_c_*`` call waiting
    for it; returns ``assoc``."""
    waited_for = assoc.dimse.get_msg

    def get_msg(block: bool = False):
        return waited_for(block=True) if block else (None, None)

    assoc.dimse.get_msg = get_msg
    return assoc


def release(assoc) -> None:
    """Release ``assoc`` if it is still established.  The A-RELEASE exchange is done when CPython's ``is_alive()`` race
    (above) fails in the stopping of the DUL thread: that failure is not the peer's, and the association is over."""
    if not assoc.is_established:
        return
    try:
        assoc.release()
    except AssertionError:
        if sys.version_info >= (3, 13) or assoc.dul.is_alive():
            raise
