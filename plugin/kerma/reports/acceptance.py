"""A device's acceptance report (:mod:`kerma.acceptance.report`) as a PDF, rendered in a child process of its own.

The report is computed from the database by the caller (plain queries); only the rendering, which loads
matplotlib, runs in the child (``spawn``, as :mod:`kerma.reports.process` starts the periodic reports), so
Orthanc's process never charts.
"""

from __future__ import annotations

import multiprocessing

from ..child import interpreter

TIMEOUT_SECONDS = 120


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{100 * share:.0f} %"


def title_of(report: dict) -> str:
    d = report["device"]
    name = " ".join(filter(None, [d["manufacturer"], d["model"], d["station_name"]])) or "unnamed device"
    return f"Acceptance report: {name} ({d['modality'] or 'modality not stated'})"


def sections_of(report: dict) -> list:
    """The report's sections: summary, gaps, fields, sources, event counts, software, studies to check."""
    from .layout import Section

    d, mapping, orders = report["device"], report["mapping"], report["orders"]
    summary = [["device", " ".join(filter(None, [d["manufacturer"], d["model"]])) or "—"],
               ["station, serial number", f"{d['station_name'] or '—'}, {d['serial_number'] or '—'}"],
               ["seen", f"{d['first_seen'] or '—'} – {d['last_seen'] or '—'}"],
               ["studies, records", f"{report['studies']}, {report['records']}"],
               ["sources", ", ".join(f"{s['source']} ({s['records']})" for s in report["sources"]) or "—"],
               ["studies with a standard exam", f"{mapping['studies_mapped']} of {mapping['studies']} ({_percent(mapping['share_studies'])})"],
               ["performed orders with dose", f"{orders['with_dose']} of {orders['performed']} ({_percent(orders['share_with_dose'])})"],
               ["event counts checked", f"{report['event_counts']['studies_checked']} studies, "
                                        f"{report['event_counts']['inconsistent']} disagree"]]
    return [
        Section("Summary", columns=["what", "value"], rows=summary),
        Section("Gaps", columns=["gap"], rows=[[g] for g in report["gaps"]]),
        Section("Fields filled across the device's studies", columns=["field", "level", "filled", "studies", "units written", "key"],
                rows=[[f"{f['label'] or f['field']} ({f['field']})", f["level"], f["fill"], f"{f['filled_studies']} of {f['studies']}",
                       ", ".join(f["units_seen"]) or "—", "key" if f["key"] else ""] for f in report["fields"]]),
        Section("Event counts that disagree", columns=["study", "date", "why"],
                rows=[[s["study_instance_uid"], s["study_date"] or "—", s["why"]] for s in report["event_counts"]["studies"]]),
        Section("Software versions", columns=["software", "records", "first study"],
                rows=[[v["software_versions"], str(v["records"]), v["first_study_date"] or "—"] for v in report["software_versions"]]),
        Section("Studies to check by hand first", columns=["study", "date", "why"],
                rows=[[s["study_instance_uid"], s["study_date"] or "—", s["why"]] for s in report["first_to_check"]]),
    ]


def acceptance_pdf(report: dict) -> bytes:
    from .render import to_pdf

    return to_pdf(title_of(report), sections_of(report))


def _child(report: dict, connection) -> None:
    connection.send_bytes(acceptance_pdf(report))
    connection.close()


def render_pdf(report: dict, timeout: float = TIMEOUT_SECONDS) -> bytes:
    """The PDF of ``report``, rendered in a child process; RuntimeError when the child fails or takes too long."""
    context = multiprocessing.get_context("spawn")
    context.set_executable(interpreter())
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(report, sender), name="kerma-acceptance-pdf", daemon=True)
    child.start()
    sender.close()
    try:
        if not receiver.poll(timeout):
            raise RuntimeError(f"the acceptance PDF took longer than {timeout:g} s")
        return receiver.recv_bytes()
    except EOFError:
        raise RuntimeError("the acceptance PDF could not be rendered (its process ended without it)") from None
    finally:
        receiver.close()
        child.join(10)
        if child.is_alive():
            child.terminate()
