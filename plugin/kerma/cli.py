"""``kerma``: command-line tools over the same library the plugin uses.

``kerma extract FILE... --json`` prints one record per file.
``kerma db upgrade --url URL`` brings a dose database to the current schema.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .extract import extract


def _extract(args: argparse.Namespace) -> int:
    records = []
    for name in args.files:
        path = Path(name)
        try:
            data = path.read_bytes()
        except OSError as exc:
            record = {"status": "error", "reason": f"cannot read file: {exc.strerror}", "source": None}
        else:
            record = extract(data)
        records.append({"file": str(path), **record})
    if args.json:
        json.dump(records, sys.stdout, indent=1 if args.pretty else None)
        sys.stdout.write("\n")
    else:
        for r in records:
            print(f"{r['status']:8} {r.get('modality') or '-':3} {len(r.get('events') or []):4} events  {r['file']}"
                  + (f"  ({r['reason']})" if r.get("reason") else ""))
    return 1 if any(r["status"] == "error" for r in records) and args.strict else 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from .db.schema import upgrade

    upgrade(args.url)
    print(f"database at current schema: {args.url.split('@')[-1]}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kerma", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("extract", help="extract dose records from DICOM files")
    p.add_argument("files", nargs="+")
    p.add_argument("--json", action="store_true", help="print a JSON array, one object per file")
    p.add_argument("--pretty", action="store_true", help="indent the JSON")
    p.add_argument("--strict", action="store_true", help="exit 1 when a file is an error")
    p.set_defaults(func=_extract)
    d = sub.add_parser("db", help="dose database administration")
    dsub = d.add_subparsers(dest="db_command", required=True)
    u = dsub.add_parser("upgrade", help="create or migrate the schema (Alembic)")
    u.add_argument("--url", required=True, help="SQLAlchemy URL, e.g. sqlite:///var/kerma.sqlite")
    u.set_defaults(func=_db_upgrade)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
