"""Platform-neutral description of a service: WHAT it needs, not HOW it runs.

Services build these; a platform adapter (docker.py, kubernetes.py) renders them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import pulumi

# UID/GID the Label Studio images run as (the image's own user, group root).
LABEL_STUDIO_USER = "1001:0"


@dataclass(frozen=True)
class HttpCheck:
    path: str
    port: int


@dataclass(frozen=True)
class CommandCheck:
    command: tuple[str, ...]


Health = HttpCheck | CommandCheck


@dataclass(frozen=True)
class Port:
    container: int
    published: int | None = None  # Docker: host port, bound to 127.0.0.1 only


@dataclass(frozen=True)
class Volume:
    name: str  # logical name; the adapter prefixes it with the stack
    mount: str
    # Data that must outlive the pod: its Kubernetes claim size. "" = scratch (an emptyDir on
    # Kubernetes, e.g. the app's data dir: media lives in S3).
    size: str = ""


@dataclass(frozen=True)
class File:
    """A file the service reads (certificates); secret content stays secret."""

    path: str
    content: pulumi.Input[str]


@dataclass(frozen=True)
class Resources:
    cpu: str = "500m"
    memory: str = "512Mi"


@dataclass(frozen=True)
class Autoscale:
    """Scale out on CPU between the spec's replicas and `max_replicas` (Kubernetes)."""

    max_replicas: int
    cpu_percent: int


@dataclass(frozen=True)
class Schedule:
    """Run on a cron schedule (Kubernetes: a CronJob) rather than once or all the time."""

    cron: str  # five fields, UTC
    # Never on its own: a template for runs started by hand (`kubectl create job --from=cronjob/<name>`).
    suspended: bool = False
    deadline_seconds: int = 6 * 3600  # a run taking longer is stopped and counts as failed
    retries: int = 2  # new pods after a failed one, before the run counts as failed


@dataclass(frozen=True)
class ServiceSpec:
    name: str  # role and in-network host name: "postgres", "app", "nginx", ...
    image: str
    aliases: tuple[str, ...] = ()  # more in-network host names
    command: tuple[str, ...] = ()  # replaces the image's entrypoint; () keeps it
    args: tuple[str, ...] = ()
    env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    secret_env: Mapping[str, pulumi.Output[str]] = field(default_factory=dict)
    ports: tuple[Port, ...] = ()
    volumes: tuple[Volume, ...] = ()
    files: tuple[File, ...] = ()
    tmpfs: tuple[str, ...] = ()
    health: Health | None = None
    user: str | None = None
    read_only: bool = False
    # "data": reachable only from the app tier (internal network); "app": app network.
    tier: Literal["data", "app"] = "app"
    component: str = ""  # its part of the architecture (Kubernetes label); "" = its name
    also_data: bool = False  # an app-tier service that talks to the data tier
    # Label Studio must call it (storage, ML backend): it gets a fixed address that
    # the SSRF allow-list opens, and nothing else is opened.
    ssrf_target: bool = False
    run_to_completion: bool = False
    replicas: int = 1
    gpu: int = 0
    resources: Resources = Resources()
    # Whom it talks to (Kubernetes renders exactly these flows as NetworkPolicies; Docker has
    # its two networks): services of this stack by name, and TCP ports outside the stack.
    calls: tuple[str, ...] = ()
    external_ports: tuple[int, ...] = ()
    public: bool = False  # users reach it (Kubernetes: through the Ingress)
    drain_seconds: int = 0  # on stop, keep serving this long while endpoints drop it
    cloud_identity: bool = False  # runs with the stack's cloud identity (IRSA / workload identity)
    autoscale: Autoscale | None = None
    min_available: int = 0  # PodDisruptionBudget floor when replicas >= 2; 0 = none
    node_selector: tuple[tuple[str, str], ...] = ()
    tolerations: tuple[tuple[str, str, str], ...] = ()  # (key, value or "" for Exists, effect)
    # It serves Prometheus metrics at /metrics on this port: Prometheus (and only it) may scrape it.
    metrics_port: int | None = None
    # Run-to-completion containers started one after the other before this one, in the same pod:
    # their own image, command, env, files, volumes and resources; volumes of the same name are
    # shared (a scratch dir handing a file over). The pod's user, calls and ports are this spec's.
    init: tuple[ServiceSpec, ...] = ()
    schedule: Schedule | None = None
    # Env read when a run starts from a ConfigMap the operator creates then (Kubernetes):
    # variable -> (ConfigMap name, key). A run without it does not start.
    operator_env: Mapping[str, tuple[str, str]] = field(default_factory=dict)
