"""Seed settings: the project and user files a stack lists, their secrets (user and ML backend
passwords, storage credentials, webhook headers) and what the whole stack's storages and webhooks
must agree on. Every problem goes to the settings reader with its key."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from components import seed_storages, seed_webhooks
from components import settings_checks as checks
from components.seed_ml_backends import PASSWORDS_KEY as ML_PASSWORDS_KEY
from components.seed_ml_backends import resolve_links
from components.seed_spec import SeedProject, load_seed_project, resource_slug
from components.seed_users import PASSWORDS_KEY, SeedUser, load_seed_users
from components.settings_schema import NAMESPACE, MLBackend, Settings

if TYPE_CHECKING:
    from components.settings import _Reader


def seed_projects(r: _Reader, base_dir: Path, ml: MLBackend) -> tuple[SeedProject, ...]:
    projects: list[SeedProject] = []
    sources: dict[str, str] = {}  # resource name -> the file that claimed it
    ml_passwords = secret_names(r, ML_PASSWORDS_KEY, "photos")
    for path in r.items("seedProjects"):
        project, problems = load_seed_project(base_dir, path)
        for problem in problems:
            r.fail("seedProjects", problem)
        name = resource_slug(path)
        if name in sources:
            r.fail("seedProjects", f"{path}: names its Pulumi resource project-{name}, as {sources[name]} does "
                   "(the same file twice, or two files with the same name); fix: list each file once "
                   "and give project files distinct names")
        sources.setdefault(name, path)
        if project is not None and project.ml_backends:
            project = dataclasses.replace(project, ml_backends=resolve_links(
                project.ml_backends, stack_url=ml.url, stack_enabled=ml.enabled, passwords=ml_passwords,
                fail=lambda message: r.fail("seedProjects", message)))
        if project is not None:
            projects.append(project)
    return tuple(projects)


def secret_names(r: _Reader, key: str, example: str) -> dict[str, Any]:
    """A secret JSON object of names and passwords ({} when unset); its values are never shown."""
    secret = r.secret(key)  # reports a plain-text value itself
    if secret is None:
        return {}
    names = checks.load_json(secret.value, unique_keys=True)
    if names is checks.DUPLICATE_KEY:
        r.fail(key, checks.DUPLICATE_KEY_PROBLEM)
        return {}
    if not isinstance(names, dict):
        r.fail(key, "must be a JSON object of names and passwords (the value is not shown); fix: "
               f"""`pulumi config set --secret {NAMESPACE}:{key} '{{"{example}": "<password>"}}'`""")
        return {}
    return names


def seed_users(r: _Reader, base_dir: Path) -> tuple[SeedUser, ...]:
    items = r.raw.get("seedUsers", [])
    if not isinstance(items, list):
        r.fail("seedUsers", f"{r.show('seedUsers', items)} is not a list; fix: a YAML list of user files or entries")
        return ()
    passwords = secret_names(r, PASSWORDS_KEY, "anna")
    if "seedUsers" in r.secret_keys:
        return ()  # parse() reports the secret list itself; messages about its items would quote them
    return load_seed_users(base_dir, items, passwords, lambda message: r.fail("seedUsers", message))


def seed_links(r: _Reader, s: Settings) -> Settings:
    """Storage credentials and webhook headers (secret config), and what the storages and webhooks
    of all seed projects must agree on with them and with the media bucket."""
    def fail(key: str) -> Callable[[str], None]:
        return lambda message: r.fail(key, message)

    credentials = seed_storages.load_credentials(r.secret(seed_storages.CREDENTIALS_KEY),
                                                 fail(seed_storages.CREDENTIALS_KEY))
    headers = seed_webhooks.load_headers(r.secret(seed_webhooks.HEADERS_KEY), fail(seed_webhooks.HEADERS_KEY))
    backup = (s.backup.bucket, s.backup.prefix) if s.backup.enabled else ("", "")
    media = seed_storages.MediaDefaults(s.media.mode, s.media.bucket, s.media.region, s.media.endpoint,
                                        s.media.folder, *backup)
    seed_storages.stack_problems(((p.source, p.storages) for p in s.seed_projects), media, credentials,
                                 fail("seedProjects"))
    seed_webhooks.stack_problems(((p.source, p.webhooks) for p in s.seed_projects), headers, fail("seedProjects"))
    return dataclasses.replace(s, seed_storage_credentials=tuple(sorted(credentials.items())),
                               seed_webhook_headers=tuple(sorted(headers.items())))
