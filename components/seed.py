"""Seed: what a labeling team should find in Label Studio after `pulumi up`, declared once the web
tier is healthy: users, projects, and what hangs off each project once it exists (its storages,
webhooks and ML backend links).

Every seed resource talks to `seedApiUrl` (default: publicUrl) from where `pulumi up` runs, with the
admin token.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_random as random

from components.media import MediaBucket
from components.providers.ml_backend_link import MLBackendLink
from components.providers.project import Project
from components.providers.storage import Storage
from components.providers.user import User
from components.providers.webhook import Webhook
from components.secret import Secret
from components.seed_ml_backends import SeedMLBackendLink
from components.seed_spec import SeedProject, resource_slug
from components.seed_storages import AMBIENT, MEDIA, SeedStorage, StorageCredentials
from components.settings import Settings


class Seed(pulumi.ComponentResource):
    def __init__(self, name: str, settings: Settings, api_token: pulumi.Input[str],
                 after: list[pulumi.Resource], legacy_parent: pulumi.Resource | None = None,
                 media: MediaBucket | None = None, ml_backend: pulumi.Resource | None = None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("labelstudio:index:Seed", name, None, opts)
        url, timeout = settings.seed_api_url, settings.seed_health_timeout
        # Projects were children of the LabelStudio component before Seed existed: the alias keeps
        # their URNs, so moving them here is not a replace (which would refuse on annotations).
        aliases = [pulumi.Alias(parent=legacy_parent)] if legacy_parent is not None else []
        self.projects = [
            Project(
                f"project-{resource_slug(p.source)}",
                title=p.title, label_config=p.label_config, description=p.description,
                instructions=p.instructions, color=p.color, quality=p.quality_dict,
                allow_delete_with_annotations=p.allow_delete_with_annotations,
                api_url=url, api_token=api_token, health_timeout_seconds=timeout,
                opts=pulumi.ResourceOptions(parent=self, depends_on=after, aliases=aliases,
                                           protect=settings.seed_protect_projects),
            )
            for p in settings.seed_projects
        ]
        # Storages, webhooks and ML backend links of each project, after it.
        connection = {"api_url": url, "api_token": api_token, "health_timeout_seconds": timeout}
        self.storages: list[Storage] = []
        self.webhooks: list[Webhook] = []
        self.ml_backend_links: list[MLBackendLink] = []
        for spec, project in zip(settings.seed_projects, self.projects, strict=True):
            self._links(spec, project, settings, media, connection)
            self.ml_backend_links += [self._ml_link(project, spec.source, link, settings, connection, after, ml_backend)
                                      for link in spec.ml_backends]
        generated: dict[str, pulumi.Output[str]] = {}
        self.users = []
        for u in settings.seed_users:
            password: pulumi.Input[str] | None = u.password.output() if u.password else None
            if u.generate_password:
                made = random.RandomPassword(f"user-{u.slug}-password",
                                             random.RandomPasswordArgs(length=20, special=False),
                                             pulumi.ResourceOptions(parent=self))
                password = generated[u.slug] = made.result
            self.users.append(User(
                f"user-{u.slug}", email=u.email, password=password, username=u.username,
                first_name=u.first_name, last_name=u.last_name,
                api_url=url, api_token=api_token, health_timeout_seconds=timeout,
                opts=pulumi.ResourceOptions(parent=self, depends_on=after),
            ))
        self.generated_passwords = pulumi.Output.secret(generated)
        self.register_outputs({"projectIds": [p.project_id for p in self.projects],
                               "userIds": [u.user_id for u in self.users],
                               "storageIds": [s.storage_id for s in self.storages],
                               "webhookIds": [w.webhook_id for w in self.webhooks],
                               "mlBackendLinkIds": [m.link_id for m in self.ml_backend_links]})

    def _links(self, spec: SeedProject, project: Project, settings: Settings, media: MediaBucket | None,
               connection: Mapping[str, Any]) -> None:
        slug, opts = resource_slug(spec.source), pulumi.ResourceOptions(parent=self, depends_on=[project])
        credentials = dict(settings.seed_storage_credentials)
        for s in spec.storages:
            self.storages.append(Storage(f"storage-{slug}-{s.name}", project_id=project.project_id, opts=opts,
                                         **storage_args(s, settings, media, credentials), **connection))
        headers = dict(settings.seed_webhook_headers)
        for w in spec.webhooks:
            chosen = headers[w.headers_secret] if w.headers_secret else None
            self.webhooks.append(Webhook(
                f"webhook-{slug}-{w.name}", project_id=project.project_id, url=w.url, actions=w.actions,
                headers=chosen.output().apply(json.loads) if chosen else None, send_payload=w.send_payload,
                is_active=w.active, opts=opts, **connection))

    def _ml_link(self, project: Project, source: str, link: SeedMLBackendLink, settings: Settings,
                 connection: Mapping[str, Any], after: list[pulumi.Resource],
                 ml_backend: pulumi.Resource | None) -> MLBackendLink:
        """Label Studio checks the backend when the link is made: a link to the stack's own backend
        waits for it to be deployed (and healthy, as the platform awaits it) first."""
        stack_backend = [ml_backend] if ml_backend is not None and link.url == settings.ml_backend.url else []
        return MLBackendLink(
            f"project-{resource_slug(source)}-ml-{link.slug}",
            project_id=project.project_id, url=link.url, title=link.title, description=link.description,
            is_interactive=link.interactive, basic_auth_user=link.basic_auth_user,
            basic_auth_pass=link.password.output() if link.password else None,
            extra_params=link.extra_params_dict,
            backend_wait_seconds=settings.seed_ml_backend_wait,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*after, project, *stack_backend]), **connection,
        )


def storage_args(s: SeedStorage, settings: Settings, media: MediaBucket | None,
                 credentials: Mapping[str, StorageCredentials]) -> dict[str, Any]:
    """A seed storage entry as Storage inputs: what it leaves out is the stack's media bucket, region,
    endpoint (as Label Studio reaches it; the provider itself uses the admin endpoint) and keys."""
    media_endpoint = media.endpoint if media is not None else settings.media.endpoint
    admin = media.admin_endpoint if media is not None else media_endpoint
    keys: dict[str, Any] = {}
    if s.credentials == MEDIA and media is not None:
        keys = {"access_key_id": media.access_key_id, "secret_access_key": media.secret_access_key}
    elif s.credentials not in (MEDIA, AMBIENT):
        named = credentials[s.credentials]
        keys = {"access_key_id": named.access_key_id.output(), "secret_access_key": named.secret_access_key.output(),
                "session_token": _output(named.session_token)}
    kind_args = ({"regex_filter": s.file_filter, "use_blob_urls": s.blob_urls, "presign": s.presign,
                  "presign_ttl": s.presign_ttl, "recursive_scan": s.recursive, "create_prefix": s.create_prefix,
                  "admin_endpoint": s.endpoint or admin}
                 if s.kind == "import" else {"can_delete_objects": s.delete_objects})
    return {"kind": s.kind, "title": s.title, "description": s.description, "bucket": s.bucket or settings.media.bucket,
            "prefix": s.prefix, "region_name": s.region or settings.media.region,
            "s3_endpoint": s.endpoint or media_endpoint, "sync_on_create": s.sync_on_create, **kind_args, **keys}


def _output(secret: Secret | None) -> pulumi.Output[str] | None:
    return secret.output() if secret is not None else None
