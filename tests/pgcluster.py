"""A throw-away PostgreSQL/PostGIS cluster for tests: initdb in a temp folder, a loopback port and a
unix socket, the postgis extension created, stopped and removed afterwards.

API::

    from tests.pgcluster import start_cluster, find_pg_bin
    cluster = start_cluster(tmp_dir)          # raises ClusterUnavailable when initdb/postgis are missing
    cluster.url("gridpatrol", "ws1")         # 'postgresql://gridpatrol@127.0.0.1:PORT/gridpatrol?schema=ws1'
    cluster.dsn                               # libpq conninfo of the default database (unix socket)
    cluster.create_database("other")          # a new database with the postgis extension; its name
    fresh_url(cluster)                        # a workspace URL of a schema no test used yet
    workspace_copy_url(cluster, "ws.gpkg")    # that workspace copied into a new database (cloned
                                              # from a template after the first copy); its URL
    cluster.stop()                            # stops the server and removes its folder

The pytest fixture is ``pg_cluster`` (session-scoped) in tests/conftest.py; it skips when PostgreSQL
or PostGIS is not installed, unless the environment variable ``CI`` is set (then it fails).

Running as root: initdb refuses root, so the cluster runs as the ``postgres`` system user (or
``nobody``) in a folder made for it under the system temp directory (pytest's own tmp folders are
private to root). Authentication is ``trust``: the cluster listens on 127.0.0.1 and on a socket in
its own folder only, and lives for one test session.
"""
from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

SUPERUSER = "gridpatrol"
DEFAULT_DB = "gridpatrol"


class ClusterUnavailable(RuntimeError):
    """PostgreSQL or PostGIS is not installed here (the message says what is missing)."""


def find_pg_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/N/bin`` holding initdb and pg_ctl (Debian's layout), else
    the folder of ``pg_ctl`` on PATH, else None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    return None


def _postgis_installed(bindir: Path) -> bool:
    sharedir = subprocess.run([str(bindir / "pg_config"), "--sharedir"], capture_output=True,
                              text=True).stdout.strip() if (bindir / "pg_config").exists() else ""
    candidates = [Path(sharedir) / "extension"] if sharedir else []
    version = bindir.parent.name
    candidates.append(Path("/usr/share/postgresql") / version / "extension")
    return any((c / "postgis.control").exists() for c in candidates)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as() -> pwd.struct_passwd | None:
    """The unprivileged account to run the server as when we are root, else None."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise ClusterUnavailable("running as root and neither a 'postgres' nor a 'nobody' user exists "
                             "to run initdb as (initdb refuses root)")


@dataclass
class Cluster:
    """A running throw-away cluster. ``url(db, schema)`` is a GridPatrol workspace URL."""
    root: Path
    bindir: Path
    port: int
    host: str = "127.0.0.1"
    user: str = SUPERUSER
    dbname: str = DEFAULT_DB
    _account: pwd.struct_passwd | None = None
    _stopped: bool = field(default=False)
    templates: dict = field(default_factory=dict)  # (source, schema) -> template database

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    @property
    def dsn(self) -> str:
        """libpq conninfo of the default database over the unix socket."""
        return f"host={self.socket_dir} port={self.port} user={self.user} dbname={self.dbname}"

    def dsn_for(self, dbname: str) -> str:
        return f"host={self.socket_dir} port={self.port} user={self.user} dbname={dbname}"

    def url(self, dbname: str = DEFAULT_DB, schema: str | None = None) -> str:
        """``postgresql://gridpatrol@127.0.0.1:PORT/DB?schema=NAME`` (no schema part when None)."""
        base = f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"
        return base + (f"?schema={schema}" if schema else "")

    def psql(self, sql: str, dbname: str | None = None) -> str:
        """Run SQL with psql as the superuser; its stdout (unaligned, tuples only)."""
        out = subprocess.run([str(self.bindir / "psql"), "-X", "-q", "-A", "-t", "-v",
                              "ON_ERROR_STOP=1", "-d", self.dsn_for(dbname or self.dbname),
                              "-c", sql], capture_output=True, text=True)
        if out.returncode:
            raise RuntimeError(f"psql failed: {out.stderr.strip()}")
        return out.stdout

    def create_database(self, name: str) -> str:
        """Create database ``name`` with the postgis extension (if missing); returns ``name``."""
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'",
                           dbname="postgres").strip()
        if not exists:
            self.psql(f'CREATE DATABASE "{name}"', dbname="postgres")
        self.psql("CREATE EXTENSION IF NOT EXISTS postgis", dbname=name)
        return name

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its folder. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        _run([str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "-w",
              "stop"], self._account, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def _run(cmd: list[str], account: pwd.struct_passwd | None, *, check: bool = True,
         **kw) -> subprocess.CompletedProcess:
    extra = {}
    if account is not None:
        extra = dict(user=account.pw_uid, group=account.pw_gid, extra_groups=[])
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd="/", **extra, **kw)
    if check and out.returncode:
        raise ClusterUnavailable(f"{Path(cmd[0]).name} failed ({out.returncode}): "
                                 f"{(out.stderr or out.stdout).strip()[-2000:]}")
    return out


def start_cluster(tmpdir: str | Path | None = None, *, dbname: str = DEFAULT_DB) -> Cluster:
    """initdb a new cluster, start it on a free loopback port and a unix socket in its folder,
    create ``dbname`` with the postgis extension; the running ``Cluster``.

    ``tmpdir`` holds the cluster's folder when the server's account can reach it; as root the
    folder is made under the system temp directory instead (pytest's tmp folders are root-only).
    Raises ``ClusterUnavailable`` when initdb, pg_ctl or PostGIS is not installed.
    """
    bindir = find_pg_bin()
    if bindir is None:
        raise ClusterUnavailable("PostgreSQL server binaries (initdb, pg_ctl) not found: install "
                                 "Debian's postgresql package (make system-deps)")
    if not _postgis_installed(bindir):
        raise ClusterUnavailable(f"PostGIS is not installed for {bindir.parent}: install Debian's "
                                 f"postgresql-{bindir.parent.name}-postgis-3 package "
                                 "(make system-deps)")
    account = _run_as()
    parent = Path(tmpdir) if tmpdir is not None and account is None else Path(tempfile.gettempdir())
    parent.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="gp-pg-", dir=parent))
    (root / "sock").mkdir()
    if account is not None:
        for p in (root, root / "sock"):
            os.chown(p, account.pw_uid, account.pw_gid)
    cluster = Cluster(root=root, bindir=bindir, port=_free_port(), dbname=dbname, _account=account)
    try:
        _run([str(bindir / "initdb"), "-D", str(cluster.datadir), "-U", SUPERUSER,
              "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"], account)
        for attempt in range(3):
            opts = (f"-c listen_addresses=127.0.0.1 -p {cluster.port} "
                    f"-c unix_socket_directories={cluster.socket_dir} -c fsync=off "
                    "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60 "
                    "-c shared_buffers=32MB")
            out = _run([str(bindir / "pg_ctl"), "-D", str(cluster.datadir), "-l",
                        str(root / "server.log"), "-o", opts, "-w", "-t", "60", "start"],
                       account, check=False)
            if out.returncode == 0:
                break
            if attempt == 2:
                log = (root / "server.log").read_text(errors="replace")[-2000:] \
                    if (root / "server.log").exists() else ""
                raise ClusterUnavailable(f"pg_ctl start failed: {out.stderr.strip()} {log}")
            cluster.port = _free_port()  # the free port may have been taken in between
            time.sleep(0.2)
        cluster.create_database(dbname)
    except BaseException:
        cluster.stop()
        raise
    owner = os.getpid()
    # a process forked from this one (multiprocessing, dask) must not stop the cluster on exit
    atexit.register(lambda: cluster.stop() if os.getpid() == owner else None)
    return cluster


_SCHEMAS = iter(range(1, 1_000_000))


def fresh_url(cluster: Cluster, prefix: str = "ws", *, dbname: str = DEFAULT_DB) -> str:
    """A workspace URL of ``cluster`` naming a schema no test used yet this session."""
    return cluster.url(dbname, f"{prefix}_{os.getpid()}_{next(_SCHEMAS)}")


def workspace_copy_url(cluster: Cluster, source: str | Path, *, schema: str = "ws") -> str:
    """The workspace file ``source`` in a new database of ``cluster`` (schema ``schema``); its
    URL. The first call per source copies it into a template database; later calls clone that
    template (CREATE DATABASE ... TEMPLATE, a fraction of a second)."""
    key = (str(Path(source).resolve()), schema)
    template = cluster.templates.get(key)
    if template is None:
        from geo.workspace import copy_workspace
        template = cluster.create_database(f"tpl_{len(cluster.templates) + 1}")
        copy_workspace(source, cluster.url(template, schema))
        cluster.templates[key] = template
    name = f"db_{os.getpid()}_{next(_SCHEMAS)}"
    cluster.psql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"', dbname="postgres")
    return cluster.url(name, schema)
