"""Benchmark the seed providers against one real Label Studio (prints figures; no pass/fail).

    .venv/bin/python scripts/bench_seed.py [--n 100] [--url URL --token TOKEN [--ml-url ML_URL]]

Without --url it starts PostgreSQL, Label Studio 1.23.2 (SSRF protection on, only the test ML
backend's address allowed) and the test ML backend (tests/ml_backend/) as the tests do (loopback only).
Figures:
- N project creates through the Project provider versus a bare label-studio-sdk loop doing the
  same creates, interleaved in rounds so both see the same server state (target: <= 1.1x);
- HTTP calls per provider operation, counted from the provider's own JSON log lines: create,
  no-op diff (target 0), refresh read (target <= 1 GET per resource), update, delete; and the
  same for a User with a password (invite signup), an import and an export Storage (S3 calls
  included: a moto server on tests' SSRF_TARGET, one of the addresses Label Studio may call), a
  Webhook, and an ML backend link (whose writes make Label Studio call the backend's /health and
  /setup: those are the backend's calls, not ours). Storage, webhook and link figures need the
  Label Studio this script starts (or --ml-url for the link).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from label_studio_sdk import LabelStudio

from components import ssrf
from components.providers.ml_backend_link import MLBackendLinkProvider
from components.providers.project import ProjectProvider
from components.providers.storage import StorageProvider
from components.providers.user import UserProvider
from components.providers.webhook import WebhookProvider

CONFIG = ('<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text">'
          '<Choice value="Positive"/><Choice value="Negative"/></Choices></View>')


def calls_of(action: Callable[[], Any]) -> tuple[Any, list[str]]:
    """Run `action`, returning its result and the HTTP calls its provider logged ("GET /path")."""
    captured = io.StringIO()
    with contextlib.redirect_stderr(captured):
        result = action()
    records = [json.loads(line) for line in captured.getvalue().splitlines() if line.startswith("{")]
    return result, [f"{r['method']} {r['path']}" for r in records if r.get("event") == "call"]


def start_label_studio() -> tuple[str, str, str, Callable[[], None], Any]:
    from tests.ml_backend_service import ML_BACKEND_HOST, ml_backend
    from tests.realservices import SSRF_TARGET, start_moto, start_postgres
    from tests.realservices import start_label_studio as start

    postgres = start_postgres()
    s3 = start_moto(host=SSRF_TARGET)
    token = "bench-token-" + secrets.token_hex(8)
    ls = start({
        "DJANGO_DB": "default", "POSTGRE_NAME": postgres.create_database(), "POSTGRE_USER": postgres.user,
        "POSTGRE_PASSWORD": postgres.password, "POSTGRE_HOST": postgres.host, "POSTGRE_PORT": str(postgres.port),
        "SECRET_KEY": "bench-secret-key-" + secrets.token_hex(20), "LABEL_STUDIO_USERNAME": "bench@example.com",
        "LABEL_STUDIO_PASSWORD": secrets.token_urlsafe(16), "LABEL_STUDIO_USER_TOKEN": token,
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",  # nosec B105 - a boolean flag, not a password
        "SKIP_DB_MIGRATIONS": "true",
        "SENTRY_DSN": "", "FRONTEND_SENTRY_DSN": "", "LATEST_VERSION_CHECK": "false", "COLLECT_ANALYTICS": "false",
        # SSRF protection on, as the stack runs it, with exactly the moto server's and the ML
        # backend's addresses allowed
        "USE_DEFAULT_BANNED_SUBNETS": "false", "USER_ADDITIONAL_BANNED_SUBNETS": ",".join(
            ssrf.banned_subnets([SSRF_TARGET, ML_BACKEND_HOST])),
    })
    backend = ml_backend(ls.url, token)
    backend.start()

    def stop() -> None:
        backend.remove()
        ls.stop()
        s3.stop()
        postgres.stop()
    return ls.url, token, backend.url, stop, s3


def bench_creates(url: str, token: str, n: int, rounds: int = 10) -> None:
    provider, sdk = ProjectProvider(), LabelStudio(base_url=url, api_key=token)
    sdk.projects.list()  # warm the SDK's connection and the server before timing
    props = {"api_url": url, "api_token": token, "label_config": CONFIG, "description": "",
             "health_timeout_seconds": 60}
    made_by_provider: list[str] = []
    made_by_sdk: list[int] = []
    times: dict[str, list[float]] = {"provider": [], "sdk": []}
    per_round = max(1, n // rounds)
    for round_ in range(rounds):
        for kind in (("provider", "sdk") if round_ % 2 == 0 else ("sdk", "provider")):
            started = time.perf_counter()
            for i in range(per_round):
                title = f"Bench {kind} {round_}-{i}"
                if kind == "provider":
                    with contextlib.redirect_stderr(io.StringIO()):
                        made_by_provider.append(provider.create({**props, "title": title}).id)
                else:
                    made_by_sdk.append(int(sdk.projects.create(title=title, label_config=CONFIG).id or 0))
            times[kind].append(time.perf_counter() - started)
    total = {k: sum(v) for k, v in times.items()}
    count = per_round * rounds
    print(f"{count} project creates, {rounds} interleaved rounds")
    for kind in ("provider", "sdk"):
        print(f"  {kind:8}: {total[kind]:7.2f} s total, {1000 * total[kind] / count:6.1f} ms per create, "
              f"round median {statistics.median(times[kind]):.2f} s")
    print(f"  provider / sdk = {total['provider'] / total['sdk']:.3f}x  (target <= 1.1x)")
    with contextlib.redirect_stderr(io.StringIO()):
        for id_ in made_by_provider:
            provider.delete(id_, {**props, "title": "x"})
    for pk in made_by_sdk:
        sdk.projects.delete(id=pk)


def bench_calls(url: str, token: str) -> None:
    project, user = ProjectProvider(), UserProvider()
    props = {"api_url": url, "api_token": token, "title": "Bench calls", "label_config": CONFIG,
             "description": "", "quality": {"maximum_annotations": 2}, "health_timeout_seconds": 60}
    print("HTTP calls per operation (from the provider's JSON log lines)")
    _operation_calls("project", project, props, {**props, "description": "updated"})

    uprops = {"api_url": url, "api_token": token, "email": f"bench.{secrets.token_hex(3)}@example.com",
              "password": secrets.token_urlsafe(12), "first_name": "Bench", "health_timeout_seconds": 60}
    _operation_calls("user (password, invite signup)", user, uprops, {**uprops, "first_name": "Benched"})


def bench_link_calls(url: str, token: str, s3: Any) -> None:
    """Storages (import with its prefix marker, export) and a webhook, on a project of their own."""
    import boto3

    boto3.client("s3", endpoint_url=s3.endpoint, region_name=s3.region, aws_access_key_id=s3.access_key_id,
                 aws_secret_access_key=s3.secret_access_key).create_bucket(Bucket="bench-links")
    made, _ = calls_of(lambda: ProjectProvider().create({"api_url": url, "api_token": token, "title": "Bench links",
                                                         "label_config": CONFIG, "health_timeout_seconds": 60}))
    conn = {"api_url": url, "api_token": token, "project_id": int(made.id), "health_timeout_seconds": 60}
    storage = StorageProvider()
    for kind, extra in (("import", {"use_blob_urls": True, "sync_on_create": True, "create_prefix": True}),
                        ("export", {"can_delete_objects": False})):
        props = {**conn, "kind": kind, "bucket": "bench-links", "prefix": f"{kind}s/bench", "title": f"Bench {kind}",
                 "region_name": s3.region, "s3_endpoint": s3.endpoint, "access_key_id": s3.access_key_id,
                 "secret_access_key": s3.secret_access_key, **extra}
        _operation_calls(f"storage {kind}", storage, props, {**props, "title": f"Bench {kind} renamed"})
    hook = {**conn, "url": s3.endpoint + "/webhook-bench", "actions": ["TASKS_CREATED"],  # never called here
            "headers": {"Authorization": "Bearer bench"}, "send_payload": True, "is_active": True}
    _operation_calls("webhook", WebhookProvider(), hook, {**hook, "is_active": False})
    calls_of(lambda: ProjectProvider().delete(made.id, {**conn, "title": "x"}))


def _operation_calls(name: str, provider: Any, props: dict[str, Any], news: dict[str, Any]) -> None:
    """Create, no-op diff, read, update and delete one resource, printing the HTTP calls of each."""
    started = time.perf_counter()
    created, calls = calls_of(lambda: provider.create(props))
    print(f"  {name + ' create':19}: {len(calls)}  {calls}  ({1000 * (time.perf_counter() - started):.0f} ms)")
    diff, calls = calls_of(lambda: provider.diff(created.id, created.outs, props))
    print(f"  {name + ' no-op diff':19}: {len(calls)}  changes={diff.changes}  (target 0)")
    _, calls = calls_of(lambda: provider.read(created.id, created.outs))
    print(f"  {name + ' read':19}: {len(calls)}  {calls}  (target <= 1 GET)")
    _, calls = calls_of(lambda: provider.update(created.id, created.outs, news))
    print(f"  {name + ' update':19}: {len(calls)}  {calls}")
    # the state after an update: its outputs (an ML link's own webhook id among them) with the new inputs
    _, calls = calls_of(lambda: provider.delete(created.id, {**created.outs, **news}))
    print(f"  {name + ' delete':19}: {len(calls)}  {calls}")


def bench_ml_link_calls(url: str, token: str, ml_url: str) -> None:
    project, link = ProjectProvider(), MLBackendLinkProvider()
    with contextlib.redirect_stderr(io.StringIO()):
        made = project.create({"api_url": url, "api_token": token, "title": "Bench ML link", "label_config": CONFIG,
                               "health_timeout_seconds": 60})
    props = {"api_url": url, "api_token": token, "project_id": int(made.id), "url": ml_url, "title": "Bench model",
             "description": "", "is_interactive": False, "basic_auth_user": "",
             "basic_auth_pass": "",  # nosec B105 - no basic auth: the empty password means none
             "health_timeout_seconds": 60, "backend_wait_seconds": 60}
    # its create waits while Label Studio checks the backend's /health and /setup; delete removes its webhook
    _operation_calls("ML link", link, props, {**props, "title": "Bench model v2"})
    with contextlib.redirect_stderr(io.StringIO()):
        project.delete(made.id, {"api_url": url, "api_token": token})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100, help="project creates per client (default 100)")
    parser.add_argument("--url", help="an existing Label Studio (else one is started on loopback)")
    parser.add_argument("--token", help="its legacy API token (with --url)")
    parser.add_argument("--ml-url", help="an ML backend that Label Studio at --url may link (else no link figures)")
    args = parser.parse_args()
    stop: Callable[[], None] = lambda: None  # noqa: E731
    s3 = None
    if args.url:
        url, token, ml_url = args.url, args.token, args.ml_url
    else:
        print("starting PostgreSQL, a moto S3 server, Label Studio and the test ML backend ...", flush=True)
        url, token, ml_url, stop, s3 = start_label_studio()
    try:
        bench_calls(url, token)
        if s3 is not None:
            bench_link_calls(url, token, s3)
        else:
            print("  storage and webhook figures skipped: they need the Label Studio this script starts")
        if ml_url:
            bench_ml_link_calls(url, token, ml_url)
        bench_creates(url, token, args.n)
    finally:
        stop()


if __name__ == "__main__":
    main()
