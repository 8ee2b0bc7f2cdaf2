"""Kubernetes adapter: renders ServiceSpecs as workloads in one namespace.

Per spec: a ServiceAccount (no token), a Secret for its secret env and one for its files
(auto-named: pulumi-kubernetes replaces a changed Secret, and the new name rolls the pods),
the workload, and a ClusterIP Service named after the spec, so in-cluster host names equal
the Docker aliases ("postgres", "app", ...).
Workload: a Job for run-to-completion steps, a StatefulSet with claim templates for data-tier
services with volumes, a Deployment otherwise. Pod details live in `components/k8s_pod.py`.

Not yet here (a later issue): ingress, NetworkPolicies (the Docker data/app network split),
HPA, PodDisruptionBudgets, fixed ClusterIPs for SSRF targets (see `ssrf_address`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
from pulumi_kubernetes.apps import v1 as apps
from pulumi_kubernetes.batch import v1 as batch
from pulumi_kubernetes.core import v1 as core
from pulumi_kubernetes.meta import v1 as meta

from components import k8s_pod
from components.settings import Settings
from components.spec import ServiceSpec

PART_OF = "label-studio"
AFTER_ANNOTATION = "labelstudio/after"  # holds a workload until the gate resolves
# TODO(kubernetes issue): claim size belongs in the spec's Volume (and settings); one size for now.
VOLUME_SIZE = "10Gi"

Workload = apps.Deployment | apps.StatefulSet | batch.Job


class StepFailedError(RuntimeError):
    pass


def require_complete(namespace: str, name: str | None, status: Mapping[str, Any] | None) -> str:
    """Gate for run-to-completion steps: the Job must have succeeded. pulumi-kubernetes
    awaits the Job (and fails on a Failed condition); this guards a skipped await too.
    Apply never runs on unknowns, so during preview of a new Job this is not called.
    `status` is the Job's status as a mapping (typed outputs are dicts too)."""
    status = status or {}
    conditions = status.get("conditions") or []
    complete = any(c.get("type") == "Complete" and c.get("status") == "True" for c in conditions)
    if not complete and (status.get("succeeded") or 0) < 1:
        raise StepFailedError(f"job {name} has not completed; see `kubectl -n {namespace} logs job/{name}`")
    return str(name)


def object_name(resource: core.Namespace | core.ServiceAccount | core.Secret | batch.Job) -> pulumi.Output[str]:
    """metadata.name as the cluster has it (set by then, auto-named or not)."""
    return resource.metadata.apply(lambda m: str(m.name))


def label_value(text: str) -> str:
    """`text` as a label value: at most 63 of [A-Za-z0-9_.-], alphanumeric at both ends."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", text)[:63].strip("-_.")


class KubernetesPlatform:
    """Creates the stack's namespace once, then the objects of each ServiceSpec in it."""

    def __init__(self, settings: Settings, parent: pulumi.Resource) -> None:
        self.settings = settings
        self.instance = label_value(f"labelstudio-{settings.stack}")
        self.namespace = core.Namespace(
            "namespace",
            metadata=meta.ObjectMetaArgs(
                name=settings.namespace,
                labels={
                    **self._common_labels(PART_OF),
                    "app.kubernetes.io/component": "namespace",
                    # restricted Pod Security Standard: enforced, and reported on apply too
                    **{f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")},
                },
            ),
            # Deleting a namespace deletes its PersistentVolumeClaims (the database): destroy
            # leaves it, and with it the data, in place.
            opts=pulumi.ResourceOptions(parent=parent, retain_on_delete=True),
        )
        # An Output, so every namespaced object waits for the namespace.
        self.namespace_name: pulumi.Output[str] = object_name(self.namespace)

    def ssrf_address(self, name: str) -> str:
        """The in-cluster DNS name of Service `name` (works with any cluster domain).

        TODO(kubernetes issue): Label Studio's SSRF check resolves names to IPs and the
        allow-list math (components/ssrf.py) needs an address, and ClusterIPs are not known at
        plan time. The Kubernetes issue must give SSRF targets a fixed Service `spec.clusterIP`
        from a configured service CIDR (a new setting), as Docker gives them fixed addresses.
        """
        return f"{k8s_pod.dns_label(name, 'service name')}.{self.settings.namespace}.svc"

    def succeeded(self, step: pulumi.Resource) -> pulumi.Output[str]:
        """The Job's name once it completed; a dependent workload takes it as an annotation."""
        if not isinstance(step, batch.Job):
            raise TypeError(f"succeeded() takes a run-to-completion step (a Job), got {type(step).__name__}")
        # Output.all hands over plain dicts, not the typed outputs: read them as mappings.
        return pulumi.Output.all(step.metadata, step.status).apply(
            lambda a: require_complete(self.settings.namespace, (a[0] or {}).get("name"), a[1]))

    def run(
        self,
        spec: ServiceSpec,
        parent: pulumi.Resource,
        depends_on: Sequence[pulumi.Resource] = (),
        gate: pulumi.Output[str] | None = None,
    ) -> Workload:
        """The objects of `spec`; the workload is created only after `gate` resolved."""
        opts = pulumi.ResourceOptions(parent=parent)
        labels = self._labels(spec)
        account = core.ServiceAccount(
            spec.name,
            metadata=self._meta(spec, name=spec.name),
            automount_service_account_token=False,
            opts=opts,
        )
        refs = k8s_pod.PodRefs(
            service_account=object_name(account),
            env_secret=self._secret(f"{spec.name}-env", spec, dict(spec.secret_env), opts),
            files_secret=self._secret(f"{spec.name}-files", spec, {
                key: f.content for f, key in k8s_pod.file_keys(spec.files)}, opts),
        )
        if not spec.run_to_completion:
            self._services(spec, opts)
        claims = bool(spec.volumes) and spec.tier == "data" and not spec.run_to_completion
        template = k8s_pod.pod_template(spec, labels, refs, claims)
        annotations = {AFTER_ANNOTATION: gate} if gate is not None else None
        workload_opts = pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on))
        selector = meta.LabelSelectorArgs(match_labels=self._selector(spec))
        if spec.run_to_completion:
            # Auto-named (no metadata.name): a changed pod template is a new Job, run again.
            # No TTL: a Job that vanished after finishing would show as drift on refresh.
            return batch.Job(
                spec.name,
                metadata=self._meta(spec, annotations=annotations),
                # A few retries: on a first deploy the database may still be starting.
                spec=batch.JobSpecArgs(backoff_limit=3, template=template),
                opts=workload_opts,
            )
        if claims:
            return apps.StatefulSet(
                spec.name,
                metadata=self._meta(spec, name=spec.name, annotations=annotations),
                spec=apps.StatefulSetSpecArgs(
                    service_name=spec.name,  # the ClusterIP Service; no per-pod DNS needed
                    replicas=spec.replicas,
                    selector=selector,
                    template=template,
                    volume_claim_templates=[self._claim(spec, v.name) for v in spec.volumes],
                    # Data outlives the workload, as Docker volumes are retained on delete.
                    persistent_volume_claim_retention_policy=apps.StatefulSetPersistentVolumeClaimRetentionPolicyArgs(
                        when_deleted="Retain", when_scaled="Retain"),
                ),
                opts=workload_opts,
            )
        return apps.Deployment(
            spec.name,
            metadata=self._meta(spec, name=spec.name, annotations=annotations),
            spec=apps.DeploymentSpecArgs(
                replicas=spec.replicas,
                selector=selector,
                template=template,
                # A rolling update would need a spare GPU for the surge pod.
                strategy=apps.DeploymentStrategyArgs(type="Recreate") if spec.gpu > 0 else None,
            ),
            opts=workload_opts,
        )

    def _secret(self, logical: str, spec: ServiceSpec, values: dict[str, pulumi.Input[str]],
                opts: pulumi.ResourceOptions) -> pulumi.Output[str] | None:
        """An auto-named Opaque Secret (its name, or None when there is nothing to hold).
        Every value is marked secret, whatever the caller passed."""
        if not values:
            return None
        secret = core.Secret(
            logical,
            metadata=self._meta(spec),
            type="Opaque",
            string_data={k: pulumi.Output.secret(v) for k, v in values.items()},
            opts=opts,
        )
        return object_name(secret)

    def _services(self, spec: ServiceSpec, opts: pulumi.ResourceOptions) -> None:
        """A ClusterIP Service per host name (spec.name and aliases that are DNS labels).
        Published host ports are Docker-only and ignored here."""
        if not spec.ports:
            return
        names = [spec.name]
        for alias in spec.aliases:
            if k8s_pod.is_dns_label(alias):
                names.append(alias)
            else:
                pulumi.log.warn(f"{spec.name}: alias {alias!r} cannot be a Kubernetes Service name; "
                                f"in-cluster clients must use {spec.name!r}")
        for name in names:
            core.Service(
                name,
                metadata=self._meta(spec, name=name),
                spec=core.ServiceSpecArgs(
                    type="ClusterIP",
                    selector=self._selector(spec),
                    ports=[core.ServicePortArgs(name=f"tcp-{p.container}", port=p.container,
                                                target_port=p.container, protocol="TCP") for p in spec.ports],
                ),
                opts=opts,
            )

    def _claim(self, spec: ServiceSpec, volume: str) -> core.PersistentVolumeClaimArgs:
        return core.PersistentVolumeClaimArgs(
            metadata=meta.ObjectMetaArgs(name=k8s_pod.dns_label(volume, f"{spec.name}: volume name"),
                                         labels=self._labels(spec)),
            spec=core.PersistentVolumeClaimSpecArgs(
                access_modes=["ReadWriteOnce"],
                resources=core.VolumeResourceRequirementsArgs(requests={"storage": VOLUME_SIZE}),
            ),
        )

    def _meta(self, spec: ServiceSpec, name: str | None = None,
              annotations: Mapping[str, pulumi.Input[str]] | None = None) -> meta.ObjectMetaArgs:
        return meta.ObjectMetaArgs(name=name, namespace=self.namespace_name, labels=self._labels(spec),
                                   annotations=annotations)

    def _common_labels(self, name: str) -> dict[str, str]:
        return {
            "app.kubernetes.io/name": name,
            "app.kubernetes.io/instance": self.instance,
            "app.kubernetes.io/part-of": PART_OF,
            "app.kubernetes.io/managed-by": "pulumi",
        }

    def _selector(self, spec: ServiceSpec) -> dict[str, str]:
        """Stable labels only: a Deployment's selector cannot change."""
        return {"app.kubernetes.io/name": spec.name, "app.kubernetes.io/instance": self.instance}

    def _labels(self, spec: ServiceSpec) -> dict[str, str]:
        component = "migration" if spec.run_to_completion else spec.tier
        return {**self._common_labels(spec.name), "app.kubernetes.io/component": component}
