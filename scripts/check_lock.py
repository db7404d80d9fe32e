#!/usr/bin/env python3
"""Check that a lock file pins every package its loose list names (standard library only).

    check_lock.py requirements.lock        # source: requirements.txt
    check_lock.py requirements-dev.lock    # source: requirements-dev.txt (and the lists it includes with -r)

Exit 1 with the missing names when the list gained a package that scripts/lock.sh has not locked yet.
scripts/setup.sh runs it before installing a lock; tests/test_install.py checks versions too.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOCKS = {"requirements.lock": "requirements.txt", "requirements-dev.lock": "requirements-dev.txt"}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def normalise(name: str) -> str:
    """The PEP 503 form of a distribution name (``Foo_Bar`` and ``foo-bar`` are one package)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_lines(path: Path) -> list[str]:
    """The requirement lines of a pip requirements file, following ``-r`` includes (not ``-c``)."""
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement ")):
            lines += requirement_lines(path.parent / line.split(None, 1)[1])
        elif not line.startswith("-"):
            lines.append(line)
    return lines


def name_of(line: str) -> str:
    return normalise(_NAME.match(line).group(0))


def pins(lock: Path) -> dict[str, str]:
    """``{normalised name: version}`` of the ``name==version`` lines of a lock file."""
    found = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^ \\;]+)", line)
        if match:
            found[normalise(match.group(1))] = match.group(2)
    return found


def missing(lock_name: str) -> list[str]:
    """Names the source list of ``lock_name`` requires and the lock does not pin."""
    pinned = pins(REPO / lock_name)
    return sorted({name_of(line) for line in requirement_lines(REPO / LOCKS[lock_name])} - set(pinned))


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in LOCKS:
        print(f"usage: check_lock.py {{{','.join(LOCKS)}}}", file=sys.stderr)
        return 2
    absent = missing(argv[0])
    if absent:
        print(f"{LOCKS[argv[0]]} names {', '.join(absent)}, which {argv[0]} does not pin: run scripts/lock.sh",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
