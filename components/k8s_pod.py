"""Kubernetes pod template for a ServiceSpec: container, env, probes, volumes, security.

Pure builders (no resources are declared here); `components/kubernetes.py` wires them into
workloads. Every pod meets the `restricted` Pod Security Standard.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import pulumi
from pulumi_kubernetes.core import v1 as core
from pulumi_kubernetes.meta import v1 as meta

from components.spec import CommandCheck, File, HttpCheck, ServiceSpec

DEFAULT_USER = (1001, 0)  # the Label Studio images' user; group 0 as the image expects
TMPFS_SIZE = "64Mi"  # the same size Docker gives its tmpfs mounts
# /tmp is on disk, not in memory: Django spools large uploads and imports there.
TMP, TMP_SIZE = "/tmp", "2Gi"  # noqa: S108 - a mount path, not a host temp file
FILES_VOLUME = "files"
_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class PodRefs:
    """Names of the objects a pod refers to (known once those objects exist), and what the
    adapter adds: host aliases of in-cluster targets, the labels to spread replicas by."""

    service_account: pulumi.Input[str]
    env_secret: pulumi.Input[str] | None  # holds spec.secret_env, one key per variable
    files_secret: pulumi.Input[str] | None  # holds spec.files, keys from file_keys()
    host_aliases: tuple[tuple[str, str], ...] = ()  # (ip, host name)
    spread_by: dict[str, str] | None = None  # the workload's selector labels


def user_ids(spec: ServiceSpec) -> tuple[int, int]:
    """(uid, gid) from spec.user "uid:gid"; the namespace refuses root, so we do too."""
    if spec.user is None:
        return DEFAULT_USER
    uid, _, gid = spec.user.partition(":")
    if not (uid.isdigit() and (gid.isdigit() or gid == "")):
        raise ValueError(f"{spec.name}: user {spec.user!r} must be numeric uid[:gid] on Kubernetes")
    if int(uid) == 0:
        raise ValueError(f"{spec.name}: runs as root (uid 0); restricted pods must not")
    return int(uid), int(gid or DEFAULT_USER[1])


def is_dns_label(text: str) -> bool:
    return bool(_DNS_LABEL.match(text))


def dns_label(text: str, what: str) -> str:
    if not is_dns_label(text):
        raise ValueError(f"{what} {text!r} is not a DNS label (lower-case letters, digits, '-')")
    return text


def file_keys(files: Sequence[File]) -> list[tuple[File, str]]:
    """Each file with its key in the files Secret: its base name, made unique."""
    keyed: list[tuple[File, str]] = []
    for index, file in enumerate(files):
        key = re.sub(r"[^-._a-zA-Z0-9]", "-", file.path.rsplit("/", 1)[-1]) or "file"
        if key in {k for _, k in keyed}:
            key = f"{index}-{key}"
        keyed.append((file, key))
    return keyed


def pod_files(spec: ServiceSpec) -> list[tuple[File, str]]:
    """Every file of the pod's containers (the main one's first, then the init containers'),
    each with its key in the pod's one files Secret."""
    return file_keys(spec.files + tuple(f for step in spec.init for f in step.files))


def pod_secret_env(spec: ServiceSpec) -> dict[str, pulumi.Output[str]]:
    """The secret env of all the pod's containers, held by its one env Secret (a name, one value)."""
    merged = dict(spec.secret_env)
    for step in spec.init:
        for name, value in step.secret_env.items():
            if name in merged and merged[name] is not value:
                raise ValueError(f"{spec.name}: init container {step.name} gives secret env {name} another value")
            merged[name] = value
    return merged


def tmpfs_paths(spec: ServiceSpec) -> list[str]:
    """The container's /tmp plus every tmpfs path of the spec, once each, in order."""
    return list(dict.fromkeys((TMP, *spec.tmpfs)))


def env_vars(spec: ServiceSpec, env_secret: pulumi.Input[str] | None) -> list[core.EnvVarArgs]:
    """Plain env as values; secret env only as references into the env Secret; operator env
    as references into the ConfigMap the operator creates for a run."""
    plain = [core.EnvVarArgs(name=k, value=v) for k, v in sorted(spec.env.items())]
    if spec.secret_env and env_secret is None:
        raise ValueError(f"{spec.name}: secret env needs the env Secret")
    refs = [
        core.EnvVarArgs(name=k, value_from=core.EnvVarSourceArgs(
            secret_key_ref=core.SecretKeySelectorArgs(name=env_secret, key=k)))
        for k in sorted(spec.secret_env)
    ]
    operator = [
        core.EnvVarArgs(name=k, value_from=core.EnvVarSourceArgs(
            config_map_key_ref=core.ConfigMapKeySelectorArgs(name=config_map, key=key)))
        for k, (config_map, key) in sorted(spec.operator_env.items())
    ]
    return plain + refs + operator


class Probes(NamedTuple):
    readiness: core.ProbeArgs | None = None
    liveness: core.ProbeArgs | None = None
    startup: core.ProbeArgs | None = None


def probes(check: HttpCheck | CommandCheck | None) -> Probes:
    """Readiness, liveness and startup probes. The startup probe gives a first start up to
    5 minutes (as Docker's wait does), so liveness can stay strict afterwards."""
    if check is None:
        return Probes()
    http = core.HTTPGetActionArgs(path=check.path, port=check.port) if isinstance(check, HttpCheck) else None
    exec_ = core.ExecActionArgs(command=list(check.command)) if isinstance(check, CommandCheck) else None

    def probe(failures: int) -> core.ProbeArgs:
        return core.ProbeArgs(http_get=http, exec_=exec_, period_seconds=10, timeout_seconds=5,
                              failure_threshold=failures)

    return Probes(readiness=probe(3), liveness=probe(6), startup=probe(30))


def resources(spec: ServiceSpec) -> core.ResourceRequirementsArgs:
    """Requests equal limits (a predictable Guaranteed pod); GPUs are a limit only."""
    amounts = {"cpu": spec.resources.cpu, "memory": spec.resources.memory}
    limits = {**amounts, **({"nvidia.com/gpu": str(spec.gpu)} if spec.gpu > 0 else {})}
    return core.ResourceRequirementsArgs(requests=amounts, limits=limits)


def volumes(spec: ServiceSpec, refs: PodRefs, claims: bool
            ) -> tuple[list[core.VolumeArgs], list[list[core.VolumeMountArgs]]]:
    """Pod volumes, and the mounts of each container: the main one first, then the init
    containers in order. With `claims`, named volumes come from the StatefulSet's claim
    templates (same names), so only their mounts are listed here. A volume name used by
    several containers is one emptyDir they share."""
    pod: dict[str, core.VolumeArgs] = {}
    keyed, start = pod_files(spec), 0
    every: list[list[core.VolumeMountArgs]] = []
    for position, container in enumerate((spec, *spec.init)):
        mounts: list[core.VolumeMountArgs] = []
        for v in container.volumes:
            name = dns_label(v.name, f"{container.name}: volume name")
            if not claims:  # data that may be lost with the pod (app scratch; media lives in S3)
                pod.setdefault(name, core.VolumeArgs(name=name, empty_dir=core.EmptyDirVolumeSourceArgs()))
            mounts.append(core.VolumeMountArgs(name=name, mount_path=v.mount))
        prefix = "tmpfs" if position == 0 else f"{container.name}-tmpfs"
        for index, path in enumerate(tmpfs_paths(container)):
            name = f"{prefix}-{index}"
            on_disk = path == TMP
            pod[name] = core.VolumeArgs(name=name, empty_dir=core.EmptyDirVolumeSourceArgs(
                medium=None if on_disk else "Memory", size_limit=TMP_SIZE if on_disk else TMPFS_SIZE))
            mounts.append(core.VolumeMountArgs(name=name, mount_path=path))
        files, start = keyed[start:start + len(container.files)], start + len(container.files)
        if files:
            if refs.files_secret is None:
                raise ValueError(f"{spec.name}: files need the files Secret")
            # 0400 as in Docker; with fsGroup the kubelet makes it root:<gid> 0440 so the
            # service reads it through its group (libpq accepts a root-owned 0440 key).
            pod[FILES_VOLUME] = core.VolumeArgs(name=FILES_VOLUME, secret=core.SecretVolumeSourceArgs(
                secret_name=refs.files_secret, default_mode=0o400))
            mounts.extend(core.VolumeMountArgs(name=FILES_VOLUME, mount_path=f.path, sub_path=key, read_only=True)
                          for f, key in files)
        every.append(mounts)
    return list(pod.values()), every


def container(spec: ServiceSpec, refs: PodRefs, mounts: list[core.VolumeMountArgs],
              serving: bool) -> core.ContainerArgs:
    """One container of the pod; `serving`: a long-running main container (probes, ports, drain)."""
    checks = probes(spec.health if serving else None)
    return core.ContainerArgs(
        name=dns_label(spec.name, "service name"),
        image=spec.image,
        # Pinned tags (settings refuse `latest`); Always makes the kubelet check the pod's pull
        # credentials on every start instead of reusing an image another tenant pulled.
        image_pull_policy="Always",
        command=list(spec.command) or None,  # replaces the image's ENTRYPOINT
        args=list(spec.args) or None,  # like Docker's command: replaces CMD, keeps ENTRYPOINT
        env=env_vars(spec, refs.env_secret) or None,
        ports=[core.ContainerPortArgs(container_port=p.container, protocol="TCP") for p in spec.ports] or None,
        volume_mounts=mounts,
        resources=resources(spec),
        security_context=core.SecurityContextArgs(
            allow_privilege_escalation=False,
            privileged=False,
            capabilities=core.CapabilitiesArgs(drop=["ALL"]),
            # Always on Kubernetes: each spec lists where it writes (tmpfs paths, volumes),
            # which become emptyDirs here.
            read_only_root_filesystem=True,
        ),
        readiness_probe=checks.readiness,
        liveness_probe=checks.liveness,
        startup_probe=checks.startup,
        # Graceful shutdown: keep serving while the endpoints controller and the ingress drop
        # the pod, then SIGTERM (uwsgi and nginx finish their requests).
        lifecycle=core.LifecycleArgs(pre_stop=core.LifecycleHandlerArgs(
            exec_=core.ExecActionArgs(command=["sleep", str(spec.drain_seconds)])))
        if spec.drain_seconds and serving else None,
    )


def pod_template(spec: ServiceSpec, labels: dict[str, str], refs: PodRefs, claims: bool) -> core.PodTemplateSpecArgs:
    uid, gid = user_ids(spec)
    once = spec.run_to_completion or spec.schedule is not None
    pod_volumes, mounts = volumes(spec, refs, claims)
    main = container(spec, refs, mounts[0], serving=not once)
    steps = [container(step, refs, m, serving=False) for step, m in zip(spec.init, mounts[1:], strict=True)]
    return core.PodTemplateSpecArgs(
        metadata=meta.ObjectMetaArgs(labels=labels),
        spec=core.PodSpecArgs(
            init_containers=steps or None,
            containers=[main],
            volumes=pod_volumes,
            host_aliases=[core.HostAliasArgs(ip=ip, hostnames=[host]) for ip, host in refs.host_aliases] or None,
            node_selector=dict(spec.node_selector) or None,
            tolerations=[core.TolerationArgs(key=k, operator="Equal" if v else "Exists", value=v or None, effect=e)
                         for k, v, e in spec.tolerations] or None,
            topology_spread_constraints=spread(refs.spread_by) if spec.replicas > 1 or spec.autoscale else None,
            termination_grace_period_seconds=spec.drain_seconds + 30 if spec.drain_seconds else None,
            service_account_name=refs.service_account,
            automount_service_account_token=False,
            enable_service_links=False,  # else a Service "minio" injects MINIO_PORT=tcp://... into env
            restart_policy="Never" if once else "Always",
            security_context=core.PodSecurityContextArgs(
                run_as_non_root=True,
                run_as_user=uid,
                run_as_group=gid,
                fs_group=gid,
                fs_group_change_policy="OnRootMismatch",
                seccomp_profile=core.SeccompProfileArgs(type="RuntimeDefault"),
            ),
        ),
    )


def spread(selector: dict[str, str] | None) -> list[core.TopologySpreadConstraintArgs] | None:
    """Replicas spread over nodes and zones; preferred, so a small cluster still schedules them."""
    if not selector:
        return None
    return [core.TopologySpreadConstraintArgs(
        max_skew=1, topology_key=key, when_unsatisfiable="ScheduleAnyway",
        label_selector=meta.LabelSelectorArgs(match_labels=selector))
        for key in ("kubernetes.io/hostname", "topology.kubernetes.io/zone")]
