"""Serve FirstChoiceModel with label-studio-ml (/health, /setup, /predict, /webhook).

    .venvs/ml-backend/bin/python tests/ml_backend/server.py --host 127.0.0.11 --port 9090 --model-dir DIR

Environment: LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY (to fetch task media, as a deployed backend
does); ML_BASIC_AUTH_USER and ML_BASIC_AUTH_PASS, when both are set, make every request need that
HTTP Basic auth (401 otherwise), as backends behind an authenticating proxy do. Every request is
logged as one line "METHOD /path STATUS" so tests can see what Label Studio called.
"""

from __future__ import annotations

import argparse
import base64
import hmac
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from label_studio_ml.api import init_app
from model import FirstChoiceModel

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def basic_auth(app: Wsgi, user: str, password: str) -> Wsgi:
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not hmac.compare_digest(environ.get("HTTP_AUTHORIZATION", ""), expected):
            start_response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="ml"'),
                                                ("Content-Length", "0")])
            return [b""]
        return app(environ, start_response)
    return guarded


def logged(app: Wsgi) -> Wsgi:
    def wrapper(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def start(status: str, headers: Any, *rest: Any) -> Any:
            print(f"{environ['REQUEST_METHOD']} {environ.get('PATH_INFO', '')} {status.split()[0]}", flush=True)
            return start_response(status, headers, *rest)
        return app(environ, start)
    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--redis-port", type=int, default=1, help="nothing listens there: no Redis, jobs run locally")
    args = parser.parse_args()
    os.environ.setdefault("LABEL_STUDIO_ML_BACKEND_V2", "true")
    app = init_app(FirstChoiceModel, model_dir=args.model_dir, redis_host="127.0.0.1", redis_port=args.redis_port)
    wsgi: Wsgi = app.wsgi_app
    user, password = os.environ.get("ML_BASIC_AUTH_USER", ""), os.environ.get("ML_BASIC_AUTH_PASS", "")
    if user and password:
        wsgi = basic_auth(wsgi, user, password)
    app.wsgi_app = logged(wsgi)
    app.run(host=args.host, port=args.port, threaded=True)


if __name__ == "__main__":
    main()
