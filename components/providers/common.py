"""What every dynamic provider here shares: the preview sentinel, number handling, logged HTTP.

Providers are pickled by module reference and share one object across the engine's worker
threads, so nothing here keeps state: each call builds what it needs and lets it go.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests
from pulumi.output import Unknown

from components.providers.logs import OperationLog, safe_url

# An input not yet known during preview: the wire sentinel. The dynamic provider server hands
# check() and diff() a `pulumi.output.Unknown` instead (pulumi 3.272); both are handled.
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def is_known(value: Any) -> bool:
    """False for an unknown preview value, also when it is nested in a list or dict."""
    if isinstance(value, Unknown) or value == UNKNOWN:
        return False
    if isinstance(value, dict):
        return all(is_known(v) for v in value.values())
    if isinstance(value, list | tuple):
        return all(is_known(v) for v in value)
    return True


def as_int(value: Any) -> int | None:
    """Whole numbers arrive from the engine as floats (protobuf Struct); bools are not numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(value)


def http_call(log: OperationLog, method: str, url: str, *, headers: dict[str, str] | None = None,
              json: dict[str, Any] | None = None, timeout: float = 60) -> requests.Response:
    """One HTTP request, logged, never retried (a repeated POST could create a duplicate)."""
    started = time.monotonic()
    try:
        response = requests.request(method, url, headers=headers, json=json, timeout=timeout)
    except requests.RequestException as error:
        log.call(method, url, None, started, error=type(error).__name__)
        raise
    log.call(method, url, response.status_code, started)
    return response


def wait_until_answers(log: OperationLog, url: str, timeout: float,
                       accept: Callable[[int], bool]) -> None:
    """Poll `url` until its status is accepted; raise a readable TimeoutError after `timeout` s."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while True:
        try:
            status = http_call(log, "GET", url, timeout=10).status_code
            if accept(status):
                return
            last = f"HTTP {status}"
        except requests.RequestException as error:
            last = type(error).__name__
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{safe_url(url)} did not answer within {timeout:.0f}s (last: {last}); "
                               "check that it is running and reachable from where `pulumi up` runs")
        time.sleep(2)
