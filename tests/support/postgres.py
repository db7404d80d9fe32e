"""Run a throwaway PostgreSQL 15 cluster for tests (Debian's binaries). No pytest here.

    pg = PostgresServer(tmp_path / "pg", free_port()).start()
    engine = sqlalchemy.create_engine(pg.url)     # postgresql+psycopg://kerma:kerma@127.0.0.1:PORT/kerma
    pg.stop()

initdb and postgres refuse to run as root, so they run as the "postgres" user (runuser),
and the cluster's folder belongs to postgres. That folder must be reachable by postgres
and its socket path short (unix sockets: 107 bytes); pytest's tmp_path is under
/tmp/pytest-of-root/ (mode 0700), so when `workdir` is not reachable the cluster goes to
a fresh /tmp/kerma-pg-* folder instead, removed by close().
stop() keeps the data, so start() again simulates a database restart / outage.
`settings` are server settings given at start (`{"shared_buffers": "2GB"}` -> `-c shared_buffers=2GB`).
"""
import os
import pwd
import shutil
import subprocess
import tempfile

PG_BIN = "/usr/lib/postgresql/15/bin"
PG_USER = "postgres"


def _run_as_postgres(args, **kwargs):
    cmd = list(args)
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", PG_USER, "--"] + cmd
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kwargs)
    if done.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s" % (" ".join(cmd), done.returncode, done.stdout.decode(errors="replace")))
    return done


def _reachable_by(user, directory):
    """Can `user` reach `directory` (traverse all its parents)?"""
    parent = os.path.dirname(directory.rstrip("/")) or "/"
    return subprocess.run(["runuser", "-u", user, "--", "test", "-x", parent],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


class PostgresServer:
    def __init__(self, workdir, port, database="kerma", user="kerma", password="kerma", settings=None):
        self.workdir = os.path.abspath(str(workdir))
        self.port = int(port)
        self.settings = dict(settings or {})
        self.database, self.user, self.password = database, user, password
        self._own_dir = None  # set when the cluster lives in a private /tmp folder
        self.base = None

    @property
    def url(self):
        """SQLAlchemy URL."""
        return "postgresql+psycopg://%s:%s@127.0.0.1:%d/%s" % (self.user, self.password, self.port, self.database)

    @property
    def dsn(self):
        """libpq / psycopg URL."""
        return "postgresql://%s:%s@127.0.0.1:%d/%s" % (self.user, self.password, self.port, self.database)

    @property
    def data_dir(self):
        return os.path.join(self.base, "data")

    @property
    def log_path(self):
        return os.path.join(self.base, "postgres.log")

    def start(self, timeout=30):
        os.makedirs(self.workdir, exist_ok=True)
        if self.base is None:
            self.base = self.workdir
            if len(self.workdir) > 80 or (os.geteuid() == 0 and not _reachable_by(PG_USER, self.workdir)):
                self._own_dir = self.base = tempfile.mkdtemp(prefix="kerma-pg-", dir="/tmp")
        if os.geteuid() == 0:
            pw = pwd.getpwnam(PG_USER)
            os.chown(self.base, pw.pw_uid, pw.pw_gid)
            os.chmod(self.base, 0o700)

        if not os.path.exists(os.path.join(self.data_dir, "PG_VERSION")):
            _run_as_postgres([os.path.join(PG_BIN, "initdb"), "-D", self.data_dir, "-U", PG_USER,
                              "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                              "--locale=C.UTF-8"])
        options = "-p %d -h 127.0.0.1 -k %s -c fsync=off -c full_page_writes=off" % (self.port, self.base)
        options += "".join(" -c %s=%s" % item for item in self.settings.items())
        _run_as_postgres([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data_dir, "-l", self.log_path,
                          "-o", options, "-w", "-t", str(timeout), "start"])
        self._psql("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '%s') THEN "
                   "CREATE ROLE %s LOGIN PASSWORD '%s'; END IF; END $$;" % (self.user, self.user, self.password))
        exists = self._psql("SELECT 1 FROM pg_database WHERE datname = '%s'" % self.database)
        if not exists.strip():
            self._psql("CREATE DATABASE %s OWNER %s" % (self.database, self.user))
        return self

    def _psql(self, sql):
        out = _run_as_postgres([os.path.join(PG_BIN, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                                "-h", self.base, "-p", str(self.port), "-U", PG_USER, "-d", "postgres",
                                "-c", sql])
        return out.stdout.decode()

    def stop(self):
        """Fast shutdown (data kept: start() again brings the same database back)."""
        if self.base and os.path.exists(os.path.join(self.data_dir, "postmaster.pid")):
            _run_as_postgres([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data_dir, "-m", "fast", "-w", "stop"])

    def close(self):
        """stop(), then remove the private /tmp folder if one was used."""
        self.stop()
        if self._own_dir:
            shutil.rmtree(self._own_dir, ignore_errors=True)
            self._own_dir = self.base = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()
