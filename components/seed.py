"""Seed: what a labeling team should find in Label Studio after `pulumi up`, declared once the web
tier is healthy. Users and projects here; storages, ML backend links and webhooks hang off each
project (SeedProject.extensions) once their providers are wired in (see EXTENSION POINT below).

Every seed resource talks to `seedApiUrl` (default: publicUrl) from where `pulumi up` runs, with the
admin token.
"""

from __future__ import annotations

import pulumi
import pulumi_random as random

from components.providers.project import Project
from components.providers.user import User
from components.seed_spec import resource_slug
from components.settings import Settings


class Seed(pulumi.ComponentResource):
    def __init__(self, name: str, settings: Settings, api_token: pulumi.Input[str],
                 after: list[pulumi.Resource], legacy_parent: pulumi.Resource | None = None,
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
        # EXTENSION POINT (issue 4): for each project, its `extensions` ("storages", "webhooks",
        # "mlBackends") become resources from components/providers/{storage,ml_backend_link,webhook}.py,
        # parented here and depending on that project.
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
                               "userIds": [u.user_id for u in self.users]})
