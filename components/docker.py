"""Docker adapter: renders ServiceSpecs as pulumi-docker containers on one machine.

Two networks: `app` (bridge, fixed subnet so SSRF targets get fixed addresses) and
`data` (internal: no route out; only the database, cache and the services that use them).
Published ports bind to 127.0.0.1 only.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

import pulumi
import pulumi_docker as docker

from components import ssrf
from components.settings import Settings
from components.spec import CommandCheck, HttpCheck, ServiceSpec


class StepFailedError(RuntimeError):
    pass


def require_exit_zero(container: str, exit_code: float | None) -> str:
    """Gate for run-to-completion steps: the exit code must be 0 (apply never runs on
    unknowns, so during preview of a new step this is not called)."""
    if exit_code is None or int(exit_code) != 0:
        raise StepFailedError(f"{container} exited with code {exit_code}; see `docker logs {container}`")
    return "0"


def container_prefix(stack: str) -> str:
    """Docker names of the stack's containers and volumes start with this (scripts find them by it)."""
    return f"labelstudio-{stack}"


def memory_mb(quantity: str) -> int:
    """'512Mi' / '2Gi' -> megabytes, as Docker's `memory` wants them."""
    match = re.fullmatch(r"(\d+)(Mi|Gi)", quantity)
    if not match:
        raise ValueError(f"memory {quantity!r} must be <n>Mi or <n>Gi")
    return int(match.group(1)) * (1024 if match.group(2) == "Gi" else 1)


def healthcheck(check: HttpCheck | CommandCheck) -> docker.ContainerHealthcheckArgs:
    if isinstance(check, HttpCheck):
        # The Label Studio image has python3 but no curl: probe with the stdlib.
        url = f"http://127.0.0.1:{check.port}{check.path}"
        tests = ["CMD", "python3", "-c",
                 f"import urllib.request; urllib.request.urlopen('{url}', timeout=4)"]
    else:
        tests = ["CMD", *check.command]
    return docker.ContainerHealthcheckArgs(
        tests=tests, interval="10s", timeout="5s", retries=6, start_period="60s"
    )


def env_list(spec: ServiceSpec) -> list[pulumi.Input[str]]:
    """KEY=value entries; a secret entry stays a secret output of its own."""
    def entry(key: str, value: pulumi.Input[str]) -> pulumi.Input[str]:
        return f"{key}={value}" if isinstance(value, str) else pulumi.Output.concat(key, "=", value)

    return [entry(k, v) for k, v in sorted(spec.env.items())] + [
        entry(k, v) for k, v in sorted(spec.secret_env.items())]


class DockerPlatform:
    """Creates the stack's networks once, then one container per ServiceSpec."""

    def __init__(self, settings: Settings, parent: pulumi.Resource) -> None:
        self.settings = settings
        self.prefix = container_prefix(settings.stack)
        self.parent = parent
        self._subnet = ipaddress.ip_network(settings.docker_subnet)
        self._images: dict[str, docker.RemoteImage] = {}
        opts = pulumi.ResourceOptions(parent=parent)
        self.app_network = docker.Network(
            "app-network",
            docker.NetworkArgs(
                name=f"{self.prefix}-app",
                driver="bridge",
                # Docker assigns addresses from the upper half only, so it never hands out
                # the fixed SSRF-target addresses (.10, .11, ...) in the lower half.
                ipam_configs=[docker.NetworkIpamConfigArgs(
                    subnet=settings.docker_subnet,
                    ip_range=str(list(self._subnet.subnets(prefixlen_diff=1))[1]))],
            ),
            opts,
        )
        self.data_network = docker.Network(
            "data-network",
            docker.NetworkArgs(name=f"{self.prefix}-data", driver="bridge", internal=True),
            opts,
        )

    def schedule(self, spec: ServiceSpec, parent: pulumi.Resource) -> None:
        """No scheduler on one Docker host: scheduled work is a documented script (scripts/backup.sh)."""
        return None

    def ssrf_address(self, name: str) -> str:
        """A fixed address in the app subnet for an SSRF target: .10 + its slot."""
        return ssrf.fixed_address(self.settings.docker_subnet, name)

    def succeeded(self, step: pulumi.Resource) -> pulumi.Output[str]:
        assert isinstance(step, docker.Container)
        return pulumi.Output.all(step.name, step.exit_code).apply(lambda a: require_exit_zero(a[0], a[1]))

    def _image(self, ref: str) -> docker.RemoteImage:
        if ref not in self._images:
            logical = re.sub(r"[^a-z0-9]+", "-", ref.split("@")[0].lower()).strip("-")
            self._images[ref] = docker.RemoteImage(
                f"image-{logical}",
                docker.RemoteImageArgs(name=ref, keep_locally=True),
                pulumi.ResourceOptions(parent=self.parent),
            )
        return self._images[ref]

    def _networks(self, spec: ServiceSpec) -> list[docker.ContainerNetworksAdvancedArgs]:
        nets = []
        if spec.tier == "app":
            nets.append(docker.ContainerNetworksAdvancedArgs(
                name=self.app_network.name,
                aliases=[spec.name, *spec.aliases],
                ipv4_address=self.ssrf_address(spec.name) if spec.ssrf_target else None,
            ))
        if spec.tier == "data" or spec.also_data:
            nets.append(docker.ContainerNetworksAdvancedArgs(
                name=self.data_network.name, aliases=[spec.name]
            ))
        return nets

    def run(
        self,
        spec: ServiceSpec,
        parent: pulumi.Resource,
        depends_on: Sequence[pulumi.Resource] = (),
        gate: pulumi.Output[str] | None = None,
    ) -> docker.Container:
        """One container for `spec`. `gate` must resolve before it is created (a label holds it)."""
        if spec.init or spec.schedule or spec.operator_env:
            raise ValueError(f"{spec.name}: the Docker adapter runs no init containers, schedules or operator env")
        volumes = [
            docker.ContainerVolumeArgs(
                volume_name=docker.Volume(
                    f"{spec.name}-{v.name}",
                    docker.VolumeArgs(name=f"{self.prefix}-{spec.name}-{v.name}"),
                    pulumi.ResourceOptions(parent=parent, retain_on_delete=True),
                ).name,
                container_path=v.mount,
            )
            for v in spec.volumes
        ]
        labels = [docker.ContainerLabelArgs(label="com.labelstudio.stack", value=self.settings.stack)]
        if gate is not None:
            labels.append(docker.ContainerLabelArgs(label="com.labelstudio.after", value=gate))
        once = spec.run_to_completion
        args = docker.ContainerArgs(
            name=f"{self.prefix}-{spec.name}",
            image=self._image(spec.image).image_id,
            entrypoints=list(spec.command) or None,
            command=list(spec.args) or None,
            envs=env_list(spec),
            user=spec.user,
            networks_advanced=self._networks(spec),
            ports=[docker.ContainerPortArgs(internal=p.container, external=p.published, ip="127.0.0.1")
                   for p in spec.ports if p.published is not None],
            volumes=volumes or None,
            uploads=[docker.ContainerUploadArgs(file=f.path, content=f.content, permissions="0400",
                                                owner=spec.user.split(":")[0] if spec.user else None)
                     for f in spec.files] or None,
            tmpfs={path: "rw,noexec,nosuid,size=64m" for path in spec.tmpfs} or None,
            healthcheck=healthcheck(spec.health) if spec.health else None,
            read_only=spec.read_only,
            privileged=False,
            capabilities=docker.ContainerCapabilitiesArgs(drops=["ALL"]),
            security_opts=["no-new-privileges:true"],
            memory=memory_mb(spec.resources.memory),
            restart="no" if once else "unless-stopped",
            must_run=not once,
            attach=once,
            logs=once,
            wait=spec.health is not None and not once,
            wait_timeout=300,
            labels=labels,
        )
        # Fixed container names and published host ports cannot exist twice: a replaced container
        # (a new image on upgrade) goes before its successor is created.
        return docker.Container(
            spec.name, args, pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on),
                                                    delete_before_replace=True)
        )
