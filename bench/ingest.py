"""(a) C-STORE rate, Orthanc alone vs Orthanc + Kerma, and (b) store-to-record latency."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from common import AUTH, CALLING_AET, REPO, median, percentile, start_orthanc, wait_for
from support.dimse import responses_to_sender  # noqa: E402  (tests/support, on the path through common)

# storescu logs through log4cplus; this layout stamps each line with epoch seconds.milliseconds.
LOG_CONFIG = """\
log4cplus.rootLogger = INFO, console
log4cplus.appender.console = log4cplus::ConsoleAppender
log4cplus.appender.console.layout = log4cplus::PatternLayout
log4cplus.appender.console.layout.ConversionPattern = %D{%s.%q} %m%n
"""
_STAMP = re.compile(r"^(\d+\.\d+) (.*)$")


def storescu(paths: list[Path], port: int, log_config: Path, aet: str = "ORTHANC") -> dict:
    """Send ``paths`` over one association with DCMTK storescu; time it.

    ``-R`` proposes only the classes of the files (so the ...88.68/.76 dose SRs are proposed),
    ``-xs`` adds JPEG lossless to the proposed syntaxes (the corpus CT image is JPEG lossless),
    ``TCP_NODELAY=1`` avoids Nagle's 40 ms stalls (ORTHANC-NOTES.md).

    Returns
    -------
    dict
        ``wall_s`` (whole process), ``assoc_s`` (association request -> release, from storescu's
        own log time stamps, so without its start-up and file scan), ``failed`` (stores that failed),
        ``returncode``, ``started`` (time.perf_counter() at launch).
    """
    cmd = ["storescu", "-R", "-xs", "-nh", "-lc", str(log_config), "-aet", CALLING_AET, "-aec", aet, "127.0.0.1", str(port)]
    cmd += [str(p) for p in paths]
    env = dict(os.environ, TCP_NODELAY="1")
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    stamps = {}
    failed = 0
    for line in proc.stdout.splitlines() + proc.stderr.splitlines():
        m = _STAMP.match(line)
        if not m:
            continue
        text = m.group(2)
        if text.startswith("Requesting Association"):
            stamps["request"] = float(m.group(1))
        elif text.startswith("Releasing Association"):
            stamps["release"] = float(m.group(1))
        elif text.startswith("Store Failed"):
            failed += 1
    assoc = stamps["release"] - stamps["request"] if len(stamps) == 2 else None
    return {"wall_s": wall, "assoc_s": assoc, "failed": failed, "returncode": proc.returncode,
            "started": started, "stderr_tail": proc.stderr[-500:] if proc.returncode else ""}


def _s(seconds) -> str:
    return "-" if seconds is None else f"{seconds:.2f} s"


def _health(session, url, errors: list | None = None):
    """Kerma's health, or None when it does not answer 200 (the answer is appended to ``errors``)."""
    response = session.get(url + "/kerma/api/health", timeout=10)
    if response.status_code != 200:
        if errors is not None:
            errors.append(f"{response.status_code} {response.text[:200]}")
        return None
    return response.json()


def one_run(kind: str, paths: list[Path], expected_ok: int, workroot: Path, log_config: Path,
            e2e_timeout: float = 300.0, check=None, kerma_config: dict | None = None, tree: Path = REPO) -> dict:
    """One fresh Orthanc (``kind`` = "alone", else Kerma of ``tree`` with ``kerma_config``), one storescu of the batch,
    figures.

    ``expected_ok``: how many ``ok`` dose records Kerma must end up with.  ``check(session, url)``
    (Kerma runs only, after the end-to-end time is taken): a dict merged into the result; its
    ``check_ok`` (if any) must be true for the run to count as complete.
    """
    workdir = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=workroot))
    orthanc = start_orthanc(workdir, with_kerma=(kind != "alone"), kerma_config=kerma_config, tree=tree)
    try:
        session = orthanc.session()
        result = storescu(paths, orthanc.dicom_port, log_config)
        n = len(paths)
        result["kind"] = kind
        if kind != "alone":
            recorded_at, last, errors = [], {}, []

            def all_recorded():
                h = _health(session, orthanc.url, errors)
                if h is None:
                    return None
                last["health"] = h
                if not recorded_at and sum(h["counts"]["dose_objects"].values()) >= n:
                    recorded_at.append(time.perf_counter())
                return h if recorded_at and h["lag"] == 0 else None
            # polled only after storescu returned, so the polling does not slow the C-STORE itself
            try:
                health, done_at = wait_for(all_recorded, e2e_timeout, 0.02)
                result["e2e_s"] = done_at - result["started"]  # every record written and lag 0
            except TimeoutError:  # reported as an incomplete run, with what health showed last
                health = last.get("health") or {"counts": {"dose_objects": {}}, "ingest_error": None,
                                                 "cursor": None, "orthanc_last_seq": None, "lag": None}
                result["e2e_s"] = None
                result["timeout"] = f"health not complete {e2e_timeout:.0f} s after storescu started"
                result["last_health"] = health
                result["orthanc_log_tail"] = orthanc.log_tail(30)
            if errors:  # health answered an error while polling: counted, shown, and the log kept
                result["health_errors"] = errors
                result["orthanc_log_tail"] = orthanc.log_tail(30)
            result["records_s"] = recorded_at[0] - result["started"] if recorded_at else None  # every record written
            result["dose_objects"] = health["counts"]["dose_objects"]
            result["ingest_error"] = health["ingest_error"]
            if check is not None:
                result.update(check(session, orthanc.url))
        stored = session.get(orthanc.url + "/statistics", timeout=10).json()["CountInstances"]
        result["stored"] = stored
        result["ok"] = (stored == n and result["failed"] == 0 and result["assoc_s"] is not None
                        and (kind == "alone" or (result["dose_objects"].get("ok", 0) == expected_ok
                                                 and result["e2e_s"] is not None and result.get("check_ok", True))))
        result["rate"] = n / result["assoc_s"] if result["assoc_s"] else None
        result["rate_wall"] = n / result["wall_s"]
        del result["started"]
        return result
    finally:
        orthanc.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _kerma_text(r: dict) -> str:
    """The Kerma part of a run's progress line."""
    if r["kind"] == "alone":
        return ""
    text = f", all records {_s(r['records_s'])}, lag 0 {_s(r['e2e_s'])}, {r['dose_objects']}"
    if r.get("health_errors"):
        text += f", {len(r['health_errors'])} health error(s): {r['health_errors'][0]}"
    if r.get("timeout"):
        last = r["last_health"]
        text += f", TIMEOUT: last health cursor {last['cursor']}, orthanc_last_seq {last['orthanc_last_seq']}, lag {last['lag']}"
    if r.get("check_text"):
        text += ", " + r["check_text"]
    return text


def ingestion(paths: list[Path], expected_ok: int, runs: int, workroot: Path, say=print, check=None,
              e2e_timeout: float = 300.0, before: tuple[Path, int] | None = None) -> dict:
    """(a) and (d): ``runs`` interleaved pairs (alone, kerma, alone, kerma, ...), medians and ratios.

    ``expected_ok`` and ``check``: see :func:`one_run`.  ``before`` (``run.py --before``): the source tree of an older
    revision and the ``ok`` records it must write; each round then runs alone, before and kerma (the last two in turn
    first), and ``summary["before"]`` holds the before runs' figures against the same alone runs.
    """
    log_config = workroot / "storescu-log.cfg"
    log_config.write_text(LOG_CONFIG)
    setups = {"alone": (REPO, expected_ok), "kerma": (REPO, expected_ok)}
    if before:
        setups["before"] = before
    results = []
    for i in range(runs):
        # before and after take turns at going first, so that a drifting load hits both
        kinds = ("alone", "kerma") if not before else ("alone", "before", "kerma") if i % 2 == 0 else ("alone", "kerma", "before")
        for kind in kinds:
            tree, ok = setups[kind]
            r = one_run(kind, paths, ok, workroot, log_config, e2e_timeout=e2e_timeout, check=check, tree=tree)
            say(f"  run {i + 1}/{runs} {kind:6s}: {r['rate'] or 0:.0f} inst/s in association "
                f"({_s(r['assoc_s'])}, process {r['wall_s']:.2f} s){_kerma_text(r)}{'' if r['ok'] else '  [INCOMPLETE]'}")
            results.append(r)
    alone = [r for r in results if r["kind"] == "alone"]
    summary = {
        "instances": len(paths),
        "expected_ok": expected_ok,
        "runs_per_setup": runs,
        "alone_rate": median([r["rate"] for r in alone if r["rate"]]),
        "alone_wall_s": median([r["wall_s"] for r in alone]),
        **_kerma_figures(len(paths), alone, [r for r in results if r["kind"] == "kerma"]),
        "runs": results,
    }
    if before:
        summary["before"] = {"expected_ok": before[1],
                             **_kerma_figures(len(paths), alone, [r for r in results if r["kind"] == "before"])}
    return summary


def _kerma_figures(n: int, alone: list[dict], kerma: list[dict]) -> dict:
    """Medians and ratios of one Kerma setup's runs against the alone runs of the same rounds."""
    alone_rate, alone_wall = median([r["rate"] for r in alone if r["rate"]]), median([r["wall_s"] for r in alone])
    figures = {
        "all_runs_complete": all(r["ok"] for r in alone + kerma),
        "kerma_rate": median([r["rate"] for r in kerma if r["rate"]]),
        "kerma_wall_s": median([r["wall_s"] for r in kerma]),
        "kerma_e2e_s": median([r["e2e_s"] for r in kerma if r["e2e_s"] is not None]),
        "kerma_records_s": median([r["records_s"] for r in kerma if r["records_s"] is not None]),
        "kerma_timeouts": sum(1 for r in kerma if r.get("timeout")),
    }
    figures["ratio_cstore"] = figures["kerma_rate"] / alone_rate
    # end to end: Orthanc alone is done when storescu is; Kerma when the last record is written
    figures["ratio_e2e"] = alone_wall / figures["kerma_e2e_s"] if figures["kerma_e2e_s"] else 0.0
    figures["kerma_e2e_rate"] = n / figures["kerma_e2e_s"] if figures["kerma_e2e_s"] else 0.0
    # the same ratio per round, to show the spread
    figures["pair_ratios_cstore"] = [k["rate"] / a["rate"] for a, k in zip(alone, kerma) if a["rate"] and k["rate"]]
    return figures


def latency(files: list[dict], workroot: Path, poll: float = 0.01, timeout: float = 60.0, say=print,
            tree: Path = REPO) -> dict:
    """(b): C-STORE RDSRs one at a time over one association into a Kerma of ``tree``; after each C-STORE response,
    poll GET /kerma/api/studies/<StudyInstanceUID> every ``poll`` s until it answers 200.

    ``files[0]`` is a warm-up (first SQLAlchemy queries, first REST call) reported apart, not counted.
    """
    from pydicom import dcmread
    from pynetdicom import AE, build_context

    workdir = Path(tempfile.mkdtemp(prefix="latency-", dir=workroot))
    orthanc = start_orthanc(workdir, with_kerma=True, tree=tree)
    try:
        session = orthanc.session()
        syntaxes = {}
        for f in files:
            meta = dcmread(f["path"], stop_before_pixels=True, specific_tags=[]).file_meta
            syntaxes.setdefault(str(meta.MediaStorageSOPClassUID), set()).add(str(meta.TransferSyntaxUID))
        contexts = [build_context(cls, ts) for cls, tss in syntaxes.items() for ts in sorted(tss)]
        ae = AE(ae_title=CALLING_AET)
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 600
        assoc = ae.associate("127.0.0.1", orthanc.dicom_port, contexts=contexts, ae_title=orthanc.aet)
        if not assoc.is_established:
            raise RuntimeError("association rejected")
        responses_to_sender(assoc)  # pynetdicom's reactor would sometimes take an answer (tests/support/dimse.py)
        # pynetdicom leaves Nagle on: each C-STORE would wait ~40 ms for a delayed ACK
        assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        samples = []
        try:
            for f in files:
                sent = time.perf_counter()
                status = assoc.send_c_store(str(f["path"]))
                answered = time.perf_counter()
                url = f"{orthanc.url}/kerma/api/studies/{f['study_instance_uid']}"
                polls = 0

                def visible():
                    nonlocal polls
                    polls += 1
                    return session.get(url, timeout=10).status_code == 200
                try:
                    _, seen = wait_for(visible, timeout, poll)
                    value = seen - answered
                except TimeoutError:
                    value = None
                samples.append({"source": f["source"], "status": int(status.Status) if "Status" in status else None,
                                "cstore_s": answered - sent, "latency_s": value, "polls": polls})
        finally:
            assoc.release()
    finally:
        orthanc.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    summary = latency_figures(samples[1:], poll)
    summary["warmup"] = samples[0]
    say(f"  {summary['files']} files: p50 {summary['p50_s'] * 1000:.0f} ms, p99 {summary['p99_s'] * 1000:.0f} ms, "
        f"max {summary['max_s'] * 1000:.0f} ms ({summary['slowest'][0]['source']})")
    return summary


def latency_figures(counted: list[dict], poll: float) -> dict:
    """Percentiles of (b)'s samples (of one run, or of several pooled by ``run.py --before``) and the slowest five."""
    values = [s["latency_s"] for s in counted if s["latency_s"] is not None]
    slowest = sorted((s for s in counted if s["latency_s"] is not None), key=lambda s: -s["latency_s"])[:5]
    return {
        "files": len(counted),
        "timeouts": sum(1 for s in counted if s["latency_s"] is None),
        "bad_status": sum(1 for s in counted if s["status"] != 0),
        "poll_s": poll,
        "p50_s": percentile(values, 50),
        "p90_s": percentile(values, 90),
        "p99_s": percentile(values, 99),
        "max_s": max(values) if values else None,
        "cstore_p50_s": median([s["cstore_s"] for s in counted]),
        "slowest": slowest,
        "samples": counted,
    }


def study_check(study_uid: str, slices: int):
    """(d): a ``check`` for :func:`one_run`: GET /kerma/api/studies/<uid> must show exactly one event
    with ``slice_count`` == ``slices`` (the series folded into one acquisition)."""
    def check(session, url) -> dict:
        started = time.perf_counter()
        response = session.get(f"{url}/kerma/api/studies/{study_uid}", timeout=120)
        elapsed = time.perf_counter() - started
        out = {"study_get_s": elapsed, "study_http_status": response.status_code, "study_response_bytes": len(response.content)}
        if response.status_code != 200:
            out.update(check_ok=False, check_text=f"study GET answered {response.status_code}")
            return out
        view = response.json()
        events = view.get("events") or []
        counts = [e.get("slice_count") for e in events]
        out.update({
            "study_events": len(events),
            "study_slice_counts": counts,
            "study_source": view.get("source"),
            "study_dose_object_count": view.get("dose_object_count"),
            "study_event": {k: events[0].get(k) for k in (
                "ctdivol_mGy", "ctdivol_min_mGy", "ctdivol_max_mGy", "scan_length_mm", "dlp_mGycm", "dlp_estimated",
                "copies", "z_start_mm", "z_end_mm")} if events else None,
            "check_ok": len(events) == 1 and counts[0] == slices,
        })
        out["check_text"] = (f"study: {len(events)} event(s), slice_count {counts[0] if len(counts) == 1 else counts}, "
                             f"GET {elapsed * 1000:.0f} ms")
        return out
    return check
