"""The shared Label Studio API client's pure parts: token kinds, scrubbed errors, what counts as
"just created", and that a non-idempotent call cannot be sent through the retrying path."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
import requests

from components.providers.api import LabelStudioApi, created_since, is_jwt
from components.providers.logs import OperationLog


def jwt(payload: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(payload)}.c2lnbmF0dXJl"


def test_token_kinds() -> None:
    assert is_jwt(jwt({"token_type": "refresh", "user_id": "1"}))
    assert not is_jwt("0123456789abcdef0123456789abcdef01234567")  # a legacy token
    assert not is_jwt("a.b.c") and not is_jwt("ls-test-token-6f1d2c")


def response(status: int, body: object) -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    answer._content = json.dumps(body).encode()
    return answer


def test_refusals_name_the_cause_and_never_the_token() -> None:
    token = "legacy-token-0123456789"
    api = LabelStudioApi("http://127.0.0.1:1", token, OperationLog("labelstudio:Test", "test"))
    echoed = api.refusal("create the project", response(400, {"validation_errors": {"title": [f"bad {token}"]}}))
    assert str(echoed) == "Label Studio refused to create the project (HTTP 400): title: bad ***"
    denied = api.refusal("read project 1", response(401, {"detail": "Invalid token."}))
    assert "(HTTP 401): Invalid token.; check api_token" in str(denied) and "LEGACY_API_TOKEN" in str(denied)
    pat = LabelStudioApi("http://127.0.0.1:1", jwt({"user_id": "1"}), OperationLog("labelstudio:Test", "test"))
    assert "personal access token was refused" in str(pat.refusal("read project 1", response(401, {})))
    with pytest.raises(ValueError, match="POST is not idempotent: use create"):
        api.request("POST", "/api/projects/")


def test_created_since_uses_the_server_clock() -> None:
    now = datetime(2026, 12, 4, 5, 0, 10, tzinfo=UTC)
    assert created_since({"created_at": "2026-12-04T05:00:05.123Z"}, now, 6)
    assert not created_since({"created_at": "2026-12-04T04:59:00Z"}, now, 6)  # an older twin
    assert created_since({"created_at": "2026-12-04T04:59:00Z"}, None, 6)  # no clock: other checks decide
