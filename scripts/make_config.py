#!/usr/bin/env python3
"""Write a runtime Orthanc configuration folder for Kerma from the templates in orthanc-config/.

Used by scripts/start.sh and tests/support/orthanc.py. Standard library only.

Every template (orthanc-config/*.json, JSON with // and /* */ comments as Orthanc
allows) is read, the machine-dependent values are replaced, and the result is
written as plain JSON into OUT_DIR under the same file name. Orthanc merges every
*.json of its configuration folder and a top-level key defined twice is fatal, so
this script refuses to write into a folder holding other *.json files.

    make_config.py OUT_DIR --http-port 8042 --dicom-port 4242 \
        --storage-dir var/orthanc [--database-url URL] \
        [--python-script plugin/entry.py] [--user kerma:kerma] [--modality CT1@10.1.2.3:104] [--set StableAge=1]

DICOM: the templates accept associations only from the declared modalities (by AE title and
IP address) calling Orthanc's own AE title; --modality AET@HOST[:PORT] declares one (repeatable).
"""
import argparse
import json
import os
import re
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEMPLATES = os.path.join(REPO, "orthanc-config")


def strip_comments(text):
    """Remove // and /* */ comments outside JSON strings."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                raise ValueError("unterminated /* comment")
            out.append(" ")
            i = j + 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def load_template(path):
    with open(path, encoding="utf-8") as f:
        return json.loads(strip_comments(f.read()))


def put(files, owner, dotted_key, value):
    """Set files[...]["A"]["B"] = value for dotted_key "A.B", in the file that owns key "A"."""
    keys = dotted_key.split(".")
    default = "kerma.json" if "kerma.json" in files else sorted(files)[0]  # new keys go with Kerma's
    node = files[owner.setdefault(keys[0], default)]
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value


def modality(text):
    """``AET@HOST[:PORT]`` -> ``(AET, HOST, PORT)`` (port 104 when not given): an entry of ``DicomModalities``."""
    aet, at, address = text.partition("@")
    host, colon, port = address.rpartition(":") if ":" in address else (address, "", "104")
    if not (at and aet and host and port.isdigit()) or len(aet) > 16 or "\\" in aet:
        raise argparse.ArgumentTypeError(f"a modality is AET@HOST or AET@HOST:PORT (AE title <= 16 characters), not {text!r}")
    return aet, host, int(port)


def build(args):
    """Return {file name: config dict} for every template, with overrides applied."""
    names = sorted(n for n in os.listdir(args.templates) if n.endswith(".json"))
    files = {name: load_template(os.path.join(args.templates, name)) for name in names}

    owner = {}  # top-level key -> file that defines it
    for name, config in files.items():
        for key in config:
            if key in owner:
                raise SystemExit(f"make_config: key {key!r} is in both {owner[key]} and {name}")
            owner[key] = name

    storage = os.path.abspath(args.storage_dir)
    users = dict(u.split(":", 1) for u in args.user) if args.user else {"kerma": "kerma"}
    overrides = {
        "HttpPort": args.http_port,
        "DicomPort": args.dicom_port,
        "StorageDirectory": os.path.join(storage, "storage"),
        "IndexDirectory": os.path.join(storage, "index"),
        "RegisteredUsers": users,
        "PythonScript": os.path.abspath(args.python_script),
        "ServeFolders": {"/kerma/ui": os.path.join(REPO, "webui")},
        "Kerma.Roles": {next(iter(users)): ["admin"]},  # the install's own user; --set Kerma.Roles=... replaces it
    }
    if args.database_url:  # else Kerma's default: kerma.sqlite in the IndexDirectory
        overrides["Kerma.DatabaseUrl"] = args.database_url
    if args.aet:
        overrides["DicomAet"] = args.aet
    if args.modality:  # modalities declared here replace the template's
        # Orthanc allows letters, digits, "-" and "_" in a modality's name
        overrides["DicomModalities"] = {re.sub(r"[^A-Za-z0-9_-]", "_", f"{aet}_{host}").lower(): [aet, host, port]
                                        for aet, host, port in args.modality}
    for dotted, value in overrides.items():
        put(files, owner, dotted, value)
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"make_config: --set wants KEY=VALUE, got {item!r}")
        try:
            value = json.loads(value)
        except ValueError:
            pass  # a plain string
        put(files, owner, key, value)
    return files


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out_dir", help="configuration folder to write (created if missing)")
    p.add_argument("--http-port", type=int, default=8042)
    p.add_argument("--dicom-port", type=int, default=4242)
    p.add_argument("--storage-dir", default=os.path.join(REPO, "var", "orthanc"),
                   help="Orthanc's storage and index go in STORAGE_DIR/storage and STORAGE_DIR/index")
    p.add_argument("--database-url", help="Kerma.DatabaseUrl (SQLAlchemy URL; default: kerma.sqlite in the index folder)")
    p.add_argument("--python-script", default=os.path.join(REPO, "plugin", "entry.py"))
    p.add_argument("--user", action="append", default=[], metavar="NAME:PASSWORD",
                   help="registered HTTP user (repeatable; default kerma:kerma)")
    p.add_argument("--aet", help="DICOM AE title (default: the template's)")
    p.add_argument("--modality", action="append", default=[], type=modality, metavar="AET@HOST[:PORT]",
                   help="a modality allowed to store (repeatable): calling AE title and IP address")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="extra setting, dotted keys for sections (Kerma.Foo=1); VALUE is JSON or a string")
    p.add_argument("--templates", default=TEMPLATES, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    files = build(args)

    os.makedirs(args.out_dir, exist_ok=True)
    foreign = sorted(n for n in os.listdir(args.out_dir) if n.endswith(".json") and n not in files)
    if foreign:
        raise SystemExit(f"make_config: {args.out_dir} holds other *.json files ({', '.join(foreign)}); "
                         "Orthanc would merge them: use an empty folder")
    for name, config in files.items():
        path = os.path.join(args.out_dir, name)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(config, f, indent=2)
            f.write("\n")
        os.replace(path + ".tmp", path)
    os.makedirs(os.path.join(os.path.abspath(args.storage_dir), "storage"), exist_ok=True)
    os.makedirs(os.path.join(os.path.abspath(args.storage_dir), "index"), exist_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
