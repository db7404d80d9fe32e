"""(h) HL7 load: 10,000 ADT/ORM messages over MLLP while RDSRs and CT images are stored; messages/s and the
C-STORE ratio to Orthanc alone (the core's ingestion target, 0.8), plus hl7apy's parse time per message."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from pathlib import Path

from common import AUTH, median
from support.orthanc import OrthancProcess, free_port, wait_for_port

from ingest import LOG_CONFIG, storescu


def messages(count: int) -> list[bytes]:
    """A hospital's mix: demographics updates, new orders, order completions, and a merge now and then."""
    from hl7_factory import adt_merge, adt_update, orm

    out = []
    for i in range(count):
        patient = f"BENCH-{i % 500:04d}"
        kind = i % 10
        if kind < 4:
            out.append(adt_update(patient, f"PATIENT^NUMBER{i % 500}", "19700101", "MF"[i % 2]))
        elif kind < 7:
            out.append(orm(f"B{i:06d}", patient, accession=f"BACC{i:06d}", reason="Bench"))
        elif kind < 9:
            out.append(orm(f"B{i - 3:06d}", patient, control="SC", order_status="CM"))
        else:
            out.append(adt_merge(patient, f"BENCH-OLD-{i:06d}", f"PATIENT^NUMBER{i % 500}"))
    return out


def parse_time(sample: list[bytes]) -> float:
    """Median seconds hl7apy needs per message of the mix, in this process (what holds the GIL in Orthanc's)."""
    from kerma.hl7.messages import read_message

    times = []
    for raw in sample:
        started = time.perf_counter()
        read_message(raw)
        times.append(time.perf_counter() - started)
    return median(times)


def parse_bounds() -> dict:
    """Seconds to read (best of 3, in this process): a PID-3 of 10 and of 100 repetitions (the same time per
    repetition when reading is linear), the largest messages the bounds let through (most segments read, most
    elements), and the refusal of a PID-3 of 5,000 repetitions."""
    from hl7_factory import message, pid
    from kerma.hl7.messages import MAX_ELEMENTS, MAX_REPETITIONS, MAX_SEGMENTS, Hl7Error, read_message

    def identifiers(count: int) -> str:
        return "~".join(f"ID{i}^^^HOSP&1.2.3&ISO^MR" for i in range(count))  # 6 elements each, plus the repetition

    def best(raw: bytes) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            try:
                read_message(raw)
            except Hl7Error:
                pass
            times.append(time.perf_counter() - started)
        return min(times)

    names = "~".join(["FAMILY^GIVEN^MIDDLE^JR^DR^^L"] * ((MAX_ELEMENTS - 2 * 7 * MAX_REPETITIONS) // 7))
    return {
        "pid3_10_s": best(message("EVN|A08", f"PID|1||{identifiers(10)}||A^B")),
        "pid3_100_s": best(message("EVN|A08", f"PID|1||{identifiers(MAX_REPETITIONS)}||A^B")),
        "pid3_5000_refused_s": best(message("EVN|A08", f"PID|1||{identifiers(5000)}||A^B")),
        "most_segments_s": best(message("EVN|A08", pid("P1", "A^B"), *["OBX|1|NM|8302-2^Body height^LN||180|cm|||||F"]
                                        * (MAX_SEGMENTS - 1))),
        "most_elements_s": best(message("EVN|A08", f"PID|1|{identifiers(MAX_REPETITIONS)}|{identifiers(MAX_REPETITIONS)}"
                                                   f"||{names}")),
    }


def send_all(port: int, batch: list[bytes], result: dict) -> None:
    from kerma.hl7.mllp import send

    started = time.perf_counter()
    answers = send("127.0.0.1", port, batch, timeout=120)
    result["seconds"] = time.perf_counter() - started
    result["acked"] = sum(1 for a in answers if b"MSA|AA|" in a)


def one_run(kind: str, paths: list[Path], batch: list[bytes], workroot: Path, log_config: Path) -> dict:
    """A fresh Orthanc (alone, or + Kerma receiving ``batch`` over MLLP meanwhile), one storescu of ``paths``."""
    workdir = Path(tempfile.mkdtemp(prefix=f"h-{kind}-", dir=workroot))
    hl7_port = free_port()
    extra = {"Plugins": []} if kind == "alone" else {"Kerma.Hl7Port": hl7_port}
    orthanc = OrthancProcess(workdir, free_port(), free_port(), f"sqlite:///{workdir}/kerma.sqlite", auth=AUTH,
                             extra_config=extra).start()
    try:
        hl7 = {}
        sender = None
        if kind == "kerma":
            wait_for_port(hl7_port)  # the listener runs in a process of its own, up a moment after Orthanc
            sender = threading.Thread(target=send_all, args=(hl7_port, batch, hl7))
            sender.start()
            time.sleep(1.0)  # the HL7 load is running before the first C-STORE
        stored = storescu(paths, orthanc.dicom_port, log_config)
        result = {"kind": kind, "rate": len(paths) / stored["assoc_s"] if stored["assoc_s"] else None,
                  "failed": stored["failed"]}
        if sender is not None:
            sender.join()
            result.update(hl7_messages=len(batch), hl7_acked=hl7.get("acked"), hl7_seconds=hl7.get("seconds"),
                          hl7_rate=len(batch) / hl7["seconds"] if hl7.get("seconds") else None)
        return result
    finally:
        orthanc.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def run(paths: list[Path], count: int, runs: int, workroot: Path, say=print) -> dict:
    """(h): ``runs`` interleaved pairs (Orthanc alone, Orthanc + Kerma under HL7 load)."""
    log_config = workroot / "storescu-log.cfg"
    log_config.write_text(LOG_CONFIG)
    batch = messages(count)
    results = []
    for i in range(runs):
        for kind in ("alone", "kerma"):
            r = one_run(kind, paths, batch, workroot, log_config)
            extra = (f", HL7 {r['hl7_acked']}/{r['hl7_messages']} AA at {r['hl7_rate']:.0f} msg/s"
                     if kind == "kerma" else "")
            say(f"  run {i + 1}/{runs} {kind:5s}: {r['rate']:.0f} inst/s in association{extra}")
            results.append(r)
    alone = [r for r in results if r["kind"] == "alone"]
    kerma = [r for r in results if r["kind"] == "kerma"]
    summary = {"instances": len(paths), "messages": count, "runs_per_setup": runs,
               "alone_rate": median([r["rate"] for r in alone]), "kerma_rate": median([r["rate"] for r in kerma]),
               "hl7_rate": median([r["hl7_rate"] for r in kerma]),
               "all_acked": all(r["hl7_acked"] == count for r in kerma),
               "parse_median_s": parse_time(batch[:200]), "parse_bounds": parse_bounds(), "runs": results}
    summary["ratio_cstore"] = summary["kerma_rate"] / summary["alone_rate"]
    return summary


def show(h: dict) -> None:
    print(f"\n(h) HL7 load: {h['messages']} ADT/ORM messages over one MLLP connection while {h['instances']} instances "
          f"are stored (one association), median of {h['runs_per_setup']} interleaved run(s)")
    print(f"    HL7: {h['hl7_rate']:.0f} messages/s, {'all' if h['all_acked'] else 'NOT all'} acknowledged AA; "
          f"hl7apy parse {h['parse_median_s'] * 1000:.1f} ms per message (median, in-process)")
    b = h["parse_bounds"]
    print(f"    read in-process: PID-3 x10 {b['pid3_10_s'] * 1000:.0f} ms, x100 {b['pid3_100_s'] * 1000:.0f} ms "
          f"({b['pid3_10_s'] * 100:.2f} vs {b['pid3_100_s'] * 10:.2f} ms per repetition); largest accepted "
          f"{max(b['most_segments_s'], b['most_elements_s']) * 1000:.0f} ms; x5,000 refused in "
          f"{b['pid3_5000_refused_s'] * 1000:.0f} ms")
    print(f"    C-STORE: Orthanc alone {h['alone_rate']:.0f} inst/s, Orthanc + Kerma under HL7 load "
          f"{h['kerma_rate']:.0f} inst/s, ratio {h['ratio_cstore']:.2f}")
