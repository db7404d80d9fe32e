"""Run a throwaway Orthanc (Debian's /usr/sbin/Orthanc + Python plugin) for tests. No pytest here.

    orthanc = OrthancProcess(tmp_path, free_port(), free_port(), "sqlite:///" + str(tmp_path / "k.sqlite"))
    orthanc.start()
    statuses = orthanc.store([".../CT-RDSR-GEPixelMed.dcm"])   # [0x0000]
    orthanc.session().get(orthanc.url + "/kerma/api/health")
    orthanc.stop()

    with running_orthanc(tmp_path_factory.mktemp("orthanc-hl7"), extra_config={"Kerma.Hl7Port": free_port()}) as orthanc:
        ...   # the tests' one way to a Kerma Orthanc of their own: started (listeners up), stopped after

The configuration is written by scripts/make_config.py, the same generator as scripts/start.sh.
"""
import glob
import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager

import requests

from .dimse import release, responses_to_sender

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ORTHANC = "/usr/sbin/Orthanc"

# Dose SR classes that storescu and some defaults leave out; always proposed.
DOSE_SR_SOP_CLASSES = [
    "1.2.840.10008.5.1.4.1.1.88.67",  # X-Ray Radiation Dose SR
    "1.2.840.10008.5.1.4.1.1.88.68",  # Radiopharmaceutical Radiation Dose SR
    "1.2.840.10008.5.1.4.1.1.88.76",  # Enhanced X-Ray Radiation Dose SR
]
IMPLICIT_VR_LE = "1.2.840.10008.1.2"
# The shipped configuration accepts associations only from declared modalities (AE title and IP address):
# the tests and bench/ call from this one, declared by every OrthancProcess unless told otherwise.
CALLING_AET = "KERMA-TEST"
EXPLICIT_VR_LE = "1.2.840.10008.1.2.1"


def free_port():
    """A TCP port that was free a moment ago (bind to port 0, read it, close).

    scripts/test.sh runs the suite in pytest-xdist workers (PYTEST_XDIST_WORKER gw0, gw1, ...): each takes only the
    ports of its own share, so that no two workers pick the same free port in the moment before whoever it is for binds
    it (an Orthanc takes seconds to start).  Linux gives bind(0) odd ports (even ones go to connect()): the share is
    of port // 2."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    workers, share = (int(os.environ["PYTEST_XDIST_WORKER_COUNT"]), int(worker[2:])) if worker else (1, 0)
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port // 2 % workers == share:
            return port


def wait_for_port(port, timeout=120.0):
    """Wait until something accepts TCP connections on 127.0.0.1:port (e.g. Kerma's HL7 listener process).  The
    timeout only bounds a failure: on a loaded machine (load 20 on 2 cores) a listener took over 30 s to start."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("nothing listens on port %d" % port)
            time.sleep(0.1)


def venv_site_packages():
    found = glob.glob(os.path.join(REPO, ".venv", "lib", "python3*", "site-packages"))
    if not found:
        raise RuntimeError("no .venv in %s: run scripts/setup.sh" % REPO)
    return found[0]


class OrthancProcess:
    def __init__(self, workdir, http_port, dicom_port, database_url, auth=("kerma", "kerma"),
                 python_script=None, aet="ORTHANC", extra_config=None, modalities=(CALLING_AET + "@127.0.0.1",),
                 repo=REPO):
        """extra_config: {"StableAge": 1, "Kerma.Something": 2} -> make_config.py --set KEY=JSON.
        modalities: the calling AEs allowed to store, "AET@HOST[:PORT]" -> make_config.py --modality.
        repo: the source tree whose plugin, migrations and make_config.py run (bench/run.py --before: an older
        revision's, unpacked); the Python packages are this checkout's .venv either way."""
        self.workdir = os.path.abspath(str(workdir))
        self.http_port = int(http_port)
        self.dicom_port = int(dicom_port)
        self.database_url = database_url
        self.auth = tuple(auth)
        self.repo = os.path.abspath(str(repo))
        self.python_script = os.path.abspath(python_script or os.path.join(self.repo, "plugin", "entry.py"))
        self.aet = aet
        self.extra_config = dict(extra_config or {})
        self.modalities = tuple(modalities)
        self.config_dir = os.path.join(self.workdir, "orthanc-config")
        self.log_path = os.path.join(self.workdir, "orthanc.log")
        self.process = None
        self._log = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.http_port

    def session(self, auth=None):
        """A client of Kerma's API as its UI is: authenticated, and with the header Kerma wants on every write."""
        s = requests.Session()
        s.auth = tuple(auth) if auth else self.auth
        s.headers["X-Requested-With"] = "kerma"
        return s

    def write_config(self):
        cmd = [sys.executable, os.path.join(self.repo, "scripts", "make_config.py"), self.config_dir,
               "--http-port", str(self.http_port), "--dicom-port", str(self.dicom_port),
               "--storage-dir", os.path.join(self.workdir, "orthanc-data"),
               "--database-url", self.database_url, "--python-script", self.python_script,
               "--user", "%s:%s" % self.auth, "--aet", self.aet]
        for modality in self.modalities:
            cmd += ["--modality", modality]
        for key, value in self.extra_config.items():
            cmd += ["--set", "%s=%s" % (key, json.dumps(value))]
        subprocess.run(cmd, check=True)

    def start(self, timeout=120):
        """Write the configuration, start Orthanc, wait until GET /system answers 200 (within ``timeout`` seconds: on
        a loaded machine, load 20 on 2 cores, loading the plugin alone took 30 s)."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("Orthanc already running (pid %d)" % self.process.pid)
        os.makedirs(self.workdir, exist_ok=True)
        self.write_config()
        env = dict(os.environ)
        env["TCP_NODELAY"] = "1"
        env["PYTHONPATH"] = os.pathsep.join([venv_site_packages(), os.path.join(self.repo, "plugin")])
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen([ORTHANC, self.config_dir], cwd=self.workdir, env=env,
                                        stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError("Orthanc exited with %s during start-up; log:\n%s"
                                   % (self.process.returncode, self.log_tail()))
            try:
                if requests.get(self.url + "/system", auth=self.auth, timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                self.kill9()
                raise RuntimeError("Orthanc did not answer /system within %ss; log:\n%s" % (timeout, self.log_tail()))
            time.sleep(0.1)

    def stop(self, timeout=20):
        """SIGTERM, wait; SIGKILL after `timeout` seconds. Returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self._finish()

    def kill9(self):
        """SIGKILL (a crash): no shutdown code runs."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        return self._finish()

    def _finish(self):
        code = self.process.returncode
        if self._log:
            self._log.close()
            self._log = None
        leaked = self.patient_names_in_log()
        if leaked:
            raise AssertionError("patient names in Orthanc's log %s:\n%s" % (self.log_path, "\n".join(leaked)))
        return code

    def patient_names_in_log(self):
        """Log lines holding a patient name Kerma stored in this run (dose studies and the HIS's patients).

        Patient data must never reach a log; this runs whenever an OrthancProcess stops.  Names of five
        characters or more with a component separator are looked for, as stored ("Doe^Jane") and as
        written out ("Doe Jane").
        """
        from sqlalchemy import create_engine, text

        engine = create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                names = {row[0] for table in ("study", "patient_record")
                         for row in connection.execute(text("SELECT DISTINCT %s FROM %s" % (
                             "patient_name" if table == "study" else "name", table)))}
        except Exception:  # no dose database (Orthanc did not get that far)
            return []
        finally:
            engine.dispose()
        wanted = {form for name in names if name and "^" in name and len(name) >= 5
                  for form in (name, name.replace("^", " ").strip())}
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return []
        return [line for line in lines if any(form in line for form in wanted)]

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-lines:]).decode("utf-8", "replace")
        except OSError:
            return ""

    def store(self, paths, calling_aet=CALLING_AET, timeout=60, called_aet=None):
        """C-STORE files over one association; one status per file (int; None when unanswered or never sent
        because the association broke off). RuntimeError when the association is refused (an undeclared
        calling AE, or a called AE other than Orthanc's)."""
        from pydicom import dcmread
        from pynetdicom import AE, build_context

        paths = [str(p) for p in paths]
        syntaxes = {}  # SOP class -> transfer syntaxes to propose
        for uid in DOSE_SR_SOP_CLASSES:
            syntaxes[uid] = [EXPLICIT_VR_LE, IMPLICIT_VR_LE]
        for path in paths:
            meta = dcmread(path, stop_before_pixels=True, specific_tags=[]).file_meta
            ts = syntaxes.setdefault(str(meta.MediaStorageSOPClassUID), [EXPLICIT_VR_LE, IMPLICIT_VR_LE])
            if str(meta.TransferSyntaxUID) not in ts:
                ts.insert(0, str(meta.TransferSyntaxUID))
        # One context per (class, syntax): the SCP accepts or refuses each one, so a file is never
        # left with only a context whose syntax the SCP picked differently from the file's.
        contexts = [build_context(uid, ts) for uid, tss in syntaxes.items() for ts in tss]
        if len(contexts) > 128:
            raise ValueError("more than 128 presentation contexts for one association")

        ae = AE(ae_title=calling_aet)
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = timeout
        assoc = ae.associate("127.0.0.1", self.dicom_port, contexts=contexts, ae_title=called_aet or self.aet)
        if not assoc.is_established:
            raise RuntimeError("association %s -> %s:%d rejected or aborted (declared calling AEs: %s)"
                               % (calling_aet, called_aet or self.aet, self.dicom_port, ", ".join(self.modalities)))
        responses_to_sender(assoc)  # pynetdicom's reactor would sometimes take an answer (support/dimse.py)
        # pynetdicom leaves Nagle on: ~55 ms per C-STORE instead of ~11 ms
        assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        statuses = []
        try:
            for path in paths:
                if not assoc.is_established:  # aborted (the peer died or timed out): the rest is unacknowledged
                    break
                try:
                    status = assoc.send_c_store(path)  # a path: sent as stored, in its own transfer syntax
                except (RuntimeError, OSError):
                    break
                statuses.append(int(status.Status) if "Status" in status else None)
        finally:
            release(assoc)
        return statuses + [None] * (len(paths) - len(statuses))

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


LISTENER_PORTS = ("Kerma.Hl7Port", "Kerma.MppsPort")  # processes of their own, listening a moment after Orthanc answers


@contextmanager
def running_orthanc(workdir, database_url=None, **options):
    """An Orthanc with Kerma in ``workdir`` (its dose database SQLite there unless ``database_url``), started with its
    HL7 and MPPS listeners up when configured, stopped on leaving. ``options``: those of :class:`OrthancProcess`."""
    url = database_url or "sqlite:///" + os.path.join(os.path.abspath(str(workdir)), "kerma.sqlite")
    process = OrthancProcess(workdir, free_port(), free_port(), url, **options)
    process.start()
    try:
        for key in LISTENER_PORTS:
            if key in process.extra_config:
                wait_for_port(process.extra_config[key])
        yield process
    finally:
        process.stop()
