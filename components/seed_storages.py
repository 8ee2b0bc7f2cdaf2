"""Seed storages: the S3 locations a project imports tasks from and exports annotations to.

A project file's `storages:` lists entries (camelCase). Each becomes a Storage resource named
`storage-<project>-<name>` (components/providers/storage.py):

    - kind: import              # import (tasks from the bucket) or export (annotations to it)
      name: photos              # optional, default the kind; unique in the project
      prefix: imports/photos    # key prefix; surrounding '/' dropped, '//' refused
      title: Catalogue photos   # optional (default: the name); description: optional
      bucket: other-bucket      # optional: bucket, region, endpoint default to the stack's media bucket
      credentials: media        # media (default: the stack's media credentials), ambient (none sent: Label
                                # Studio's own environment or IAM role) or a name in the secret config
                                # labelstudio:seedStorageCredentials
      syncOnCreate: true        # sync once, right after creating it
      # import only
      blobUrls: true            # each object is one task (a media file); false: objects are JSON task files
      fileFilter: '.*\\.jpg$'    # a Python regex over whole keys
      presign: true             # browsers get presigned URLs (Label Studio's default)
      presignTtlMinutes: 15     # 1-10080
      recursive: false          # scan below the prefix's direct children
      createPrefix: true        # put an empty folder marker `<prefix>/` if the prefix holds nothing
      # export only
      deleteObjects: false      # delete an annotation's object when it is deleted in Label Studio

Storage keys never sit in a repo file: `labelstudio:seedStorageCredentials` is one secret JSON
object, `{"partner": {"accessKeyId": "...", "secretAccessKey": "...", "sessionToken": "..."}}`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from components import s3_names
from components import settings_checks as checks
from components.providers.storage_inputs import PRESIGN_TTL, TITLE_LENGTH, key_has_blanks, prefix_problem, regex_problem
from components.secret import Secret
from components.seed_entries import SECRET_NAME, Entry, secret_json_object, unique_names, unknown_secret_field
from components.seed_files import Fail
from components.settings_checks import show

CREDENTIALS_KEY = "seedStorageCredentials"
MEDIA, AMBIENT = "media", "ambient"
KINDS = ("import", "export")
_COMMON = ("kind", "name", "prefix", "title", "description", "bucket", "region", "endpoint", "credentials",
           "syncOnCreate")
_IMPORT = ("blobUrls", "fileFilter", "presign", "presignTtlMinutes", "recursive", "createPrefix")
_EXPORT = ("deleteObjects",)
_CREDENTIAL_FIELDS = {"accessKeyId": True, "secretAccessKey": True, "sessionToken": False}  # name -> required
UPLOAD_DIR = "upload"  # Label Studio's uploads go to <mediaFolder>/upload/, or upload/ without a folder
_EXAMPLE = '{"partner": {"accessKeyId": "...", "secretAccessKey": "..."}}'


@dataclass(frozen=True)
class SeedStorage:
    name: str
    kind: str
    prefix: str
    title: str
    description: str = ""
    bucket: str = ""  # "" = the stack's media bucket (and its region and endpoint)
    region: str = ""
    endpoint: str = ""
    credentials: str = MEDIA  # MEDIA, AMBIENT or a name in labelstudio:seedStorageCredentials
    sync_on_create: bool = False
    blob_urls: bool = False
    file_filter: str = ""
    presign: bool = True
    presign_ttl: int = 1
    recursive: bool = False
    create_prefix: bool = True
    delete_objects: bool = False


@dataclass(frozen=True)
class StorageCredentials:
    access_key_id: Secret
    secret_access_key: Secret
    session_token: Secret | None = None


def parse_storages(raw: list[dict[Any, Any]], fail: Fail) -> tuple[SeedStorage, ...]:
    """Every entry of a project file's `storages:`, each problem named by its index."""
    out = [s for i, entry in enumerate(raw) if (s := _storage(Entry(f"storages[{i}]", entry, fail))) is not None]
    unique_names("storage", [(f"storages[{i}]", s.name) for i, s in enumerate(out)], fail)
    return tuple(out)


def _storage(e: Entry) -> SeedStorage | None:
    """The entry, or None when its kind is wrong (its other fields are still checked: every problem
    of the entry is reported at once)."""
    kind = e.raw.get("kind")
    if kind not in KINDS:
        e.bad(f"kind {show(kind)} must be import or export; fix: kind: import (tasks from the bucket) or "
              "kind: export (annotations to it)")
        e.unknown_keys((*_COMMON, *_IMPORT, *_EXPORT))
    else:
        other = {k: f"is for {'export' if kind == 'import' else 'import'} storages only" for k in
                 (_EXPORT if kind == "import" else _IMPORT)}
        e.unknown_keys((*_COMMON, *(_IMPORT if kind == "import" else _EXPORT)), other)
    name = e.name(str(kind) if kind in KINDS else "storage")
    prefix = _prefix(e)
    bucket = e.text("bucket")
    if bucket and (problem := checks.bucket_problem(bucket)):
        e.bad(f"bucket {show(bucket)} {problem}")
    region = e.text("region")
    if region and not s3_names.REGION.fullmatch(region):
        e.bad(f"region {show(region)} is not a region name; fix: e.g. eu-west-1")
    credentials = e.text("credentials", MEDIA)
    if not SECRET_NAME.fullmatch(credentials):
        e.bad(f"credentials {show(credentials)} must be media, ambient or a name in labelstudio:{CREDENTIALS_KEY}; "
              "fix: e.g. credentials: partner")
    file_filter = e.text("fileFilter", limit=1000)
    problem = regex_problem(file_filter) if file_filter else None
    if problem:
        e.bad(f"fileFilter {show(file_filter)}: {problem.removeprefix('regex_filter ')}; fix: correct it")
    low, high = PRESIGN_TTL
    storage = SeedStorage(
        name=name, kind=str(kind), prefix=prefix, title=e.text("title", name, TITLE_LENGTH) or name,
        description=e.text("description"), bucket=bucket, region=region, endpoint=_endpoint(e),
        credentials=credentials, sync_on_create=e.boolean("syncOnCreate", False),
        blob_urls=e.boolean("blobUrls", False), file_filter=file_filter, presign=e.boolean("presign", True),
        presign_ttl=e.integer("presignTtlMinutes", 1, low, high, " minutes (presigned URLs last at most 7 days)"),
        recursive=e.boolean("recursive", False), create_prefix=e.boolean("createPrefix", True),
        delete_objects=e.boolean("deleteObjects", False),
    )
    return storage if kind in KINDS else None


def _prefix(e: Entry) -> str:
    raw = e.text("prefix")
    prefix = raw.strip("/")
    problem = prefix_problem(prefix)
    if problem:
        e.bad(f"prefix {show(raw)}: {problem.removeprefix('prefix ')}; fix: e.g. prefix: imports/photos")
    return prefix


def _endpoint(e: Entry) -> str:
    value = e.text("endpoint")
    if not value:
        return ""
    url, problem = checks.http_url(value, "https://s3.eu-west-1.amazonaws.com")
    host = "" if problem else (urlsplit(url).hostname or "")  # urlsplit raises on what http_url refused
    if problem:
        e.bad(f"endpoint {checks.show_url(value)} {problem}")
    elif checks.is_local_host(host):
        e.bad(f"endpoint {show(url)}: inside its container Label Studio's localhost is itself; fix: a host name "
              "Label Studio reaches (or leave it out for the stack's media endpoint)")
    elif checks.reserved_address(host):
        e.bad(f"endpoint {show(url)} is a private or reserved address, which Label Studio's SSRF protection "
              "refuses (HTTP 403); fix: a host name of a public S3 endpoint, or leave it out for the media endpoint")
    return url


def load_credentials(secret: Secret | None, fail: Callable[[str], None]) -> dict[str, StorageCredentials]:
    """labelstudio:seedStorageCredentials by name; problems name the entry and field, never a value."""
    found: dict[str, StorageCredentials] = {}
    for name, item in secret_json_object(secret, CREDENTIALS_KEY, _EXAMPLE, fail).items():
        values: dict[str, Secret | None] = {}
        for field, required in _CREDENTIAL_FIELDS.items():
            value = item.get(field)
            if (value is None and required) or (value is not None and (not isinstance(value, str) or not value)):
                fail(f"{name}.{field} must be a non-empty string (the value is not shown); fix: set it")
            elif isinstance(value, str) and key_has_blanks(value):
                fail(f"{name}.{field} holds whitespace or control characters, which no S3 key has (a pasted line "
                     "break?) (the value is not shown); fix: set it again without them")
            values[field] = Secret(value) if isinstance(value, str) and value else None
        for index, key in enumerate(sorted(set(item) - set(_CREDENTIAL_FIELDS), key=str), start=1):
            fail(f"{name}: {unknown_secret_field(key, index, _CREDENTIAL_FIELDS)}")
        # a broken entry fails the settings anyway; kept, so storages naming it are not told it is missing
        none = Secret("")
        found[name] = StorageCredentials(values["accessKeyId"] or none, values["secretAccessKey"] or none,
                                         values["sessionToken"])
    return found


@dataclass(frozen=True)
class MediaDefaults:
    """What a storage entry without bucket/region/endpoint/credentials gets (settings.media)."""

    mode: str  # minio | s3
    bucket: str
    region: str
    endpoint: str  # "" = AWS; minio: filled in by the stack (components/media.py)
    folder: str  # Label Studio's own uploads
    backup_bucket: str = ""  # where the database dumps go, expired by a lifecycle rule ("" = no backups)
    backup_prefix: str = ""


def stack_problems(projects: Iterable[tuple[str, tuple[SeedStorage, ...]]], media: MediaDefaults,
                   credentials: Mapping[str, StorageCredentials], fail: Callable[[str], None]) -> None:
    """What only the whole stack shows: named secrets, the media folder, imports reading exports."""
    located: list[tuple[str, SeedStorage]] = []
    for source, storages in projects:
        for s in storages:
            where = f"{source}: storage {s.name}"
            if s.credentials not in (MEDIA, AMBIENT) and s.credentials not in credentials:
                fail(f"{where}: credentials {s.credentials!r} names nothing in labelstudio:{CREDENTIALS_KEY}; fix: "
                     f"""`pulumi config set --secret labelstudio:{CREDENTIALS_KEY} '{{"{s.credentials}": """
                     """{"accessKeyId": "...", "secretAccessKey": "..."}}'`""")
            if media.mode == "minio" and not s.endpoint and s.credentials == AMBIENT:
                fail(f"{where}: credentials ambient: Label Studio has no ambient credentials for the stack's MinIO; "
                     "fix: leave credentials out (the stack's MinIO keys) or name a secret")
            if _on_media_bucket(s, media):
                _media_folder_problem(where, s, media.folder or UPLOAD_DIR, fail)
            _backup_problem(where, s, media, fail)
            located.append((where, s))
    _imports_reading_exports(located, media, fail)


def _on_media_bucket(s: SeedStorage, media: MediaDefaults) -> bool:
    return s.bucket in ("", media.bucket) and not s.endpoint


def _media_folder_problem(where: str, s: SeedStorage, folder: str, fail: Callable[[str], None]) -> None:
    if not s.prefix:
        fail(f"{where}: has no prefix, but the media bucket also holds Label Studio's uploads; "
             f"fix: a prefix of its own, e.g. prefix: {s.kind}s/{s.name}")
    elif nested(s.prefix, folder):
        fail(f"{where}: prefix {s.prefix!r} overlaps Label Studio's upload folder {folder!r} (mediaFolder); "
             f"fix: a prefix apart from it, e.g. {s.kind}s/{s.name}")


def _backup_problem(where: str, s: SeedStorage, media: MediaDefaults, fail: Callable[[str], None]) -> None:
    """The backup retention rule expires every object under backupPrefix: a storage there would lose
    its exports (and an import would turn dumps into tasks)."""
    same_bucket = not s.endpoint and (s.bucket or media.bucket) == media.backup_bucket
    already_told = _on_media_bucket(s, media) and not s.prefix  # "has no prefix" is reported above
    if media.backup_prefix and same_bucket and not already_told and nested(s.prefix, media.backup_prefix):
        fail(f"{where}: prefix {s.prefix!r} overlaps backupPrefix {media.backup_prefix!r} in the same bucket: the "
             f"backup retention rule would expire its objects; fix: a prefix outside {media.backup_prefix!r}, "
             "or another backupPrefix")


def nested(a: str, b: str) -> bool:
    """The prefixes are equal or one holds the other ('' holds every key)."""
    return a == b or not a or not b or a.startswith(b + "/") or b.startswith(a + "/")


def _imports_reading_exports(located: list[tuple[str, SeedStorage]], media: MediaDefaults,
                             fail: Callable[[str], None]) -> None:
    """An import that lists an export's keys would turn exported annotations into tasks. Exports
    write `<prefix>/<id>`: an import reads them when it has the same prefix, or scans recursively
    from a prefix holding the export's."""
    def place(s: SeedStorage) -> tuple[str, str]:
        return (s.endpoint or media.endpoint, s.bucket or media.bucket)

    for where, imp in ((w, s) for w, s in located if s.kind == "import"):
        for other, exp in ((w, s) for w, s in located if s.kind == "export"):
            reads = imp.prefix == exp.prefix or (imp.recursive and (
                not imp.prefix or exp.prefix.startswith(imp.prefix + "/")))
            if place(imp) == place(exp) and reads:
                fail(f"{where}: imports from where {other} exports annotations, so exports would come back as "
                     "tasks; fix: give them prefixes apart, e.g. imports/... and exports/...")
                break  # one export names the problem: n imports over n exports is not n*n messages
