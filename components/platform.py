"""What a platform adapter offers the services (Docker today, Kubernetes next)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import pulumi

from components.spec import ServiceSpec


class Platform(Protocol):
    def run(
        self,
        spec: ServiceSpec,
        parent: pulumi.Resource,
        depends_on: Sequence[pulumi.Resource] = (),
        gate: pulumi.Output[str] | None = None,
    ) -> pulumi.Resource:
        """Run `spec`; `gate` must resolve (successfully) before the workload is created."""
        ...

    def schedule(self, spec: ServiceSpec, parent: pulumi.Resource) -> pulumi.Resource | None:
        """Run `spec` on `spec.schedule`; None where the platform has no scheduler (Docker: the
        README's scripts do it by hand)."""
        ...

    def ssrf_address(self, name: str) -> str:
        """The address Label Studio reaches service `name` at, for the SSRF allow-list."""
        ...

    def succeeded(self, step: pulumi.Resource) -> pulumi.Output[str]:
        """Resolves when run-to-completion `step` exited 0; fails the deployment otherwise."""
        ...
