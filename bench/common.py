"""Shared bits of the benchmark: paths, the corpus, statistics, starting a throwaway Orthanc."""

from __future__ import annotations

import glob
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for _p in (REPO / "plugin", REPO / "tests"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from support.orthanc import CALLING_AET, OrthancProcess, free_port  # noqa: E402,F401  (tests/support)

CORPUS = REPO.parent / "shared" / "corpus"
CT_IMAGE = CORPUS / "public" / "ct_image" / "orthanc-tests__TEST_1_study_1234.dcm"
BATCH_RDSRS = sorted(Path(p) for p in glob.glob(str(CORPUS / "openrem" / "*RDSR*.dcm")))
AUTH = ("kerma", "kerma")
HIGHLIGHT = ("RF-RDSR-Philips_Azurion.dcm", "RF-Pat-Orientation-Modifier-Missing.dcm")


def dose_reports() -> list[Path]:
    """Every dose report of the corpus (tests/corpus.py) that ``kerma.extract.extract`` reads with status ok."""
    from corpus import dose_reports as all_reports  # tests/corpus.py
    from kerma.extract import extract

    return [p for p in all_reports() if extract(p.read_bytes()).ok]


def median(values):
    """Median of a non-empty sequence (None when empty)."""
    return percentile(values, 50)


def percentile(values, q):
    """q-th percentile (0..100) with linear interpolation between order statistics; None when empty."""
    xs = sorted(values)
    if not xs:
        return None
    k = (len(xs) - 1) * q / 100.0
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def start_orthanc(workdir: Path, with_kerma: bool, kerma_config: dict | None = None, tree: Path = REPO) -> OrthancProcess:
    """Start a fresh Orthanc on free ports, storage in ``workdir``.

    Parameters
    ----------
    workdir : Path
        An empty folder for configuration, storage, log and Kerma's SQLite file.
    with_kerma : bool
        True: the Python plugin loads Kerma (plugin/entry.py). False: no plugin at all
        (``"Plugins": []``), i.e. Orthanc alone.
    kerma_config : dict, optional
        Settings of the configuration (``{"Kerma.Dosimetry": False}``), with Kerma.
    tree : Path
        The source tree whose plugin runs: this checkout, or an older revision unpacked by ``run.py --before``.
    """
    extra = dict(kerma_config or {}) if with_kerma else {"Plugins": []}
    orthanc = OrthancProcess(workdir, free_port(), free_port(), f"sqlite:///{workdir}/kerma.sqlite",
                             auth=AUTH, extra_config=extra, repo=tree)
    return orthanc.start(timeout=180)  # a busy machine takes its time to create the schema


def wait_for(predicate, timeout: float, interval: float):
    """Call ``predicate()`` every ``interval`` s until it returns a truthy value; return (value, time.perf_counter() then).

    Raises TimeoutError after ``timeout`` seconds.
    """
    deadline = time.perf_counter() + timeout
    while True:
        value = predicate()
        now = time.perf_counter()
        if value:
            return value, now
        if now > deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        time.sleep(interval)


def machine() -> dict:
    """What the figures were measured on."""
    import platform

    def version(cmd):
        import subprocess
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except Exception as exc:  # a missing tool is reported, not fatal here
            return f"unavailable: {exc}"

    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "orthanc": version(["/usr/sbin/Orthanc", "--version"]),
        "dcmtk": version(["storescu", "--version"]),
        "load_avg": os.getloadavg(),
    }
