"""kerma.extract.extract timed warm on one file (bench (c)), here or in a child process that imports another source tree.

    python bench/extractor.py PLUGIN_DIR     # a child: JSON lines in on stdin, JSON lines out

The child puts PLUGIN_DIR first on ``sys.path`` (in place of bench/, whose module names could shadow others) and
imports ``kerma`` from there: the venv's editable install of this checkout is a meta-path finder consulted after
``sys.path``, so an older revision's plugin (``run.py --before``) wins. It answers ``{"path": P, "repeats": N}`` with
``{"seconds": S}`` and ``{"path": P}`` with ``{"status": S}``. Nothing here imports the other bench modules: they put
this checkout's plugin on ``sys.path``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


def extract_seconds(data: bytes, repeats: int) -> float:
    """Median time of ``extract(data)`` over ``repeats`` runs after one warm-up (imports, concept tables, caches)."""
    from kerma.extract import extract

    extract(data)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        extract(data)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def extract_status(data: bytes) -> str:
    from kerma.extract import extract

    record = extract(data)
    # the record is a dict before issue 11's typed records and may be an object after: the bench compares both
    return record["status"] if isinstance(record, dict) else record.status


class Extractor:
    """A child process serving one source tree's extractor (close it, or use it in a ``with``)."""

    def __init__(self, plugin_dir: Path):
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        self.process = subprocess.Popen([sys.executable, __file__, str(plugin_dir)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, env=env)
        self.module = self._answer()["kerma"]  # the kerma/__init__.py it imported, to show which tree it runs

    def _answer(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the extractor child exited ({self.process.wait()})")
        return json.loads(line)

    def _ask(self, **question) -> dict:
        self.process.stdin.write(json.dumps(question) + "\n")
        self.process.stdin.flush()
        return self._answer()

    def seconds(self, path: Path, repeats: int) -> float:
        return self._ask(path=str(path), repeats=repeats)["seconds"]

    def status(self, path: Path) -> str:
        return self._ask(path=str(path))["status"]

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _serve(plugin_dir: str) -> None:
    sys.path[0] = plugin_dir
    import kerma

    print(json.dumps({"kerma": kerma.__file__}), flush=True)
    for line in sys.stdin:
        question = json.loads(line)
        data = Path(question["path"]).read_bytes()
        answer = ({"seconds": extract_seconds(data, question["repeats"])} if "repeats" in question
                  else {"status": extract_status(data)})
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    _serve(sys.argv[1])
