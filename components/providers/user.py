"""A Label Studio user (a member of the organization) as a Pulumi dynamic resource.

Label Studio 1.23.2 facts this follows:
- `POST /api/users/` silently drops a password, so a user given one signs up the way a person
  does: the organization's invite link (`GET /api/invite`), then the signup form (CSRF cookie and
  token from the form page, a fresh cookie session, no API token). The password is the initial
  one: Label Studio has no HTTP API to change another user's password, so later changes to it are
  not applied (users change it themselves, admins with `label-studio reset_password`).
- The email is read-only once created (a new email is a new user: replace); username and names
  update in place by PATCH.
- Delete removes the membership (a soft delete that keeps the user's annotations). A removed
  member cannot be re-added over HTTP; read reports it as gone.
Logs carry user ids only: never an email, name or password.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pulumi
from pulumi import Input, ResourceOptions
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

if TYPE_CHECKING:
    pass

from components.providers.api import MAX_ATTEMPTS, RETRY_STATUSES, LabelStudioApi, LabelStudioError
from components.providers.common import checkable, connection_failures, is_known

RESOURCE = "labelstudio:User"
PROFILE = ("username", "first_name", "last_name")  # updated in place
REPLACES = ("api_url", "email")
INPUTS = ("api_url", "api_token", "health_timeout_seconds", "email", "password", *PROFILE)
PASSWORD_LENGTH = (8, 128)  # Label Studio's AUTH_PASSWORD_MIN_LENGTH / MAX_LENGTH
NAME_LENGTH = 256  # username, first and last name columns
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_FIELD_ERRORS = re.compile(r'<ul class="field_errors">(.*?)</ul>', re.DOTALL)
_ITEM = re.compile(r"<li>\s*(.*?)\s*</li>", re.DOTALL)


def input_failures(news: Mapping[str, Any]) -> list[CheckFailure]:
    failures = connection_failures(news)

    def known(key: str) -> bool:
        return checkable(news, key)

    if news.get("email") is None:
        failures.append(CheckFailure("email", "email is required"))
    elif known("email") and (not isinstance(news["email"], str) or not news["email"]):
        failures.append(CheckFailure("email", "email must be a non-empty string"))
    if known("email") and isinstance(news["email"], str) and not EMAIL.fullmatch(news["email"]):
        failures.append(CheckFailure("email", "email must look like name@example.com"))
    for key in PROFILE:
        if known(key) and (not isinstance(news[key], str) or len(news[key]) > NAME_LENGTH):
            failures.append(CheckFailure(key, f"{key} must be text of at most {NAME_LENGTH} characters"))
    if known("password"):
        low, high = PASSWORD_LENGTH
        if not isinstance(news["password"], str) or not low <= len(news["password"]) <= high:
            failures.append(CheckFailure("password", f"password must be {low} to {high} characters long "
                                                     "(Label Studio's rule); the value is not shown"))
    return failures


def _profile(props: Mapping[str, Any]) -> dict[str, Any]:
    return {k: props[k] for k in PROFILE if props.get(k) is not None}


def _outputs(props: Mapping[str, Any], user_id: int) -> dict[str, Any]:
    return {**{k: props[k] for k in INPUTS if k in props}, "user_id": user_id}


def _find_by_email(api: LabelStudioApi, email: str) -> dict[str, Any] | None:
    """`/api/users/` lists every user of the organization, removed ones too; not paginated in 1.23."""
    response = api.request("GET", "/api/users/")
    if response.status_code != 200:
        raise api.refusal("list users", response)
    wanted = email.strip().lower()  # Label Studio stores emails lowercased
    return next((u for u in response.json() if str(u.get("email", "")).lower() == wanted), None)


def _gone(live: Mapping[str, Any]) -> bool:
    """No API shows a removed membership; removal clears `active_organization`, which this
    provider always sets on create (`POST /api/users/` leaves it empty; signup sets it)."""
    return live.get("active_organization") is None


def _organization(api: LabelStudioApi) -> int:
    whoami = api.request("GET", "/api/current-user/whoami")
    if whoami.status_code != 200:
        raise api.refusal("read the organization of the seeding user", whoami)
    return int(whoami.json()["active_organization"])


def _signed_up(api: LabelStudioApi, email: str, password: str) -> dict[str, Any]:
    """Sign up through the invite link until the user exists; never twice once one landed.

    The form POST is not idempotent: after a dropped connection or a 5xx it looks for the user
    (by email) before trying again, like `LabelStudioApi.create` does for API creates.
    """
    import requests  # imported when used: a plan declares resources and never calls HTTP
    last = ""
    for _ in range(MAX_ATTEMPTS):
        try:
            if _signup(api, email, password):
                break
            last = "HTTP 5xx"
        except requests.RequestException as error:
            last = type(error).__name__
        api.wait_healthy()
        found = _find_by_email(api, email)
        if found is not None:
            api.log.event("adopted", user_id=int(found["id"]))
            return found
    found = _find_by_email(api, email)
    if found is None:
        raise LabelStudioError(f"the signup did not create the user (last: {last or 'no user'}); "
                               "run `pulumi up` again when Label Studio is healthy")
    return found


def _signup(api: LabelStudioApi, email: str, password: str) -> bool:
    """Make the user through the invite link, as a person would; the password is never logged.

    True when the form was accepted, False on a 5xx (try again); raises on a refusal."""
    import requests  # imported when used: a plan declares resources and never calls HTTP
    invite = api.request("GET", "/api/invite")
    if invite.status_code != 200:
        raise api.refusal("hand out an invite link", invite)
    link = str(invite.json()["invite_url"])
    with requests.Session() as browser:
        form = api.browser(browser, "GET", link)
        if form.status_code in RETRY_STATUSES:
            return False
        csrf = browser.cookies.get("csrftoken")
        if form.status_code != 200 or not csrf:
            raise LabelStudioError(f"the signup page answered HTTP {form.status_code} without a CSRF "
                                   "cookie; check LABEL_STUDIO_HOST and CSRF_TRUSTED_ORIGINS")
        page = api.base + link
        done = api.browser(browser, "POST", link, data={"email": email, "password": password,
                                                        "csrfmiddlewaretoken": csrf},
                           headers={"Referer": page, "Origin": api.base})
    if done.status_code in (301, 302, 303):
        return True
    if done.status_code in RETRY_STATUSES:
        return False
    if done.status_code == 403:
        raise LabelStudioError("Label Studio refused the signup form (HTTP 403, CSRF); check that api_url is "
                               "the URL Label Studio knows itself by (LABEL_STUDIO_HOST, CSRF_TRUSTED_ORIGINS)")
    if "already exists" in done.text:
        raise _removed_member()  # not in /api/users/ (checked before), yet its email is taken
    reasons = [" ".join(re.sub(r"<[^>]+>", "", item).split())
               for block in _FIELD_ERRORS.findall(done.text) for item in _ITEM.findall(block)]
    reason = ("; ".join(reasons)[:400] or "no reason given").replace(password, "***")
    raise LabelStudioError(api.scrub(
        f"Label Studio refused the signup (HTTP {done.status_code}): {reason}; check the email and password rules"))


def _removed_member() -> LabelStudioError:
    return LabelStudioError(
        "a user with this email exists in Label Studio but is no longer a member of the organization "
        "(removed earlier, or made over the API without one), and Label Studio cannot re-add a removed "
        "member over HTTP; fix: give another email, or delete that user for good in Label Studio's "
        "admin first")


class UserProvider(ResourceProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, input_failures(news))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """From state alone. The password is the initial one: a change to it is not an update."""
        def differs(key: str) -> bool:
            old, new = olds.get(key), news.get(key)
            if key == "email" and isinstance(old, str) and isinstance(new, str):
                return old.strip().lower() != new.strip().lower()
            return old != new

        keys = [k for k in INPUTS if k != "password"]
        changed = [k for k in keys if not is_known(news.get(k)) or differs(k)]
        replaces = [k for k in REPLACES if k in changed and is_known(news.get(k))]
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False,
                          stables=[k for k in REPLACES if k not in changed])

    def create(self, props: dict[str, Any]) -> CreateResult:
        email = str(props["email"])
        with LabelStudioApi.for_props(props, RESOURCE, "create") as api:
            existing = _find_by_email(api, email)
            if existing is not None and _gone(existing):
                raise _removed_member()
            if existing is None and props.get("password"):
                existing = _signed_up(api, email, str(props["password"]))
            elif existing is None:
                # username as signup makes it; the organization in the same POST, so no user is ever
                # left without one (which is how a removed member looks)
                body = {"email": email, "username": email.split("@")[0], **_profile(props),
                        "active_organization": _organization(api)}
                response, adopted = api.create("/api/users/", body, lambda a, _s: _find_by_email(a, email))
                if response is not None and response.status_code == 400 and "already exists" in response.text:
                    raise _removed_member()
                if response is not None and response.status_code != 201:
                    raise api.refusal("create the user", response)
                existing = adopted if adopted is not None else response.json()  # type: ignore[union-attr]
            else:
                api.log.event("adopted", user_id=int(existing["id"]))
            user_id = int(existing["id"])
            profile = _profile(props)
            if existing.get("active_organization") is None:
                profile["active_organization"] = _organization(api)
            if any(existing.get(k) != v for k, v in profile.items()):
                response = api.request("PATCH", f"/api/users/{user_id}/", json=profile)
                if response.status_code != 200:
                    raise api.refusal(f"set the profile of user {user_id}", response)
            api.log.event("created", user_id=user_id)
        return CreateResult(str(user_id), _outputs(props, user_id))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with LabelStudioApi.for_props(props, RESOURCE, "read") as api:
            response = api.request("GET", f"/api/users/{int(id_)}/")
            if response.status_code == 404 or (response.status_code == 200 and _gone(response.json())):
                api.log.event("gone", user_id=int(id_))  # deleted, or removed from the organization
                return ReadResult("", {})
            if response.status_code != 200:
                raise api.refusal(f"read user {int(id_)}", response)
            live = response.json()
        outs = _outputs(props, int(id_))
        if str(live.get("email", "")).lower() != str(props.get("email", "")).strip().lower():
            outs["email"] = live.get("email")
        for key in PROFILE:
            if key in props and props[key] is not None:
                outs[key] = live.get(key) or ""
        return ReadResult(id_, outs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        profile = _profile(news)
        with LabelStudioApi.for_props(news, RESOURCE, "update") as api:
            if any(olds.get(k) != news.get(k) for k in PROFILE) and profile:
                response = api.request("PATCH", f"/api/users/{int(id_)}/", json=profile)
                action = f"update user {int(id_)}"
            elif olds.get("api_token") != news.get("api_token"):
                response = api.request("GET", f"/api/users/{int(id_)}/")
                action = f"read user {int(id_)} with the new token"
            else:
                return UpdateResult(_outputs(news, int(id_)))
            if response.status_code != 200:
                raise api.refusal(action, response)
        return UpdateResult(_outputs(news, int(id_)))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Remove the membership (soft delete): the user's annotations stay in their projects."""
        pk = int(id_)
        with LabelStudioApi.for_props(props, RESOURCE, "delete") as api:
            user = api.request("GET", f"/api/users/{pk}/")
            if user.status_code == 404 or (user.status_code == 200 and _gone(user.json())):
                api.log.event("already_gone", user_id=pk)
                return
            if user.status_code != 200:
                raise api.refusal(f"read user {pk} before removing it", user)
            org = int(user.json()["active_organization"])
            response = api.request("DELETE", f"/api/organizations/{org}/memberships/{pk}/")
            if response.status_code not in (204, 404):  # 404: "Member not found", removed already
                raise api.refusal(f"remove user {pk} from organization {org}", response)
            api.log.event("deleted" if response.status_code == 204 else "already_gone", user_id=pk)


class User(pulumi.dynamic.Resource, module="labelstudio", name="User"):
    """A member of the Label Studio organization; `user_id` is its id. Token and password are secret."""

    user_id: pulumi.Output[int]
    api_url: pulumi.Output[str]
    email: pulumi.Output[str]
    username: pulumi.Output[str | None]
    first_name: pulumi.Output[str | None]
    last_name: pulumi.Output[str | None]
    health_timeout_seconds: pulumi.Output[int]

    def __init__(self, resource_name: str, *, api_url: Input[str], api_token: Input[str],
                 email: Input[str], password: Input[str] | None = None, username: Input[str] | None = None,
                 first_name: Input[str] | None = None, last_name: Input[str] | None = None,
                 health_timeout_seconds: Input[int] = 300, opts: ResourceOptions | None = None) -> None:
        props: dict[str, Any] = {
            "api_url": api_url, "api_token": pulumi.Output.secret(api_token), "email": email,
            "password": pulumi.Output.secret(password) if password is not None else None,
            "username": username, "first_name": first_name, "last_name": last_name,
            "health_timeout_seconds": health_timeout_seconds, "user_id": None,
        }
        secret = ResourceOptions(additional_secret_outputs=["api_token", "password"])
        super().__init__(UserProvider(), resource_name, props, ResourceOptions.merge(opts, secret))
