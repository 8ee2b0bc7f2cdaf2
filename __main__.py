"""Label Studio on Pulumi: read the stack settings, declare the deployment, export outputs."""

import pulumi

from components.config import load_settings
from components.labelstudio import LabelStudio

settings = load_settings()
label_studio = LabelStudio("label-studio", settings)

pulumi.export("url", label_studio.url)
pulumi.export("adminEmail", settings.admin_email)
pulumi.export("adminPassword", pulumi.Output.secret(label_studio.admin_password))
pulumi.export("adminToken", pulumi.Output.secret(label_studio.admin_token))
pulumi.export("projectIds", {p.source: proj.project_id
                             for p, proj in zip(settings.seed_projects, label_studio.projects, strict=True)})
pulumi.export("userIds", {f"user-{u.slug}": user.user_id
                          for u, user in zip(settings.seed_users, label_studio.users, strict=True)})
pulumi.export("seedUserPasswords", label_studio.seed.generated_passwords)
