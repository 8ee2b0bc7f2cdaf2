"""Seed: what a labeling team should find in Label Studio after `pulumi up`, declared once the web
tier is healthy. Users, projects and their ML backend links here; storages and webhooks hang off
each project (SeedProject.extensions) once their providers are wired in (see EXTENSION POINT below).

Every seed resource talks to `seedApiUrl` (default: publicUrl) from where `pulumi up` runs, with the
admin token.
"""

from __future__ import annotations

import pulumi
import pulumi_random as random

from components.providers.ml_backend_link import MLBackendLink
from components.providers.project import Project
from components.providers.user import User
from components.seed_ml_backends import SeedMLBackendLink
from components.seed_spec import resource_slug
from components.settings import Settings


class Seed(pulumi.ComponentResource):
    def __init__(self, name: str, settings: Settings, api_token: pulumi.Input[str],
                 after: list[pulumi.Resource], legacy_parent: pulumi.Resource | None = None,
                 ml_backend: pulumi.Resource | None = None, opts: pulumi.ResourceOptions | None = None) -> None:
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
        # EXTENSION POINT (issue 4): for each project, its `extensions` ("storages", "webhooks")
        # become resources from components/providers/{storage,webhook}.py, parented here and
        # depending on that project. ML backend links (`ml_backends`) are wired:
        self.ml_backend_links = [
            self._ml_link(project, p.source, link, settings, api_token, after, ml_backend)
            for project, p in zip(self.projects, settings.seed_projects, strict=True) for link in p.ml_backends
        ]
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
                               "mlBackendLinkIds": [m.link_id for m in self.ml_backend_links]})

    def _ml_link(self, project: Project, source: str, link: SeedMLBackendLink, settings: Settings,
                 api_token: pulumi.Input[str], after: list[pulumi.Resource],
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
            api_url=settings.seed_api_url, api_token=api_token,
            health_timeout_seconds=settings.seed_health_timeout,
            backend_wait_seconds=settings.seed_ml_backend_wait,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*after, project, *stack_backend]),
        )
