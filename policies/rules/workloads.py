"""Workload hardening: Docker containers and every Kubernetes object that carries a pod template."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from rules.base import MANDATORY, Config, View, rule
from rules.shapes import (
    DOCKER_CONTAINER,
    DOCKER_IMAGE,
    LONG_RUNNING,
    cname,
    docker_name,
    main_containers,
    pod_containers,
    pod_spec,
)
from rules.wire import UNKNOWN, get, items, text, truthy

Pair = tuple[Mapping[str, Any], Mapping[str, Any]]  # (pod spec, container)


def k8s_pairs(view: View) -> Iterator[Pair]:
    pod = pod_spec(view)
    if pod is not None:
        for container in pod_containers(pod):
            yield pod, container


def effective(pod: Mapping[str, Any], container: Mapping[str, Any], key: str) -> Any:
    """A securityContext field: the container's, else the pod's."""
    own = get(container, "securityContext", key)
    return own if own is not None else get(pod, "securityContext", key)


def is_docker_service(props: Mapping[str, Any]) -> bool:
    """A long-running container (not a run-to-completion step such as migrations)."""
    return not truthy(get(props, "attach")) and text(get(props, "restart")) != "no"


@rule(name="run-as-non-root", severity="high", level=MANDATORY,
      description="Containers run as a non-root user.",
      why="A root process that escapes the container is root on the node or host.",
      remediation="Docker: set `user` to a non-zero uid[:gid]; Kubernetes: `runAsNonRoot: true` and a non-zero "
                  "`runAsUser` (pod or container securityContext).")
def run_as_non_root(view: View, _config: Config) -> Iterator[str]:
    if view.type == DOCKER_CONTAINER:
        user = text(get(view.props, "user"))
        if get(view.props, "user") is UNKNOWN:
            return
        if not user or user.split(":")[0] in ("0", "root"):
            yield f"container {docker_name(view)} runs as root (user {user or 'unset'})"
        return
    for pod, container in k8s_pairs(view):
        non_root, uid = effective(pod, container, "runAsNonRoot"), effective(pod, container, "runAsUser")
        if truthy(non_root) is not True:
            yield f"container {cname(container)}: runAsNonRoot is not true"
        elif uid is not None and text(uid) == "0":
            yield f"container {cname(container)}: runAsUser is 0"


@rule(name="no-privileged", severity="critical", level=MANDATORY,
      description="No container runs privileged.",
      why="A privileged container has every device and capability of the host.",
      remediation="Remove `privileged: true` (Docker `privileged`, Kubernetes securityContext.privileged).")
def no_privileged(view: View, _config: Config) -> Iterator[str]:
    if view.type == DOCKER_CONTAINER:
        if truthy(get(view.props, "privileged")):
            yield f"container {docker_name(view)} runs privileged"
        return
    for _pod, container in k8s_pairs(view):
        if truthy(get(container, "securityContext", "privileged")):
            yield f"container {cname(container)} runs privileged"


@rule(name="no-privilege-escalation", severity="high", level=MANDATORY,
      description="Processes cannot gain privileges (setuid binaries, file capabilities).",
      why="Without it a compromised process can become root through a setuid binary in the image.",
      remediation="Docker: `security_opts=['no-new-privileges:true']`; Kubernetes: "
                  "`allowPrivilegeEscalation: false` on every container.")
def no_privilege_escalation(view: View, _config: Config) -> Iterator[str]:
    if view.type == DOCKER_CONTAINER:
        opts = [text(o) or "" for o in items(get(view.props, "securityOpts"))]
        if not any(re.fullmatch(r"no-new-privileges(?:[:=]true)?", o) for o in opts):
            yield f"container {docker_name(view)} lacks no-new-privileges"
        return
    for _pod, container in k8s_pairs(view):
        if truthy(get(container, "securityContext", "allowPrivilegeEscalation")) is not False:
            yield f"container {cname(container)}: allowPrivilegeEscalation is not false"


@rule(name="drop-all-capabilities", severity="high", level=MANDATORY,
      description="Containers drop all Linux capabilities and add back at most NET_BIND_SERVICE.",
      why="Default capabilities (NET_RAW, CHOWN, SETUID, ...) widen what an intruder can do.",
      remediation="Docker: `capabilities.drops=['ALL']`; Kubernetes: `capabilities.drop: [ALL]`; add back "
                  "only NET_BIND_SERVICE if a port below 1024 is needed.")
def drop_all_capabilities(view: View, _config: Config) -> Iterator[str]:
    if view.type == DOCKER_CONTAINER:
        caps, name = get(view.props, "capabilities"), docker_name(view)
        yield from _capability_problems(f"container {name}", items(get(caps, "drops")), items(get(caps, "adds")))
        return
    for _pod, container in k8s_pairs(view):
        caps = get(container, "securityContext", "capabilities")
        yield from _capability_problems(f"container {cname(container)}", items(get(caps, "drop")),
                                        items(get(caps, "add")))


def _capability_problems(where: str, drops: list[Any], adds: list[Any]) -> Iterator[str]:
    if "ALL" not in {(text(d) or "").upper() for d in drops}:
        yield f"{where} does not drop ALL capabilities"
    extra = sorted({(text(a) or "").upper().removeprefix("CAP_") for a in adds} - {"NET_BIND_SERVICE"})
    if extra:
        yield f"{where} adds capabilities {', '.join(extra)}"


@rule(name="seccomp-profile", severity="medium", level=MANDATORY,
      description="A seccomp profile filters system calls (RuntimeDefault or Localhost, never Unconfined).",
      why="Seccomp blocks the rarely used kernel calls most container escapes rely on.",
      remediation="Kubernetes: `seccompProfile: {type: RuntimeDefault}` in the pod securityContext; Docker: "
                  "do not pass `seccomp=unconfined` in security_opts (Docker's default profile applies).")
def seccomp_profile(view: View, _config: Config) -> Iterator[str]:
    if view.type == DOCKER_CONTAINER:
        opts = [(text(o) or "").replace("=", ":") for o in items(get(view.props, "securityOpts"))]
        if "seccomp:unconfined" in opts:
            yield f"container {docker_name(view)} runs with seccomp unconfined"
        return
    for pod, container in k8s_pairs(view):
        kind = text(get(effective(pod, container, "seccompProfile"), "type"))
        if kind not in ("RuntimeDefault", "Localhost"):
            yield f"container {cname(container)}: seccompProfile is {kind or 'unset'}"


@rule(name="read-only-root-filesystem", severity="medium", level=MANDATORY,
      description="Container root filesystems are read-only; writable paths are explicit volumes or tmpfs.",
      why="An intruder cannot drop tools or alter the application in place.",
      remediation="Docker: `read_only=True` with tmpfs/volumes for writable paths; Kubernetes: "
                  "`readOnlyRootFilesystem: true` with emptyDir mounts.")
def read_only_root_filesystem(view: View, _config: Config) -> Iterator[str]:
    if view.type == DOCKER_CONTAINER:
        if truthy(get(view.props, "readOnly")) is not True:
            yield f"container {docker_name(view)} has a writable root filesystem"
        return
    for _pod, container in k8s_pairs(view):
        if truthy(get(container, "securityContext", "readOnlyRootFilesystem")) is not True:
            yield f"container {cname(container)} has a writable root filesystem"


@rule(name="no-host-namespaces", severity="critical", level=MANDATORY,
      description="No container shares the host's network, PID, IPC or user namespace.",
      why="Host namespaces expose the host's processes, sockets and loopback services to the container.",
      remediation="Docker: remove network_mode/pid_mode/ipc_mode/userns_mode 'host'; Kubernetes: remove "
                  "hostNetwork/hostPID/hostIPC.")
def no_host_namespaces(view: View, _config: Config) -> Iterator[str]:
    if view.type == DOCKER_CONTAINER:
        for key in ("networkMode", "pidMode", "ipcMode", "usernsMode"):
            if text(get(view.props, key)) == "host":
                yield f"container {docker_name(view)}: {key} is host"
        return
    pod = pod_spec(view)
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod is not None and truthy(get(pod, key)):
            yield f"pod {key} is true"


@rule(name="no-host-paths", severity="critical", level=MANDATORY,
      description="No host directory or device is mounted into a container.",
      why="A host path (the Docker socket, /etc, /var/lib/kubelet) is a direct way out of the container.",
      remediation="Use named Docker volumes or Kubernetes PersistentVolumeClaims/emptyDirs instead.")
def no_host_paths(view: View, _config: Config) -> Iterator[str]:
    if view.type == DOCKER_CONTAINER:
        name = docker_name(view)
        for volume in items(get(view.props, "volumes")):
            if text(get(volume, "hostPath")):
                yield f"container {name} mounts host path {text(get(volume, 'hostPath'))}"
        for mount in items(get(view.props, "mounts")):
            if text(get(mount, "type")) == "bind":
                yield f"container {name} bind-mounts {text(get(mount, 'source'))}"
        for device in items(get(view.props, "devices")):
            yield f"container {name} maps host device {text(get(device, 'hostPath'))}"
        return
    pod = pod_spec(view)
    for volume in items(get(pod, "volumes")) if pod else []:
        if get(volume, "hostPath") is not None:
            yield f"volume {text(get(volume, 'name'))} mounts host path {text(get(volume, 'hostPath', 'path'))}"


@rule(name="resource-limits", severity="medium", level=MANDATORY,
      description="Every container has resource limits (Kubernetes: CPU and memory requests and limits; "
                  "Docker: a memory limit).",
      why="One runaway container must not starve the others or the node (noisy neighbour, OOM of the host).",
      remediation="Kubernetes: `resources.requests` and `resources.limits` for cpu and memory on every "
                  "container; Docker: `memory` (MB).")
def resource_limits(view: View, _config: Config) -> Iterator[str]:
    if view.type == DOCKER_CONTAINER:
        memory = get(view.props, "memory")
        if memory is not UNKNOWN and not (isinstance(memory, int | float) and memory > 0):
            yield f"container {docker_name(view)} has no memory limit"
        return
    for _pod, container in k8s_pairs(view):
        missing = [f"{kind}.{res}" for kind in ("requests", "limits") for res in ("cpu", "memory")
                   if get(container, "resources", kind, res) is None]
        if missing:
            yield f"container {cname(container)} lacks resources {', '.join(missing)}"


@rule(name="no-service-account-token", severity="medium", level=MANDATORY,
      description="Pods do not mount a Kubernetes API token (automountServiceAccountToken: false).",
      why="Label Studio and its services never call the Kubernetes API; a mounted token only helps an intruder.",
      remediation="Set `automountServiceAccountToken: false` on the pod spec (and on its ServiceAccount).")
def no_service_account_token(view: View, _config: Config) -> Iterator[str]:
    pod = pod_spec(view)
    if pod is not None and truthy(get(pod, "automountServiceAccountToken")) is not False:
        yield "pod mounts a service account token (automountServiceAccountToken is not false)"


@rule(name="probes", severity="medium", level=MANDATORY,
      description="Long-running containers have health checks (Kubernetes readiness and liveness probes; "
                  "Docker healthcheck).",
      why="Without probes traffic reaches pods that are not ready and hung processes are never restarted.",
      remediation="Kubernetes: `readinessProbe` and `livenessProbe` on every main container of Deployments, "
                  "StatefulSets and DaemonSets; Docker: `healthcheck` on every service container.")
def probes(view: View, _config: Config) -> Iterator[str]:
    if view.type == DOCKER_CONTAINER:
        tests = [text(t) for t in items(get(view.props, "healthcheck", "tests"))]
        if is_docker_service(view.props) and (not tests or tests[0] == "NONE"):
            yield f"container {docker_name(view)} has no healthcheck"
        return
    pod = pod_spec(view)
    if pod is None or view.type not in LONG_RUNNING:
        return
    for container in main_containers(pod):
        missing = [p for p in ("readinessProbe", "livenessProbe") if get(container, p) is None]
        if missing:
            yield f"container {cname(container)} lacks {' and '.join(missing)}"


_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def image_problem(image: str, require_digest: bool) -> str | None:
    """Why an image reference is not pinned, or None."""
    if image.startswith("sha256:"):  # a Docker image id (RemoteImage.image_id): content-addressed
        return None
    if _DIGEST.search(image):
        return None
    if require_digest:
        return f"image {image} has no @sha256 digest"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {image} has no tag"
    if last.rsplit(":", 1)[1] in ("latest", "stable", "main", "master", "edge", "nightly"):
        return f"image {image} uses the moving tag {last.rsplit(':', 1)[1]}"
    return None


@rule(name="images-pinned", severity="high", level=MANDATORY,
      description="Images are pinned: an explicit, non-moving tag (never `latest` or none), or a digest "
                  "when `requireDigest` is set.",
      why="A moving tag deploys code nobody reviewed and makes rollbacks and audits guesswork.",
      remediation="Use `repo:1.2.3` (or `repo@sha256:...` when requireDigest is on).",
      options={"requireDigest": {"type": "boolean", "default": False,
                                 "description": "require an @sha256 digest on every image"}})
def images_pinned(view: View, config: Config) -> Iterator[str]:
    require = bool(config.get("requireDigest"))
    refs: list[str | None] = []
    if view.type == DOCKER_IMAGE:
        refs = [text(get(view.props, "name"))]
    elif view.type == DOCKER_CONTAINER:
        refs = [text(get(view.props, "image"))]
    else:
        refs = [text(get(c, "image")) for _pod, c in k8s_pairs(view)]
    for ref in refs:
        problem = image_problem(ref, require) if ref else None
        if problem:
            yield problem
