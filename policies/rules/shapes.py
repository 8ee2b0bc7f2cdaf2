"""Where things live in Docker and Kubernetes resources (wire form), and their environments."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rules.base import View
from rules.wire import UNKNOWN, get, is_secret, items, reveal, text

DOCKER_CONTAINER = "docker:index/container:Container"
DOCKER_IMAGE = "docker:index/remoteImage:RemoteImage"
DOCKER_NETWORK = "docker:index/network:Network"
K8S_CONFIGMAP = "kubernetes:core/v1:ConfigMap"
K8S_SECRET = "kubernetes:core/v1:Secret"  # noqa: S105 - a type token
K8S_SERVICE = "kubernetes:core/v1:Service"
K8S_INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
K8S_NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
K8S_PDB = "kubernetes:policy/v1:PodDisruptionBudget"
K8S_HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
K8S_DEPLOYMENT = "kubernetes:apps/v1:Deployment"
K8S_CRONJOB = "kubernetes:batch/v1:CronJob"
DYNAMIC_PREFIX = "pulumi-python:dynamic/labelstudio:"
MEDIA_BUCKET = DYNAMIC_PREFIX + "MediaBucket"
PROJECT = DYNAMIC_PREFIX + "Project"

_TEMPLATE = ("spec", "template", "spec")
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "kubernetes:core/v1:Pod": ("spec",),
    K8S_DEPLOYMENT: _TEMPLATE,
    "kubernetes:apps/v1:StatefulSet": _TEMPLATE,
    "kubernetes:apps/v1:DaemonSet": _TEMPLATE,
    "kubernetes:apps/v1:ReplicaSet": _TEMPLATE,
    "kubernetes:batch/v1:Job": _TEMPLATE,
    K8S_CRONJOB: ("spec", "jobTemplate", "spec", "template", "spec"),
}
LONG_RUNNING = frozenset(t for t in POD_SPEC_PATHS if "batch/v1" not in t)
DATA_SERVICES = ("postgres", "redis", "minio", "mysql", "mariadb", "mongo", "valkey")


def pod_spec(view: View) -> Mapping[str, Any] | None:
    path = POD_SPEC_PATHS.get(view.type)
    spec = get(view.props, *path) if path else None
    return spec if isinstance(spec, Mapping) else None


def pod_containers(pod: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = []
    for key in ("initContainers", "containers", "ephemeralContainers"):
        found += [c for c in items(get(pod, key)) if isinstance(c, Mapping)]
    return found


def main_containers(pod: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [c for c in items(get(pod, "containers")) if isinstance(c, Mapping)]


def cname(container: Mapping[str, Any]) -> str:
    return text(get(container, "name")) or "?"


def docker_name(view: View) -> str:
    """A Docker container's name, else its Pulumi resource name."""
    return text(get(view.props, "name")) or view.name


def namespace(view: View) -> str:
    return text(get(view.props, "metadata", "namespace")) or "default"


def labels(view: View) -> Mapping[str, Any]:
    found = get(view.props, "metadata", "labels")
    return found if isinstance(found, Mapping) else {}


def pod_labels(view: View) -> Mapping[str, Any]:
    path = POD_SPEC_PATHS.get(view.type)
    if path is None:
        return {}
    found = get(view.props, *path[:-1], "metadata", "labels") if len(path) > 1 else labels(view)
    return found if isinstance(found, Mapping) else {}


def k8s_name(view: View) -> str:
    return text(get(view.props, "metadata", "name")) or view.name


def words(*values: Any) -> list[str]:
    """Lower-case tokens of names, images, aliases and commands, to recognise a service."""
    out: list[str] = []
    for value in values:
        for part in items(value) if not isinstance(value, str) else [value]:
            out += [w for w in re.split(r"[^a-z0-9]+", (text(part) or "").lower()) if w]
    return out


SERVER_ENV = {"POSTGRES_DB": "postgres", "POSTGRES_USER": "postgres", "PGDATA": "postgres",
              "MINIO_ROOT_USER": "minio", "MINIO_VOLUMES": "minio"}  # set on the servers, not their clients


def docker_data_service(props: Mapping[str, Any]) -> str | None:
    """postgres, redis, minio, ... for a Docker container (its image is an id: use names)."""
    env = docker_env(props)
    if "DJANGO_DB" in env:  # Label Studio itself, whatever its env mentions
        return None
    aliases = [a for n in items(get(props, "networksAdvanced")) for a in items(get(n, "aliases"))]
    tokens = set(words(get(props, "name"), aliases, get(props, "image")))
    tokens |= {SERVER_ENV[n] for n in env if n in SERVER_ENV}
    return _data_service(tokens)


BATCH = frozenset(t for t in POD_SPEC_PATHS if "batch/v1" in t)
POSTGRES_CLIENTS = frozenset({"pg_dump", "pg_dumpall", "pg_restore", "psql"})


def runs_postgres_client(container: Mapping[str, Any]) -> bool:
    """The container runs a PostgreSQL client tool (directly or in a shell line), not the server."""
    line = " ".join(text(x) or "" for x in [*items(get(container, "command")), *items(get(container, "args"))])
    return any(token.rsplit("/", 1)[-1] in POSTGRES_CLIENTS for token in re.split(r"[\s;|&()]+", line))


def k8s_data_service(view: View, container: Mapping[str, Any] | None = None) -> str | None:
    # Pods of Jobs and CronJobs run to completion, never serve: they are named after what they
    # work on (postgres-backup), so only a container's own image says what it is.
    by_name = container is None or view.type not in BATCH
    tokens = set(words(k8s_name(view), *labels(view).values())) if by_name else set()
    if container is not None:
        image = (text(get(container, "image")) or "").rsplit("/", 1)[-1].split(":")[0].split("@")[0]
        tokens |= set(words(image))
    return _data_service(tokens)


def _data_service(tokens: set[str]) -> str | None:
    """The data service these tokens name; a metrics exporter of one (postgres-exporter,
    redis_exporter) is its client, not the service."""
    if "exporter" in tokens:
        return None
    return next((s for s in DATA_SERVICES if s in tokens), None)


# --- environments --------------------------------------------------------------------------------

@dataclass(frozen=True)
class EnvVar:
    name: str
    source: str  # plain | secret (a Pulumi secret literal) | secretKeyRef | configMapKeyRef | configMap | other
    value: str | None  # the text for plain / configMap sources only; never a secret's

    @property
    def from_secret(self) -> bool:
        return self.source in ("secret", "secretKeyRef")


def docker_env(props: Mapping[str, Any]) -> dict[str, EnvVar]:
    env: dict[str, EnvVar] = {}
    for entry in items(get(props, "envs")):
        raw = text(reveal(entry))
        if raw is None:
            continue
        name, _, value = raw.partition("=")
        env[name] = EnvVar(name, "secret", None) if is_secret(entry) else EnvVar(name, "plain", value)
    return env


def k8s_env(container: Mapping[str, Any]) -> dict[str, EnvVar]:
    env: dict[str, EnvVar] = {}
    for entry in items(get(container, "env")):
        name = text(get(entry, "name"))
        if not name:
            continue
        source = get(entry, "valueFrom")
        if isinstance(source, Mapping):
            kind = next((k for k in ("secretKeyRef", "configMapKeyRef") if get(source, k) is not None), "other")
            env[name] = EnvVar(name, kind, None)
        elif is_secret(get(entry, "value")):
            env[name] = EnvVar(name, "secret", None)
        elif get(entry, "value") is UNKNOWN:  # computed during preview: judged at `pulumi up`
            env[name] = EnvVar(name, "other", None)
        else:
            env[name] = EnvVar(name, "plain", text(get(entry, "value")) or "")
    return env


def data_env(view: View, source: str) -> dict[str, EnvVar]:
    """A ConfigMap's data (source configMap) or a Secret's keys (source secretKeyRef)."""
    env: dict[str, EnvVar] = {}
    for key in ("data", "stringData"):
        data = get(view.props, key)
        if isinstance(data, Mapping):
            for name in data:
                value = get(data, name)
                hidden = source != "configMap" or is_secret(value)
                env[name] = EnvVar(name, "secret" if is_secret(value) and source == "configMap" else source,
                                   None if hidden else text(value))
    return env


LS_COMMANDS = ("label-studio", "label-studio-uwsgi", "label-studio-migrate")


@dataclass(frozen=True)
class LabelStudioEnv:
    """The effective environment of one Label Studio container (own env over envFrom sources)."""

    view: View
    container: str
    env: Mapping[str, EnvVar]

    @property
    def where(self) -> str:
        return f"{self.view.name} (container {self.container})"

    def lookup(self, setting: str) -> EnvVar | None:
        """Label Studio reads setting X as LABEL_STUDIO_X, HEARTEX_X or X, in that order."""
        bare = setting.removeprefix("LABEL_STUDIO_")
        for name in (f"LABEL_STUDIO_{bare}", f"HEARTEX_{bare}", bare if bare != "HOST" else ""):
            if name in self.env:
                return self.env[name]
        return None


def _is_label_studio(env: Mapping[str, EnvVar], command: Sequence[Any]) -> bool:
    first = [t for t in (text(c) for c in command) if t]
    return "DJANGO_DB" in env or bool(first and first[0] in LS_COMMANDS)


def label_studio_envs(views: Sequence[View]) -> Iterator[LabelStudioEnv]:
    by_urn = {v.urn: v for v in views}
    for view in views:
        if view.type == DOCKER_CONTAINER:
            env = docker_env(view.props)
            if _is_label_studio(env, items(get(view.props, "command"))):
                yield LabelStudioEnv(view, text(get(view.props, "name")) or view.name, env)
            continue
        pod = pod_spec(view)
        for container in main_containers(pod) if pod else []:
            env = {**_env_from(view, container, views, by_urn), **k8s_env(container)}
            command = [*items(get(container, "command")), *items(get(container, "args"))]
            if _is_label_studio(env, command):
                yield LabelStudioEnv(view, cname(container), env)
    for view in views:  # ConfigMaps that carry Label Studio settings are checked on their own too
        if view.type == K8S_CONFIGMAP:
            env = data_env(view, "configMap")
            if "DJANGO_DB" in env or any(n.startswith("LABEL_STUDIO_") for n in env):
                yield LabelStudioEnv(view, "ConfigMap data", env)


def _env_from(view: View, container: Mapping[str, Any], views: Sequence[View],
              by_urn: Mapping[str, View]) -> dict[str, EnvVar]:
    """envFrom sources, found by name in the namespace, else among the workload's dependencies
    (auto-named objects are referenced by an output the plan cannot know)."""
    env: dict[str, EnvVar] = {}
    for source in items(get(container, "envFrom")):
        for ref_key, kind, data_source in (("configMapRef", K8S_CONFIGMAP, "configMap"),
                                           ("secretRef", K8S_SECRET, "secretKeyRef")):
            ref = get(source, ref_key)
            if not isinstance(ref, Mapping):
                continue
            wanted = text(get(ref, "name"))
            same_ns = [v for v in views if v.type == kind and namespace(v) == namespace(view)]
            matches = [v for v in same_ns if wanted and k8s_name(v) == wanted]
            if not matches:
                matches = [by_urn[u] for u in view.dependencies if u in by_urn and by_urn[u].type == kind]
            for match in matches:
                env.update(data_env(match, data_source))
    return env


def image_of(value: Any) -> str | None:
    image = text(value)
    return None if image is None or image is UNKNOWN else image
