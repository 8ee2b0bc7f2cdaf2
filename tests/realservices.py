"""Real services for tests: PostgreSQL, an S3 API (moto) and Label Studio, each on a free loopback port.

A library, not tests. Every start has a bounded wait, every service has `stop()`, and every log is
kept under `.test-runtime/` so a failure can be read after the run. Only loopback is ever used:
127.0.0.1, and SSRF_TARGET (another loopback address) for the targets Label Studio itself must call.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
RUNTIME_DIR = REPO_ROOT / ".test-runtime"
PROJECT_VENV_BIN = REPO_ROOT / ".venv" / "bin"
LABEL_STUDIO_VENV = REPO_ROOT / ".venvs" / "label-studio"
LOOPBACK = "127.0.0.1"
# Where S3 and webhook receivers that Label Studio calls listen in tests: a second loopback address,
# so a Label Studio can allow exactly it and keep SSRF protection on for everything else.
SSRF_TARGET = "127.0.0.10"

_running: list[Callable[[], None]] = []  # stop() of every service still up, for atexit


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def log_tail(path: Path, lines: int = 60) -> str:
    if not path.exists():
        return f"(no log at {path})"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def wait_until(ready: Callable[[], bool], *, timeout: float, what: str, log: Path,
               process: subprocess.Popen[bytes] | None = None) -> None:
    """Poll `ready` until it is true; fail with the log tail on timeout or early exit."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}\n{log_tail(log)}")
        try:
            if ready():
                return
        except (OSError, requests.RequestException):
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{what} not ready after {timeout:.0f}s\n{log_tail(log)}")


def _log_path(name: str) -> Path:
    RUNTIME_DIR.mkdir(exist_ok=True)
    return RUNTIME_DIR / f"{name}.log"


def _terminate(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, grace: float = 20) -> None:
    """Stop a process group we started (by its id) and reap it."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=grace)
    except ProcessLookupError:
        pass


def _spawn(argv: Sequence[str], *, log: Path, env: Mapping[str, str] | None = None,
           cwd: Path | None = None, user: str | None = None) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            list(argv), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=dict(env) if env is not None else None, cwd=cwd, start_new_session=True,
            user=user, group=user, extra_groups=[] if user else None,
        )


def _register(stop: Callable[[], None]) -> None:
    _running.append(stop)


def _unregister(stop: Callable[[], None]) -> None:
    if stop in _running:
        _running.remove(stop)


@atexit.register
def _stop_everything() -> None:
    for stop in reversed(list(_running)):
        stop()


# --- PostgreSQL -----------------------------------------------------------------------------------

def _postgres_bin(tool: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"),
                   key=lambda p: int(Path(p).parts[4]))
    if not found:
        raise RuntimeError("PostgreSQL binaries missing: run scripts/bootstrap-test.sh")
    return found[-1]


@dataclass
class Postgres:
    host: str
    port: int
    dbname: str
    user: str
    password: str
    data_dir: Path
    socket_dir: Path
    os_user: str | None
    process: subprocess.Popen[bytes] = field(repr=False)

    def psql(self, sql: str) -> str:
        """Run SQL as the cluster superuser over the private unix socket."""
        done = subprocess.run(
            [_postgres_bin("psql"), "-h", str(self.socket_dir), "-p", str(self.port), "-U", "postgres",
             "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
            capture_output=True, text=True, timeout=30, user=self.os_user, group=self.os_user,
            extra_groups=[] if self.os_user else None,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return done.stdout.strip()

    def accepts_connections(self) -> bool:
        ready = subprocess.run([_postgres_bin("pg_isready"), "-q", "-h", str(self.socket_dir),
                                "-p", str(self.port)], timeout=10)
        return ready.returncode == 0

    def create_database(self, name: str | None = None) -> str:
        """A second, empty database owned by the same user (for a fresh Label Studio)."""
        dbname = name or f"db_{secrets.token_hex(4)}"
        self.psql(f'CREATE DATABASE "{dbname}" OWNER "{self.user}"')
        return dbname

    def stop(self) -> None:
        _unregister(self.stop)
        _terminate(self.process, signal.SIGINT)  # SIGINT = PostgreSQL "fast" shutdown
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def start_postgres(timeout: float = 60) -> Postgres:
    """A throwaway cluster (initdb in a temp dir), one database, one password-authenticated user."""
    os_user = "postgres" if os.geteuid() == 0 else None  # PostgreSQL refuses to run as root
    root = Path(tempfile.mkdtemp(prefix="pg-"))
    data_dir, socket_dir = root / "data", root / "run"
    socket_dir.mkdir()
    if os_user:
        account = pwd.getpwnam(os_user)
        for path in (root, socket_dir):
            os.chown(path, account.pw_uid, account.pw_gid)
    port = free_port()
    log = _log_path(f"postgres-{port}")
    init = subprocess.run(
        [_postgres_bin("initdb"), "-D", str(data_dir), "-U", "postgres", "--auth-local=trust",
         "--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8"],
        capture_output=True, text=True, timeout=120, user=os_user, group=os_user,
        extra_groups=[] if os_user else None,
    )
    if init.returncode != 0:
        raise RuntimeError(f"initdb failed: {init.stderr}")
    process = _spawn(
        [_postgres_bin("postgres"), "-D", str(data_dir), "-p", str(port), "-k", str(socket_dir),
         "-c", f"listen_addresses={LOOPBACK}", "-c", "fsync=off", "-c", "full_page_writes=off"],
        log=log, user=os_user,
    )
    server = Postgres(LOOPBACK, port, "labelstudio", "labelstudio", secrets.token_urlsafe(16),
                      data_dir, socket_dir, os_user, process)
    _register(server.stop)
    try:
        wait_until(server.accepts_connections, timeout=timeout, what="PostgreSQL",
                   log=log, process=process)
        server.psql(f"CREATE ROLE \"{server.user}\" LOGIN PASSWORD '{server.password}'")
        server.create_database(server.dbname)
    except BaseException:
        server.stop()
        raise
    return server


# --- S3 (moto) ------------------------------------------------------------------------------------

@dataclass
class S3Server:
    endpoint: str
    region: str
    access_key_id: str
    secret_access_key: str
    process: subprocess.Popen[bytes] = field(repr=False)

    def stop(self) -> None:
        _unregister(self.stop)
        _terminate(self.process)


def start_moto(timeout: float = 60, host: str = LOOPBACK) -> S3Server:
    port = free_port(host)
    log = _log_path(f"moto-{port}")
    process = _spawn([str(PROJECT_VENV_BIN / "moto_server"), "-H", host, "-p", str(port)], log=log)
    # moto accepts any credentials; distinctive fake ones let tests grep logs for leaks.
    server = S3Server(f"http://{host}:{port}", "us-east-1", "AKIATESTMOTO00000001",
                      "moto-test-secret-" + secrets.token_hex(8), process)
    _register(server.stop)
    try:
        wait_until(lambda: requests.get(server.endpoint + "/moto-api/", timeout=2).ok,
                   timeout=timeout, what="moto_server", log=log, process=process)
    except BaseException:
        server.stop()
        raise
    return server


# --- Label Studio -----------------------------------------------------------------------------------

@dataclass
class LabelStudioServer:
    url: str
    api_token: str  # the first admin's legacy token (LABEL_STUDIO_USER_TOKEN), "" if none was given
    log: Path
    data_dir: Path
    process: subprocess.Popen[bytes] = field(repr=False)
    argv: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict, repr=False)

    def stop(self) -> None:
        _unregister(self.stop)
        _terminate(self.process)
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def kill_app(self) -> None:
        """Stop the app process only (same port, data and database stay), as a crash or a redeploy does."""
        _terminate(self.process)

    def start_app(self) -> None:
        """Start the app again after `kill_app` (no waiting: callers test that waiting themselves)."""
        self.process = _spawn(self.argv, log=self.log, env=self.env, cwd=self.data_dir)

    def healthy(self) -> bool:
        try:
            return requests.get(self.url + "/health", timeout=5).status_code == 200
        except requests.RequestException:
            return False


def label_studio_manage_py() -> Path:
    found = glob.glob(str(LABEL_STUDIO_VENV / "lib" / "python3*" / "site-packages" / "label_studio" / "manage.py"))
    if not found:
        raise RuntimeError("Label Studio venv missing: run scripts/bootstrap-test.sh")
    return Path(found[0])


def start_label_studio(env: Mapping[str, str], *, migrate_timeout: float = 300,
                       health_timeout: float = 180) -> LabelStudioServer:
    """Migrate as the image's `label-studio-migrate` mode does, then serve and wait for /health.

    The process sees exactly `env`, plus PATH, HOME and (unless given) a data dir.
    Migrations: `python label_studio/manage.py locked_migrate` (what the image runs in that mode).
    App: `label-studio start` (Django's server; it creates the first admin from LABEL_STUDIO_USERNAME/
    PASSWORD/USER_TOKEN as the image's `label-studio init` step does).
    """
    port = free_port()
    log = _log_path(f"label-studio-{port}")
    data_dir = RUNTIME_DIR / f"label-studio-{port}"
    data_dir.mkdir(parents=True, exist_ok=True)
    bin_dir = LABEL_STUDIO_VENV / "bin"
    full_env = {"PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin", "HOME": str(data_dir),
                "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir / "data"), **env}
    with log.open("ab") as out:
        migrate = subprocess.run(
            [str(bin_dir / "python"), str(label_studio_manage_py()), "locked_migrate"],
            env=full_env, cwd=data_dir, stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, timeout=migrate_timeout,
        )
    if migrate.returncode != 0:
        raise RuntimeError(f"Label Studio migrations exited {migrate.returncode}\n{log_tail(log)}")
    argv = (str(bin_dir / "label-studio"), "start", "--no-browser", "--internal-host", LOOPBACK,
            "--port", str(port))
    process = _spawn(argv, log=log, env=full_env, cwd=data_dir)
    server = LabelStudioServer(f"http://{LOOPBACK}:{port}", env.get("LABEL_STUDIO_USER_TOKEN", ""), log,
                               data_dir, process, argv, full_env)
    _register(server.stop)
    try:
        wait_until(lambda: requests.get(server.url + "/health", timeout=5).status_code == 200,
                   timeout=health_timeout, what="Label Studio", log=log, process=process)
    except BaseException:
        server.stop()
        raise
    return server
