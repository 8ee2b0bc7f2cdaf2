"""What every dynamic provider here shares: the preview sentinel, number handling, logged HTTP.

Providers are pickled by module reference and share one object across the engine's worker
threads, so nothing here keeps state: each call builds what it needs and lets it go.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pulumi.dynamic import CheckFailure
from pulumi.output import Unknown

if TYPE_CHECKING:
    import requests

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


def checkable(news: Mapping[str, Any], key: str) -> bool:
    """check() can judge `news[key]`: it is given, and not itself an unknown preview value. A list
    or mapping may still hold unknowns: the checks of such inputs skip them item by item, so the
    known items are checked at preview too (and a container where a scalar belongs is refused)."""
    value = news.get(key)
    return value is not None and not isinstance(value, Unknown) and value != UNKNOWN


def url_error(error: ValueError) -> str:
    """urlsplit's complaint without the text it quotes, which may be a password: `https://u:pw/x@h`
    splits into the host `u` and the port `pw` ("Port could not be cast to integer value as 'pw'")."""
    return re.sub(r"\s*(?:as\s+)?(['\"]).*?\1\s*", " ", str(error)).strip()


def url_problem(value: Any) -> str | None:
    """Why `value` is not an http(s) URL with a host, or None; never raises (urlsplit does, on an
    unbalanced '[' or a bad port)."""
    if not isinstance(value, str):
        return "must be an http:// or https:// URL"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as error:
        return f"is not a valid URL ({url_error(error)})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http:// or https:// URL"
    return None


def connection_failures(news: Mapping[str, Any],
                        api_url_problem: Callable[[str], str | None] = url_problem) -> list[CheckFailure]:
    """What every Label Studio resource needs to reach the API: api_url, api_token, and the
    optional health_timeout_seconds (how long to wait for Label Studio to answer)."""
    failures: list[CheckFailure] = []
    for key in ("api_url", "api_token"):
        if news.get(key) is None:
            failures.append(CheckFailure(key, f"{key} is required"))
        elif checkable(news, key) and (not isinstance(news[key], str) or not news[key]):
            failures.append(CheckFailure(key, f"{key} must be a non-empty string"))
    if checkable(news, "api_url") and isinstance(news["api_url"], str) and news["api_url"]:
        problem = api_url_problem(news["api_url"])
        if problem:
            failures.append(CheckFailure("api_url", f"api_url {problem}"))
    if checkable(news, "health_timeout_seconds"):
        timeout = as_int(news["health_timeout_seconds"])
        if timeout is None or not 1 <= timeout <= 3600:
            failures.append(CheckFailure("health_timeout_seconds", "health_timeout_seconds must be 1 to 3600"))
    return failures


def is_latin1(text: str) -> bool:
    """HTTP header values (and so HTTP Basic credentials) carry Latin-1 only: requests encodes
    them so, and raises UnicodeEncodeError on anything else, on every call."""
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
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
    import requests  # imported when used: a plan declares resources and never calls HTTP
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
    import requests  # imported when used: a plan declares resources and never calls HTTP
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
