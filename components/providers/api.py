"""The Label Studio API client every seed provider uses: one per provider operation, never stored.

What it does for its caller:
- authenticates with the bootstrap legacy token (`Authorization: Token <t>`) or a personal access
  token (a JWT refresh token: `POST /api/token/refresh/` once per operation, then `Bearer <access>`;
  a 401 mid-operation refreshes once more, since access tokens live five minutes);
- retries connection errors and 502/503/504 with capped exponential backoff, first waiting for
  `/health` to answer 200 (bounded by `health_timeout_seconds`). A healthy server costs no extra
  call: /health is only polled after a failure. Idempotent methods are simply repeated; a POST that
  may have reached the server is repeated only after `find_existing` found nothing (`create()`);
- logs one JSON line per HTTP call (request id per operation, method, path, status, duration);
- raises `LabelStudioError` with messages that never carry the token (scrubbed, also from bodies).

Usage inside a provider method:

    with LabelStudioApi.for_props(props, "labelstudio:Project", "read") as api:
        response = api.request("GET", f"/api/projects/{pk}/")
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import requests

from components.providers.common import as_int
from components.providers.logs import OperationLog, safe_url

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})  # PATCH: we send whole fields
RETRY_STATUSES = frozenset({502, 503, 504})
DEFAULT_HEALTH_TIMEOUT = 300.0
MAX_ATTEMPTS = 6  # per call, after which the last failure is reported
FIRST_DELAY, MAX_DELAY = 0.25, 8.0  # seconds: capped exponential backoff between attempts
CALL_TIMEOUT = 60.0  # one HTTP request
LEGACY_HINT = ("check api_token, and that legacy tokens are enabled "
               "(LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN=true on first boot)")
PAT_HINT = ("the personal access token was refused (revoked, or issued by another Label Studio); "
            "fix: create a new one in Account & Settings and set it as a secret")

Finder = Callable[["LabelStudioApi", float], "dict[str, Any] | None"]


class LabelStudioError(Exception):
    """Label Studio refused or could not serve a request; the message is safe to show."""


def is_jwt(token: str) -> bool:
    """A personal access token is a JWT (header.payload.signature); legacy tokens are hex strings."""
    parts = token.split(".")
    if len(parts) != 3:
        return False
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    except (ValueError, binascii.Error):
        return False
    return isinstance(header, dict) and "alg" in header


def _never_sent(error: requests.RequestException) -> bool:
    """True when the request cannot have reached the server (refused or timed out connecting)."""
    import requests  # imported when used: a plan declares resources and never calls HTTP
    if isinstance(error, requests.ConnectTimeout):
        return True
    text = repr(error)
    return isinstance(error, requests.ConnectionError) and (
        "NewConnectionError" in text or "Connection refused" in text or "NameResolutionError" in text)


class LabelStudioApi:
    """One operation's session with Label Studio. Not thread-safe; build one per method call."""

    def __init__(self, url: str, token: str, log: OperationLog, *,
                 health_timeout: float = DEFAULT_HEALTH_TIMEOUT) -> None:
        import requests  # imported when used: a plan declares resources and never calls HTTP
        self.base = url.rstrip("/")
        self.log = log
        self.health_timeout = health_timeout
        self._token = token
        self._jwt = is_jwt(token)
        self._access: str | None = None
        self._session = requests.Session()
        self._health_deadline: float | None = None  # one health budget per operation, however many waits
        self.calls = 0  # HTTP requests sent by this operation (for benchmarks and tests)

    @classmethod
    def for_props(cls, props: Mapping[str, Any], resource: str, op: str) -> LabelStudioApi:
        """From a resource's inputs: `api_url`, `api_token`, optional `health_timeout_seconds`."""
        timeout = as_int(props.get("health_timeout_seconds")) or DEFAULT_HEALTH_TIMEOUT
        return cls(str(props["api_url"]), str(props["api_token"]), OperationLog(resource, op),
                   health_timeout=float(timeout))

    def __enter__(self) -> LabelStudioApi:
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    # --- calls ----------------------------------------------------------------------------------

    def request(self, method: str, path: str, *, json: Any = None,
                params: Mapping[str, Any] | None = None) -> requests.Response:
        """An idempotent call, retried on connection errors and 502/503/504. Any status is returned."""
        method = method.upper()
        if method not in IDEMPOTENT:
            raise ValueError(f"{method} is not idempotent: use create() with a finder")
        return self._repeatable(method, path, json, params)

    def create(self, path: str, body: Any, find_existing: Finder) -> tuple[requests.Response | None,
                                                                           dict[str, Any] | None]:
        """POST `body`; never blindly repeated. Returns (response, None) or (None, adopted object).

        When a POST fails in a way that may have reached the server (dropped connection, 5xx from a
        proxy, timeout), `find_existing(api, sent_seconds_ago)` is asked for the object that POST
        may have made; found -> it is adopted, not created twice; not found -> the POST is repeated.
        """
        return self._with_retries("POST", path, body, None, repeatable=False, finder=find_existing)

    def post_once(self, path: str, body: Any = None) -> requests.Response:
        """A POST that is safe to repeat (e.g. a sync or a validation): retried like idempotent calls."""
        return self._repeatable("POST", path, body, None)

    def _repeatable(self, method: str, path: str, body: Any, params: Mapping[str, Any] | None,
                    ) -> requests.Response:
        response, _ = self._with_retries(method, path, body, params, repeatable=True)
        assert response is not None  # without a finder nothing is adopted
        return response

    def _with_retries(self, method: str, path: str, body: Any, params: Mapping[str, Any] | None, *,
                      repeatable: bool, finder: Finder | None = None,
                      ) -> tuple[requests.Response | None, dict[str, Any] | None]:
        import requests  # imported when used: a plan declares resources and never calls HTTP
        delay, last = FIRST_DELAY, ""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            sent = time.monotonic()
            reached = True
            try:
                response = self._send(method, path, body, params, attempt)
                if response.status_code not in RETRY_STATUSES:
                    return response, None
                last = f"HTTP {response.status_code}"
            except requests.RequestException as error:
                last, reached = type(error).__name__, not _never_sent(error)
            if attempt == MAX_ATTEMPTS:
                break
            time.sleep(delay)
            delay = min(delay * 2, MAX_DELAY)
            self.wait_healthy()
            if not repeatable and reached and finder is not None:
                found = self._adopt(finder, path, sent)
                if found is not None:
                    return None, found
        if not repeatable and reached and finder is not None:  # the last POST may have landed
            try:
                found = self._adopt(finder, path, sent)
            except LabelStudioError:
                found = None
            if found is not None:
                return None, found
        raise LabelStudioError(
            f"{method} {path} failed {MAX_ATTEMPTS} times (last: {last}); Label Studio at "
            f"{safe_url(self.base)} is unavailable or overloaded; run `pulumi up` again when it is healthy")

    def _adopt(self, finder: Finder, path: str, sent: float) -> dict[str, Any] | None:
        found = finder(self, time.monotonic() - sent)
        if found is not None:
            self.log.event("adopted", path=path, object_id=as_int(found.get("id")))
        return found

    def _send(self, method: str, path: str, body: Any, params: Mapping[str, Any] | None,
              attempt: int) -> requests.Response:
        response = self._once(method, path, body, params, attempt)
        if response.status_code == 401 and self._jwt and self._access is not None:
            self._access = None  # expired mid-operation: refresh once
            response = self._once(method, path, body, params, attempt)
        return response

    def _once(self, method: str, path: str, body: Any, params: Mapping[str, Any] | None,
              attempt: int) -> requests.Response:
        headers = {"Authorization": self._authorization(), "X-Request-ID": self.log.request_id}
        return self._raw(method, path, headers=headers, json=body, params=params, attempt=attempt)

    def browser(self, session: requests.Session, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A call as a browser makes it (own cookie session, no API token), logged, never retried."""
        return self._raw(method, path, session=session, allow_redirects=False, **kwargs)

    def _raw(self, method: str, path: str, *, attempt: int = 1, timeout: float = CALL_TIMEOUT,
             session: requests.Session | None = None, **kwargs: Any) -> requests.Response:
        import requests  # imported when used: a plan declares resources and never calls HTTP
        started = time.monotonic()
        self.calls += 1
        try:
            response = (session or self._session).request(method, self.base + path, timeout=timeout, **kwargs)
        except requests.RequestException as error:
            self.log.call(method, path, None, started, attempt=attempt, error=type(error).__name__)
            raise
        self.log.call(method, path, response.status_code, started, attempt=attempt)
        return response

    def _authorization(self) -> str:
        if not self._jwt:
            return f"Token {self._token}"
        if self._access is None:
            self._access = self._refresh()
        return f"Bearer {self._access}"

    def _refresh(self) -> str:
        """Trade the personal access token (a refresh JWT) for a short-lived access token."""
        import requests  # imported when used: a plan declares resources and never calls HTTP
        delay = FIRST_DELAY
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                response = self._raw("POST", "/api/token/refresh/", json={"refresh": self._token},
                                     attempt=attempt)
                if response.status_code not in RETRY_STATUSES:
                    break
            except requests.RequestException:
                if attempt == MAX_ATTEMPTS:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, MAX_DELAY)
            self.wait_healthy()
        access = response.json().get("access") if response.status_code == 200 else None
        if not isinstance(access, str):
            raise LabelStudioError(f"Label Studio refused the personal access token "
                                   f"(HTTP {response.status_code}); {PAT_HINT}")
        return access

    def read_object(self, path: str, what: str, id_field: str, pk: int,
                    refused: Callable[[str, requests.Response], Exception] | None = None) -> dict[str, Any] | None:
        """GET one object: its JSON, or None when Label Studio no longer has it (logged as `gone`).
        Any other answer than 200 raises `refused(action, response)` (default: `refusal`)."""
        response = self.request("GET", path)
        if response.status_code == 404:
            self.log.event("gone", **{id_field: pk})
            return None
        if response.status_code != 200:
            raise (refused or self.refusal)(f"read {what} {pk}", response)
        found: dict[str, Any] = response.json()
        return found

    def delete_object(self, path: str, what: str, id_field: str, pk: int) -> None:
        """DELETE one object; already gone (404) is done too. Logged as `deleted` or `already_gone`."""
        response = self.request("DELETE", path)
        if response.status_code not in (200, 204, 404):
            raise self.refusal(f"delete {what} {pk}", response)
        self.log.event("deleted" if response.status_code != 404 else "already_gone", **{id_field: pk})

    def report_drift(self, id_field: str, pk: int, fields: Sequence[str]) -> None:
        """Log which managed fields differ in Label Studio from the state (refresh shows them)."""
        if fields:
            self.log.event("drift", **{id_field: pk}, fields=",".join(fields))

    # --- health ---------------------------------------------------------------------------------

    def wait_healthy(self) -> None:
        """Poll /health until 200, backing off; a readable error once this operation has waited
        `health_timeout` seconds in all (so retries of several calls cannot add up beyond it)."""
        import requests  # imported when used: a plan declares resources and never calls HTTP
        if self._health_deadline is None:
            self._health_deadline = time.monotonic() + self.health_timeout
        deadline = self._health_deadline
        delay, last = FIRST_DELAY, "no answer"
        while True:
            try:
                status = self._raw("GET", "/health", timeout=10).status_code
                if status == 200:
                    return
                last = f"HTTP {status}"
            except requests.RequestException as error:
                last = type(error).__name__
            if time.monotonic() + delay > deadline:
                raise LabelStudioError(
                    f"Label Studio at {safe_url(self.base)} was not healthy within "
                    f"{self.health_timeout:.0f}s (last: {last}); check that it runs and is reachable "
                    "from where `pulumi up` runs, or raise health_timeout_seconds")
            time.sleep(delay)
            delay = min(delay * 2, MAX_DELAY / 2)

    # --- answers --------------------------------------------------------------------------------

    def server_now(self, response: requests.Response) -> datetime | None:
        """The server's clock from a response's Date header (to match objects it just made)."""
        date = response.headers.get("Date")
        try:
            return email.utils.parsedate_to_datetime(date) if date else None
        except (TypeError, ValueError):
            return None

    def refusal(self, action: str, response: requests.Response, hide: Iterable[Any] = ()) -> LabelStudioError:
        """A readable error from a Label Studio answer; the token never appears in it, nor any value
        in `hide` (other secrets of the request, which Label Studio may echo, e.g. refused headers)."""
        try:
            body = response.json()
        except ValueError:
            body = {}
        reason = ""
        errors = body.get("validation_errors") if isinstance(body, dict) else None
        if isinstance(errors, dict) and errors:
            reason = "; ".join(f"{field}: {' '.join(map(str, v)) if isinstance(v, list) else v}"
                               for field, v in errors.items())
        elif isinstance(body, dict) and body.get("detail"):
            reason = str(body["detail"])
        elif isinstance(body, dict) and body:
            reason = "; ".join(f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}"
                               for k, v in body.items())
        if response.status_code in (401, 403):
            reason = (reason or "token rejected") + "; " + (PAT_HINT if self._jwt else LEGACY_HINT)
        return LabelStudioError(self.scrub(f"Label Studio refused to {action} (HTTP {response.status_code}): "
                                           f"{reason[:800] or response.reason}", hide))

    def scrub(self, text: str, hide: Iterable[Any] = ()) -> str:
        for secret in (self._token, self._access, *hide):
            if isinstance(secret, str) and len(secret) >= 4:
                text = text.replace(secret, "***")
        return text


def created_since(item: Mapping[str, Any], now: datetime | None, seconds_ago: float) -> bool:
    """Did the server create `item` at most `seconds_ago` (+ slack) before its clock read `now`?"""
    created = item.get("created_at") or item.get("date_joined")
    if now is None or not isinstance(created, str):
        return True  # cannot tell: let the other criteria decide
    try:
        when = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return True
    if when.tzinfo is None:
        return True
    return when >= now - timedelta(seconds=seconds_ago + 2)  # Date has 1 s resolution
