"""``kerma``: command-line tools over the same library the plugin uses.

``kerma extract FILE... --json`` prints a JSON array, one record per file.
``kerma db upgrade --url URL`` brings a dose database to the current schema.
``kerma exams import-playbook FILE --url URL`` loads the RSNA RadLex Playbook CSV into the catalogue.
``kerma drl load FILE --url URL [--reference-format]`` loads a DRL table (unverified rows stay disabled).
``kerma skin-dose FILE --phantom plane|cylinder|elliptic [--pyskindose-defaults] --json`` estimates the peak skin dose.
``kerma ssde FILE... --json`` gives the size-specific dose estimate of each CT acquisition in the files.
``kerma key rotate --file FILE`` replaces the pseudonymisation key (the old one is kept beside it).
``kerma patient-dose-sr FILE... --out PATH`` writes a study's estimates as a Patient Radiation Dose SR (TID 10030).
``kerma deidentify FILE --out PATH --key-file FILE`` de-identifies a dose report for a registry (PS3.15 Basic Profile).
``kerma header-rdsr FILE... --out PATH`` builds an X-Ray Radiation Dose SR from a study's image headers.
``kerma acceptance DEVICE --url URL [--json] [--pdf PATH]`` gives a device's acceptance report (fields, units, gaps).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .extract import extract
from .record import DoseRecord


def _extract(args: argparse.Namespace) -> int:
    records = []
    for name in args.files:
        path = Path(name)
        try:
            data = path.read_bytes()
        except OSError as exc:
            record = DoseRecord("error", f"cannot read file: {exc.strerror}")
        else:
            record = extract(data)
        records.append({"file": str(path), **record.as_dict(), **(_effective_dose_fields(record) if record.ok else {})})
    if args.json:
        json.dump(records, sys.stdout, indent=1 if args.pretty else None)
        sys.stdout.write("\n")
    else:
        for r in records:
            print(f"{r['status']:8} {r.get('modality') or '-':3} {len(r.get('events') or []):4} events  {r['file']}"
                  + (f"  ({r['reason']})" if r.get("reason") else ""))
    return 1 if any(r["status"] == "error" for r in records) and args.strict else 0


def _effective_dose_fields(record: DoseRecord) -> dict:
    """The study's effective dose estimate from the file alone (CT: target regions; NM: radiopharmaceutical)."""
    from .dosimetry.effective import effective_dose

    return effective_dose(record).record_fields()


def _db_upgrade(args: argparse.Namespace) -> int:
    from .db.schema import upgrade

    upgrade(args.url)
    print(f"database at current schema: {args.url.split('@')[-1]}")
    return 0


def _session(url: str):
    from .db.engine import make_engine, make_sessionmaker
    from .db.schema import upgrade

    upgrade(url)
    return make_sessionmaker(make_engine(url))()


def _import_playbook(args: argparse.Namespace) -> int:
    from .classify.apply import remap_history
    from .classify.catalogue import import_playbook

    with _session(args.url) as session, session.begin():
        count = import_playbook(session, Path(args.file).read_text(encoding="utf-8-sig"))
        remap_history(session)
    print(f"{count} RadLex Playbook entries loaded")
    return 0


def _load_drl(args: argparse.Namespace) -> int:
    from .db.states import mark_months_stale
    from .drl.sets import load_reference_table, load_table

    with _session(args.url) as session, session.begin():
        loader = load_reference_table if args.reference_format else load_table
        count = loader(session, Path(args.file), args.kind)
        if count:
            mark_months_stale(session)  # the DRL each month's values fall under may have changed
    print(f"{count} DRL values loaded (sets already present were left as they are)")
    return 0


def _skin_dose(args: argparse.Namespace) -> int:
    import tempfile

    from .dosimetry.skin import render_png, skin_dose

    path = Path(args.file)
    try:
        record = extract(path.read_bytes())
    except OSError as exc:
        record = DoseRecord("error", f"cannot read file: {exc.strerror}")
    if not record.ok or record.report_kind != "projection":
        answer = {"file": str(path), "status": "error",
                  "reason": record.reason or "not a projection dose report (fluoroscopy, angiography)"}
        print(json.dumps(answer) if args.json else f"error: {answer['reason']}")
        return 1
    result = skin_dose(record, args.phantom, pyskindose_defaults=args.pyskindose_defaults)
    png = Path(args.png) if args.png else Path(tempfile.gettempdir()) / "kerma-skin-dose" / f"{path.stem}-{args.phantom}.png"
    answer = {"file": str(path), "status": "ok", **result.to_dict(), "map_png": str(render_png(result, png))}
    if args.json:
        json.dump(answer, sys.stdout, allow_nan=False, indent=1 if args.pretty else None)
        sys.stdout.write("\n")
    else:
        psd = "not estimated" if answer["psd_mGy"] is None else f"{answer['psd_mGy']:.4g} mGy"
        rel = answer["uncertainty"]["relative"]
        print(f"PSD {psd}" + (f" (±{rel * 100:.0f} %)" if rel is not None else "")
              + f", Σ Ka,r {answer['kar_total_mGy']} mGy, {answer['events_used']} events used; map {answer['map_png']}")
        print(f"method: {answer['method']}")
        for reason in answer["uncertainty"]["reasons"]:
            print(f"  - {reason}")
    return 0


def _rotate_key(args: argparse.Namespace) -> int:
    from . import clock
    from .privacy.key import rotate

    retired = rotate(Path(args.file), clock.now())
    print(f"new pseudonymisation key in {args.file}; the old one is in {retired} (delete it to make earlier "
          "exports unlinkable to new ones)")
    return 0


def _ssde(args: argparse.Namespace) -> int:
    from .dosimetry.ssde import ssde_of_files

    answers = ssde_of_files(args.files, spacing_mm=None if args.all_slices else args.spacing_mm,
                            allow_unverified=args.unverified)
    if args.json:
        json.dump(answers, sys.stdout, allow_nan=False, indent=1 if args.pretty else None)
        sys.stdout.write("\n")
        return 0
    for a in answers:
        if a["status"] != "ok":
            print(f"{a['status']:8} {a['file']}  ({a['reason']})")
            continue
        size = f"Dw {a['dw_cm']} cm" if a["dw_cm"] is not None else f"Deff {a['deff_cm']} cm" if a["deff_cm"] else "-"
        ssde = "-" if a["ssde_mGy"] is None else f"{a['ssde_mGy']:.3g} mGy"
        print(f"{a['method']:28} {size:16} f {a['f'] or '-':<7} CTDIvol {a['ctdivol_mGy'] or '-':<8} SSDE {ssde:10} "
              f"{a['series_instance_uid'] or a['file']}")
        for reason in a["reasons"]:
            print(f"  - {reason}")
    return 0


def _write_dicom(build, out: str, refused: tuple, describe) -> int:
    """Write the object ``build()`` makes to ``out`` and say what it is; exit 1 with the reason when refused."""
    try:
        document = build()
    except (OSError, *refused) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    document.save_as(out, enforce_file_format=True)
    print(f"{out}: {describe(document)}")
    return 0


def _patient_dose_sr(args: argparse.Namespace) -> int:
    import socket

    from pydicom.uid import generate_uid

    from . import clock
    from .output.patient_dose import NothingToReport, files_sr

    observer = args.observer_uid or generate_uid(entropy_srcs=["kerma", socket.getfqdn()])
    return _write_dicom(
        lambda: files_sr(args.files, observer_uid=observer, when=clock.now(), allow_unverified=args.unverified),
        args.out, (NothingToReport,),
        lambda d: f"Patient Radiation Dose SR {d.SOPInstanceUID} of study {d.StudyInstanceUID}")


def _deidentify(args: argparse.Namespace) -> int:
    import pydicom

    from . import clock
    from .output.deidentify import Leak, Policy, deidentify
    from .privacy.key import read_or_create

    policy = Policy(read_or_create(Path(args.key_file)), patient=args.patient, dates=args.dates,
                    descriptions=args.descriptions, purpose=args.purpose)
    return _write_dicom(lambda: deidentify(pydicom.dcmread(args.file), policy, clock.now()), args.out,
                        (pydicom.errors.InvalidDicomError, Leak), lambda d: ", ".join(d.DeidentificationMethod))


def _header_rdsr(args: argparse.Namespace) -> int:
    import pydicom

    from . import clock
    from .output.header_report import NotConvertible, header_dose_report

    def build():
        records = [extract(Path(f).read_bytes()) for f in args.files]
        evidence = [pydicom.dcmread(f, stop_before_pixels=True, force=True) for f, r in zip(args.files, records)
                    if r.ok]
        return header_dose_report(records, evidence, when=clock.now())

    return _write_dicom(build, args.out, (NotConvertible,),
                        lambda d: f"X-Ray Radiation Dose SR {d.SOPInstanceUID} of study {d.StudyInstanceUID}")


def _acceptance(args: argparse.Namespace) -> int:
    import datetime as dt

    from sqlalchemy import or_, select

    from .acceptance.report import device_report
    from .db.models import Device
    from .reconcile.lists import Window

    window = Window(*(dt.date.fromisoformat(d) if d else None for d in (args.date_from, args.date_to)))
    with _session(args.url) as session:
        term = args.device
        found = session.scalars(select(Device.id).where(or_(
            Device.id == (int(term) if term.isdigit() else -1), Device.station_name == term, Device.model == term,
            Device.serial_number == term, Device.device_observer_uid == term))).all()
        if len(found) != 1:
            print(f"{term!r} names {'no' if not found else len(found)} devices: give the device's id "
                  f"(GET /kerma/api/acceptance/devices), station name, model or serial number", file=sys.stderr)
            return 1
        report = device_report(session, found[0], window)
    if args.pdf:
        from .reports.acceptance import acceptance_pdf

        Path(args.pdf).write_bytes(acceptance_pdf(report))
    if args.json:
        print(json.dumps(report, indent=2 if args.pretty else None, ensure_ascii=False))
    else:
        d = report["device"]
        print(f"{d['manufacturer']} {d['model']} ({d['station_name'] or 'no station name'}): {report['studies']} studies")
        for gap in report["gaps"] or ["no gap found"]:
            print(f"  {gap}")
    return 0


def parser() -> argparse.ArgumentParser:
    """The ``kerma`` command line (the README's *Command line* section is tested against it)."""
    top = argparse.ArgumentParser(prog="kerma", description=__doc__.splitlines()[0])
    sub = top.add_subparsers(dest="command", required=True)
    p = sub.add_parser("extract", help="extract dose records from DICOM files")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="print a JSON array, one object per file (else one line per file)")
    p.add_argument("--pretty", action="store_true", help="indent the JSON")
    p.add_argument("--strict", action="store_true", help="exit 1 when a file is an error")
    p.set_defaults(func=_extract)
    d = sub.add_parser("db", help="dose database administration")
    dsub = d.add_subparsers(dest="db_command", required=True)
    u = dsub.add_parser("upgrade", help="create or migrate the schema (Alembic)")
    u.add_argument("--url", required=True, help="SQLAlchemy URL of the dose database")
    u.set_defaults(func=_db_upgrade)
    e = sub.add_parser("exams", help="standard exam catalogue")
    esub = e.add_subparsers(dest="exams_command", required=True)
    ip = esub.add_parser("import-playbook", help="load the RSNA RadLex Playbook CSV (the official release)")
    ip.add_argument("file", metavar="FILE")
    ip.add_argument("--url", required=True, help="SQLAlchemy URL of the dose database")
    ip.set_defaults(func=_import_playbook)
    r = sub.add_parser("drl", help="diagnostic reference levels")
    rsub = r.add_subparsers(dest="drl_command", required=True)
    lp = rsub.add_parser("load", help="load a DRL table")
    lp.add_argument("file", metavar="FILE")
    lp.add_argument("--url", required=True, help="SQLAlchemy URL of the dose database")
    lp.add_argument("--kind", default="national", choices=("national", "local", "achievable"), help="the kind of set: national (default), local or achievable")
    lp.add_argument("--reference-format", action="store_true",
                    help="the project's reference-table columns (quantity_code, value_normalised, verification...)")
    lp.set_defaults(func=_load_drl)
    k = sub.add_parser("skin-dose", help="peak skin dose and skin dose map of a fluoroscopy / angiography RDSR")
    k.add_argument("file", metavar="FILE")
    k.add_argument("--phantom", default="elliptic", choices=("plane", "cylinder", "elliptic"),
                   help="plane (the patient's back), cylinder (a fixed elliptic cylinder) or elliptic (sized to the patient; the default)")
    k.add_argument("--pyskindose-defaults", action="store_true",
                   help="PySkinDose's example geometry (patient, table, pad, table transmission), not sized to the patient")
    k.add_argument("--png", metavar="PATH", help="where to write the map (default: the system's temp folder)")
    k.add_argument("--json", action="store_true", help="print the result as one JSON object")
    k.add_argument("--pretty", action="store_true", help="indent the JSON")
    k.set_defaults(func=_skin_dose)
    s = sub.add_parser("ssde", help="size-specific dose estimate (AAPM 204/220/293) per CT acquisition")
    s.add_argument("files", nargs="+", metavar="FILE", help="CT images (axial series, localizers) and CT dose reports")
    s.add_argument("--spacing-mm", type=float, default=10.0, metavar="MM",
                   help="measure slices at least MM apart along z (default 10)")
    s.add_argument("--all-slices", action="store_true", help="measure every slice")
    s.add_argument("--unverified", action="store_true",
                   help="also use coefficients only transcribed by a third party (AAPM 293 head fit, AAPM 204 "
                        "age and one-dimension tables); the answer says so")
    s.add_argument("--json", action="store_true", help="print a JSON array, one object per acquisition")
    s.add_argument("--pretty", action="store_true", help="indent the JSON")
    s.set_defaults(func=_ssde)
    kp = sub.add_parser("key", help="the pseudonymisation key of exports")
    ksub = kp.add_subparsers(dest="key_command", required=True)
    rk = ksub.add_parser("rotate", help="replace the pseudonymisation key with a new one (the old one is kept beside it)")
    rk.add_argument("--file", required=True, metavar="FILE", help="the key file (Kerma.PseudonymisationKeyFile)")
    rk.set_defaults(func=_rotate_key)
    pd = sub.add_parser("patient-dose-sr", help="write a study's SSDE, effective dose and peak skin dose as a "
                                                "Patient Radiation Dose SR (TID 10030)")
    pd.add_argument("files", nargs="+", metavar="FILE", help="the study's dose report and CT images")
    pd.add_argument("--out", required=True, metavar="PATH", help="where to write the SR (a DICOM file)")
    pd.add_argument("--observer-uid", metavar="UID",
                    help="the Device Observer UID naming this Kerma (default: derived from the host name)")
    pd.add_argument("--unverified", action="store_true",
                    help="SSDE: also use coefficients only transcribed by a third party (as kerma ssde --unverified)")
    pd.set_defaults(func=_patient_dose_sr)
    di = sub.add_parser("deidentify", help="de-identify a dose report for a dose registry (PS3.15 Basic Profile, "
                                           "device identity and patient characteristics retained)")
    di.add_argument("file", metavar="FILE")
    di.add_argument("--out", required=True, metavar="PATH", help="where to write the de-identified report")
    di.add_argument("--key-file", required=True, metavar="FILE",
                    help="the key of pseudonyms, UID hashes and date shifts (Kerma.PseudonymisationKeyFile)")
    di.add_argument("--patient", default="pseudonym", choices=("pseudonym", "remove"),
                    help="the patient's name and ID: a keyed pseudonym (default) or empty")
    di.add_argument("--dates", default="keep", choices=("keep", "shift"),
                    help="dates kept (default) or moved back by 1-365 days, one keyed shift per patient")
    di.add_argument("--descriptions", default="keep", choices=("keep", "remove"),
                    help="study, series and procedure descriptions kept (default) or emptied (Clean Descriptors)")
    di.add_argument("--purpose", default="registry",
                    help="the recipient's name: another purpose gives other pseudonyms, UIDs and shifts")
    di.set_defaults(func=_deidentify)
    hr = sub.add_parser("header-rdsr", help="build an X-Ray Radiation Dose SR from the dose in a study's image "
                                            "headers (for a registry)")
    hr.add_argument("files", nargs="+", metavar="FILE", help="the study's images")
    hr.add_argument("--out", required=True, metavar="PATH", help="where to write the report (a DICOM file)")
    hr.set_defaults(func=_header_rdsr)
    ac = sub.add_parser("acceptance", help="a device's acceptance report: which fields it fills, units, sources, "
                                           "event counts, mapping and orders, gaps, studies to check by hand")
    ac.add_argument("device", metavar="DEVICE", help="the device's id, station name, model or serial number")
    ac.add_argument("--url", required=True, help="SQLAlchemy URL of the dose database")
    ac.add_argument("--json", action="store_true", help="print the report as one JSON object")
    ac.add_argument("--pretty", action="store_true", help="indent the JSON")
    ac.add_argument("--pdf", metavar="PATH", help="also write the report as a PDF")
    ac.add_argument("--date-from", metavar="YYYY-MM-DD", help="only studies from this date")
    ac.add_argument("--date-to", metavar="YYYY-MM-DD", help="only studies up to this date")
    ac.set_defaults(func=_acceptance)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)

if __name__ == "__main__":
    sys.exit(main())
