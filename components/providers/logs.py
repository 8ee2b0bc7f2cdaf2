"""Structured provider logs: one JSON line on stderr per HTTP/S3 call, one request id per operation.

Only ids, methods, paths (never a query string), statuses and timings are logged: no token, key,
title, e-mail or body ever reaches a log line, so callers cannot leak one by accident.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

LogValue = str | int | float | bool | None


@dataclass(frozen=True)
class OperationLog:
    """The log of one provider operation (create, read, ...) on one resource type."""

    resource: str
    op: str
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def event(self, event: str, **fields: LogValue) -> None:
        record: dict[str, LogValue] = {
            "ts": round(time.time(), 3), "request_id": self.request_id, "op": self.op,
            "resource": self.resource, "event": event, **fields,
        }
        # One write per line so lines from the engine's worker threads never interleave.
        sys.stderr.write(json.dumps(record, sort_keys=True) + "\n")
        sys.stderr.flush()

    def call(self, method: str, url_or_path: str, status: int | None, started: float,
             **fields: LogValue) -> None:
        """Record one finished HTTP/S3 call; `started` is a `time.monotonic()` value."""
        self.event("call", method=method.upper(), path=path_only(url_or_path), status=status,
                   duration_ms=round((time.monotonic() - started) * 1000, 1), **fields)

    def watch_boto3(self, client: Any) -> None:
        """Log every call the given boto3 client makes (operation, method, path, status, time)."""
        events = client.meta.events
        events.register("before-call", _before_call)
        events.register("request-created", _request_created)
        events.register("after-call", lambda **kw: self._after_call(**kw))
        events.register("after-call-error", lambda **kw: self._after_call_error(**kw))

    def _after_call(self, *, http_response: Any, model: Any, context: dict[str, Any],
                    **_: Any) -> None:
        self.call(model.http["method"], context.get("log_path", ""),
                  int(http_response.status_code), context.get("log_started", time.monotonic()),
                  operation=model.name)

    def _after_call_error(self, *, exception: BaseException, context: dict[str, Any],
                          **_: Any) -> None:
        self.call(context.get("log_method", ""), context.get("log_path", ""), None,
                  context.get("log_started", time.monotonic()),
                  operation=context.get("log_operation"), error=type(exception).__name__)


def _before_call(*, model: Any, context: dict[str, Any], **_: Any) -> None:
    context["log_started"] = time.monotonic()
    context["log_method"] = model.http["method"]
    context["log_operation"] = model.name


def _request_created(*, request: Any, **_: Any) -> None:
    request.context["log_path"] = path_only(request.url)  # the real path, bucket included


def path_only(url_or_path: str) -> str:
    """The path of a URL, without scheme, host, query string or fragment."""
    return urlsplit(url_or_path).path or "/"


def safe_url(url: str) -> str:
    """A URL fit for an error message: no user info, query string or fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return f"{parts.scheme}://{netloc}{parts.path}" if parts.scheme else path_only(url)
