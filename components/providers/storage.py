"""A Label Studio S3 storage of a project, import (tasks from a bucket) or export (annotations to it),
as a Pulumi dynamic resource.

Label Studio 1.23.2 facts this follows (measured; io_storages/s3):
- import storages: `/api/storages/s3/`, detail `/api/storages/s3/<id>`; export storages:
  `/api/storages/export/s3`, detail `/api/storages/export/s3/<id>`; `<detail>/sync` syncs and
  answers when done (no job queue in the Community edition). Creating an export storage also syncs
  it (SYNC_ON_TARGET_STORAGE_CREATION defaults to true).
- the server checks the connection on create and on every PATCH that carries the bucket: an import
  prefix holding no object answers HTTP 500 with no reason, so the provider first makes a folder
  marker `<prefix>/` there (`create_prefix`, see providers/s3.py), from where `pulumi up` runs.
- credentials are write-only: the API never shows them, so they cannot drift-check; every PATCH
  sends them. SSRF protection refuses endpoints on private addresses (HTTP 403).
- deleting a storage keeps the bucket's objects and the tasks it imported.
Label Studio calls log ids only (never a title); the prefix marker's S3 calls log their path (bucket and
key), as the media bucket's do; no credential is ever logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi import Input, ResourceOptions
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult

from components.providers import storage_inputs as inputs
from components.providers.api import Finder, LabelStudioApi, LabelStudioError, created_since
from components.providers.common import as_int, is_known
from components.providers.s3 import ensure_prefix_marker, s3_client

RESOURCE = "labelstudio:Storage"
_HINT_500 = ("Label Studio's S3 check failed without a reason; check that the bucket exists, that the "
             "endpoint, region and credentials are right and reachable from Label Studio, and that an import "
             "prefix holds an object (create_prefix does that)")


def collection(kind: str) -> str:
    return "/api/storages/s3/" if kind == "import" else "/api/storages/export/s3"


def detail(kind: str, pk: int) -> str:
    return f"/api/storages/s3/{pk}" if kind == "import" else f"/api/storages/export/s3/{pk}"


def find_created(props: Mapping[str, Any]) -> Finder:
    """The storage a POST that may have landed made: same project, kind, bucket, prefix and title,
    created by the server since that POST was sent (its own clock)."""
    wanted = inputs.payload(props)

    def find(api: LabelStudioApi, seconds_ago: float) -> dict[str, Any] | None:
        response = api.request("GET", collection(str(props["kind"])), params={"project": wanted["project"]})
        if response.status_code != 200:
            raise api.refusal("look for a storage the last attempt may have created", response)
        now = api.server_now(response)
        matches = [s for s in response.json()
                   if all((s.get(k) or None) == wanted[k] for k in ("bucket", "prefix", "title", "s3_endpoint"))
                   and created_since(s, now, seconds_ago)]
        return max(matches, key=lambda s: int(s["id"])) if matches else None
    return find


def _api(props: Mapping[str, Any], op: str) -> LabelStudioApi:
    return LabelStudioApi.for_props(props, RESOURCE, op)


def _ensure_prefix(api: LabelStudioApi, props: Mapping[str, Any]) -> None:
    """An import prefix must hold an object before Label Studio accepts the storage."""
    if props["kind"] != "import" or not props.get("prefix") or props.get("create_prefix") is False:
        return
    endpoint = str(props.get("admin_endpoint") or props.get("s3_endpoint") or "")
    client = s3_client(api.log, endpoint=endpoint, region=props.get("region_name"),
                       access_key_id=props.get("access_key_id"), secret_access_key=props.get("secret_access_key"),
                       session_token=props.get("session_token"))
    ensure_prefix_marker(client, api.log, str(props["bucket"]), str(props["prefix"]), endpoint)


def _refused(api: LabelStudioApi, action: str, response: Any, props: Mapping[str, Any]) -> LabelStudioError:
    """A readable refusal, keys masked like the token; a bare 500 gets its likely causes."""
    error = api.refusal(action, response, hide=[props.get(k) for k in inputs.CREDENTIALS])
    return LabelStudioError(f"{error}; {_HINT_500}") if response.status_code == 500 else error


class StorageProvider(ResourceProvider):
    """Stateless: everything an operation needs arrives in its arguments."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """The inputs as stored (a prefix without surrounding '/') and every problem with them."""
        normal = inputs.normalised(news)
        return CheckResult(normal, inputs.input_failures(normal))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """From state alone: another server, project or kind replaces; the rest updates in place
        (location, credentials, filters, flags by one PATCH; the token and provider-only settings in
        the state). A replacing input not yet known in preview shows as an update."""
        changed = inputs.changed_inputs(olds, news)
        replaces = [k for k in inputs.REPLACES if k in changed and is_known(news.get(k))]
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False,
                          stables=[k for k in inputs.REPLACES if k not in changed])

    def create(self, props: dict[str, Any]) -> CreateResult:
        kind = str(props["kind"])
        with _api(props, "create") as api:
            _ensure_prefix(api, props)
            response, adopted = api.create(collection(kind), inputs.payload(props), find_created(props))
            if response is not None and response.status_code != 201:
                raise _refused(api, f"create the {kind} storage", response, props)
            made = adopted if adopted is not None else response.json()  # type: ignore[union-attr]
            pk = int(made["id"])
            api.log.event("created", storage_id=pk, adopted=adopted is not None)
            if props.get("sync_on_create"):
                synced = api.post_once(detail(kind, pk) + "/sync")  # a repeated sync adds nothing twice
                if synced.status_code != 200:
                    raise _refused(api, f"sync {kind} storage {pk} (it exists; run `pulumi up` again or "
                                   "sync it in Label Studio)", synced, props)
                api.log.event("synced", storage_id=pk, count=as_int(synced.json().get("last_sync_count")))
        return CreateResult(str(pk), inputs.outputs(props, pk))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        pk = int(id_)
        with _api(props, "read") as api:
            found = api.read_object(detail(str(props["kind"]), pk), "storage", "storage_id", pk)
            if found is None:
                return ReadResult("", {})  # an empty id tells the engine the storage no longer exists
            live = inputs.live_outputs(props, found)
            api.report_drift("storage_id", pk, inputs.drift(props, live))
        return ReadResult(id_, live)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        pk, kind = int(id_), str(news["kind"])
        with _api(news, "update") as api:
            changes = inputs.api_changes(olds, news)
            if changes:
                if set(changes) & set(inputs.LOCATION):  # a new place must hold an object first
                    _ensure_prefix(api, news)
                response = api.request("PATCH", detail(kind, pk), json=inputs.payload(news))
                action = f"update storage {pk}"
            elif olds.get("api_token") != news.get("api_token"):  # prove the new token reaches it
                response = api.request("GET", detail(kind, pk))
                action = f"read storage {pk} with the new token"
            else:  # sync_on_create, create_prefix, admin_endpoint, timeout: state only
                return UpdateResult(inputs.outputs(news, pk))
            if response.status_code == 404:
                raise LabelStudioError(f"storage {pk} no longer exists in Label Studio; "
                                       "fix: run `pulumi refresh`, then `pulumi up` recreates it")
            if response.status_code != 200:
                raise _refused(api, action, response, news)
        return UpdateResult(inputs.outputs(news, pk))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Removes the storage only: the bucket's objects and the tasks it imported stay."""
        pk = int(id_)
        with _api(props, "delete") as api:
            api.delete_object(detail(str(props["kind"]), pk), "storage", "storage_id", pk)


class Storage(pulumi.dynamic.Resource, module="labelstudio", name="Storage"):
    """An S3 import or export storage of a project; `storage_id` is its id. Token and keys are secret."""

    storage_id: pulumi.Output[int]
    project_id: pulumi.Output[int]
    kind: pulumi.Output[str]
    bucket: pulumi.Output[str]
    prefix: pulumi.Output[str]

    def __init__(self, resource_name: str, *, api_url: Input[str], api_token: Input[str],
                 project_id: Input[int], kind: str, bucket: Input[str], prefix: Input[str] = "",
                 title: Input[str] = "", description: Input[str] = "", region_name: Input[str] = "",
                 s3_endpoint: Input[str] = "", access_key_id: Input[str] | None = None,
                 secret_access_key: Input[str] | None = None, session_token: Input[str] | None = None,
                 regex_filter: Input[str] = "", use_blob_urls: Input[bool] = False, presign: Input[bool] = True,
                 presign_ttl: Input[int] = 1, recursive_scan: Input[bool] = False,
                 can_delete_objects: Input[bool] = False, sync_on_create: Input[bool] = False,
                 create_prefix: Input[bool] = True, admin_endpoint: Input[str] = "",
                 health_timeout_seconds: Input[int] = 300, opts: ResourceOptions | None = None) -> None:
        def secret(value: Input[str] | None) -> Input[str] | None:
            return pulumi.Output.secret(value) if value is not None else None

        importing = kind == "import"
        props: dict[str, Any] = {
            "api_url": api_url, "api_token": pulumi.Output.secret(api_token),
            "health_timeout_seconds": health_timeout_seconds, "project_id": project_id, "kind": kind,
            "title": title, "description": description, "bucket": bucket, "prefix": prefix,
            "region_name": region_name, "s3_endpoint": s3_endpoint, "access_key_id": secret(access_key_id),
            "secret_access_key": secret(secret_access_key), "session_token": secret(session_token),
            "sync_on_create": sync_on_create, "storage_id": None,  # only keys present become attributes
            **({"regex_filter": regex_filter, "use_blob_urls": use_blob_urls, "presign": presign,
                "presign_ttl": presign_ttl, "recursive_scan": recursive_scan, "create_prefix": create_prefix,
                "admin_endpoint": admin_endpoint}
               if importing else {"can_delete_objects": can_delete_objects}),
        }
        secrets = ResourceOptions(additional_secret_outputs=["api_token", *inputs.CREDENTIALS])
        super().__init__(StorageProvider(), resource_name, props, ResourceOptions.merge(opts, secrets))
