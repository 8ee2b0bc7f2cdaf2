"""The real ML backend for tests: tests/ml_backend/server.py (label-studio-ml 1.0.9 around a model of
a few lines) in its own venv, on a fixed second loopback address so Label Studio's SSRF protection
can allow exactly it. A library, not tests; fixtures in tests/conftest.py use it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.realservices import (
    REPO_ROOT,
    RUNTIME_DIR,
    _log_path,
    _register,
    _spawn,
    _terminate,
    _unregister,
    wait_until,
)

ML_BACKEND_VENV = REPO_ROOT / ".venvs" / "ml-backend"
SERVER = REPO_ROOT / "tests" / "ml_backend" / "server.py"
# Label Studio's SSRF list bans all of 127.0.0.0/8 but this one address (see ssrf.banned_subnets);
# the storage tests use 127.0.0.10 the same way.
ML_BACKEND_HOST = "127.0.0.11"


def free_port_on(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class MLBackendServer:
    """One ML backend process; `start()` again after `stop()` serves the same URL."""

    host: str
    port: int
    env: Mapping[str, str] = field(repr=False)
    log: Path = field(init=False)
    model_dir: Path = field(init=False)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.log = _log_path(f"ml-backend-{self.host}-{self.port}")
        self.model_dir = RUNTIME_DIR / f"ml-backend-{self.host}-{self.port}"
        self.model_dir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, *, wait: bool = True, timeout: float = 60) -> None:
        python = ML_BACKEND_VENV / "bin" / "python"
        if not python.exists():
            raise RuntimeError("ML backend venv missing: run scripts/bootstrap-test.sh")
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(self.model_dir), **self.env}
        self.process = _spawn([str(python), str(SERVER), "--host", self.host, "--port", str(self.port),
                               "--model-dir", str(self.model_dir)], log=self.log, env=env)
        _register(self.stop)
        if wait:
            try:
                wait_until(self.healthy, timeout=timeout, what="ML backend", log=self.log, process=self.process)
            except BaseException:
                self.stop()
                raise

    def healthy(self) -> bool:
        auth = (self.env["ML_BASIC_AUTH_USER"], self.env["ML_BASIC_AUTH_PASS"]) \
            if self.env.get("ML_BASIC_AUTH_USER") else None
        try:
            return requests.get(self.url + "/health", auth=auth, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def requests_seen(self) -> list[str]:
        """Every request served so far, as "METHOD /path STATUS" (the server logs one line each)."""
        if not self.log.exists():
            return []
        return [line for line in self.log.read_text(errors="replace").splitlines()
                if line.split(" ", 1)[0] in ("GET", "POST")]

    def stop(self) -> None:
        _unregister(self.stop)
        if self.process is not None:
            _terminate(self.process)
            self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.model_dir, ignore_errors=True)


def ml_backend(ls_url: str, ls_token: str, *, host: str = ML_BACKEND_HOST, port: int | None = None,
               basic_auth: tuple[str, str] | None = None) -> MLBackendServer:
    """A backend (not started) that fetches media from `ls_url` with `ls_token`."""
    env = {"LABEL_STUDIO_URL": ls_url, "LABEL_STUDIO_API_KEY": ls_token}
    if basic_auth is not None:
        env |= {"ML_BASIC_AUTH_USER": basic_auth[0], "ML_BASIC_AUTH_PASS": basic_auth[1]}
    return MLBackendServer(host, port or free_port_on(host), env)
