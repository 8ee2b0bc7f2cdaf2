"""Kubernetes adapter: renders ServiceSpecs as workloads in one namespace.

Namespace-wide: the provider (kubeconfig, context), the namespace (created, labelled Pod
Security `restricted`, or an existing one), a default-deny NetworkPolicy and DNS egress.
Per spec: a ServiceAccount (no token), a Secret for its secret env and one for its files
(auto-named: pulumi-kubernetes replaces a changed Secret, and the new name rolls the pods),
the workload, a ClusterIP Service named after the spec (in-cluster host names equal the Docker
aliases: "postgres", "app", ...; SSRF targets get a fixed ClusterIP), its NetworkPolicy, and for
serving workloads an Ingress (public), HorizontalPodAutoscaler and PodDisruptionBudget.
Workload: a CronJob for scheduled specs, a Job for run-to-completion steps, a StatefulSet
(claims + headless Service) for services whose volumes have a size, a Deployment otherwise.
Pods: `components/k8s_pod.py`; flows: `components/k8s_network.py`; Ingress/HPA/PDB: `components/k8s_web.py`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes
from pulumi_kubernetes import apiextensions
from pulumi_kubernetes.apps import v1 as apps
from pulumi_kubernetes.autoscaling import v2 as autoscaling
from pulumi_kubernetes.batch import v1 as batch
from pulumi_kubernetes.core import v1 as core
from pulumi_kubernetes.meta import v1 as meta
from pulumi_kubernetes.networking import v1 as net
from pulumi_kubernetes.policy import v1 as policy

from components import k8s_network, k8s_pod, k8s_web, ssrf
from components.k8s_checkov import skip_annotations
from components.k8s_objects import (
    StepFailedError,
    cron_job_spec,
    instance_label,
    object_name,
    require_complete,
    service_port_name,
)
from components.settings import Settings
from components.spec import ServiceSpec

PART_OF = "label-studio"
AFTER_ANNOTATION = "labelstudio/after"  # holds a workload until the gate resolves
# SSRF targets' fixed ClusterIPs: the Service CIDR's network address + 12, + 13, ... (+ 1 is the
# API server and + 10 conventionally the cluster DNS, on kubeadm, EKS and GKE alike).
FIRST_CLUSTER_IP = 12

Workload = apps.Deployment | apps.StatefulSet | batch.Job | batch.CronJob
__all__ = ["KubernetesPlatform", "StepFailedError", "Workload", "require_complete"]


class KubernetesPlatform:
    """Creates the stack's namespace once, then the objects of each ServiceSpec in it."""

    def __init__(self, settings: Settings, parent: pulumi.Resource) -> None:
        self.settings = settings
        k8s = settings.kubernetes
        self.instance = instance_label(settings.stack)
        self.provider = kubernetes.Provider("kubernetes", kubernetes.ProviderArgs(
            kubeconfig=k8s.kubeconfig or None, context=k8s.context or None,
        ), pulumi.ResourceOptions(parent=parent))
        self._host_aliases: dict[str, str] = {}  # host name -> fixed ClusterIP (SSRF targets' dotted aliases)
        if k8s.create_namespace:
            namespace = core.Namespace(
                "namespace",
                metadata=meta.ObjectMetaArgs(
                    name=settings.namespace,
                    labels={
                        **self._common_labels(PART_OF),
                        "app.kubernetes.io/component": "namespace",
                        # restricted Pod Security Standard: enforced, and reported on apply too
                        **{f"pod-security.kubernetes.io/{mode}": "restricted"
                           for mode in ("enforce", "audit", "warn")},
                    },
                ),
                # Deleting a namespace deletes its PersistentVolumeClaims (the database): destroy
                # leaves it, and with it the data, in place.
                opts=self._opts(parent, retain_on_delete=True),
            )
            # An Output, so every namespaced object waits for the namespace.
            self.namespace_name: pulumi.Output[str] = object_name(namespace)
        else:  # an existing namespace: its owner labels it for Pod Security (README)
            self.namespace_name = pulumi.Output.from_input(settings.namespace)
        for name, spec in (("default-deny", k8s_network.default_deny()), ("allow-dns", k8s_network.allow_dns())):
            net.NetworkPolicy(name, metadata=self._meta_for(name, "network"), spec=spec, opts=self._opts(parent))

    def _opts(self, parent: pulumi.Resource, **kwargs: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=parent, provider=self.provider, **kwargs)

    def ssrf_address(self, name: str) -> str:
        """The fixed ClusterIP of Service `name`, low in the Service CIDR (dynamic ClusterIPs are
        taken from the top first), so the SSRF allow-list opens exactly it."""
        return ssrf.fixed_address(self.settings.kubernetes.service_cidr, name, FIRST_CLUSTER_IP)

    def succeeded(self, step: pulumi.Resource) -> pulumi.Output[str]:
        """The Job's name once it completed; a dependent workload takes it as an annotation."""
        if not isinstance(step, batch.Job):
            raise TypeError(f"succeeded() takes a run-to-completion step (a Job), got {type(step).__name__}")
        # Output.all hands over plain dicts, not the typed outputs: read them as mappings.
        return pulumi.Output.all(step.metadata, step.status).apply(
            lambda a: require_complete(self.settings.namespace, (a[0] or {}).get("name"), a[1]))

    def schedule(self, spec: ServiceSpec, parent: pulumi.Resource) -> Workload | None:
        """`spec` on its schedule: a CronJob."""
        if spec.schedule is None:
            raise ValueError(f"{spec.name}: schedule() takes a spec with a schedule")
        return self.run(spec, parent)

    def run(
        self,
        spec: ServiceSpec,
        parent: pulumi.Resource,
        depends_on: Sequence[pulumi.Resource] = (),
        gate: pulumi.Output[str] | None = None,
    ) -> Workload:
        """The objects of `spec`; the workload is created only after `gate` resolved."""
        opts = self._opts(parent)
        labels = self._labels(spec)
        selector_labels = self._selector(spec)
        identity = self.settings.kubernetes.account_annotations if spec.cloud_identity else ()
        account = core.ServiceAccount(
            spec.name,
            metadata=self._meta(spec, name=spec.name, annotations=dict(identity) or None),
            automount_service_account_token=False,
            opts=opts,
        )
        refs = k8s_pod.PodRefs(
            service_account=object_name(account),
            env_secret=self._secret(f"{spec.name}-env", spec, dict(k8s_pod.pod_secret_env(spec)), opts),
            files_secret=self._secret(f"{spec.name}-files", spec, {
                key: f.content for f, key in k8s_pod.pod_files(spec)}, opts),
            host_aliases=tuple((ip, host) for host, ip in self._host_aliases.items()),
            spread_by=selector_labels,
        )
        once = spec.run_to_completion or spec.schedule is not None
        claims = bool(spec.volumes) and all(v.size for v in spec.volumes) and not once
        if not once:
            self._services(spec, opts, headless=claims)
        k8s = self.settings.kubernetes
        monitoring = self.settings.monitoring
        flows = k8s_network.service_policy(spec, selector_labels, self.instance, k8s.ingress_controller_namespace,
                                           k8s.egress_cidrs, monitoring.namespace if monitoring.enabled else None)
        net.NetworkPolicy(f"{spec.name}-network", metadata=self._meta(spec, name=spec.name), spec=flows, opts=opts)
        template = k8s_pod.pod_template(spec, {**labels, **k8s_network.call_labels(spec)}, refs, claims)
        annotations: dict[str, pulumi.Input[str]] = {**skip_annotations(spec)}
        if gate is not None:
            annotations[AFTER_ANNOTATION] = gate
        workload_opts = self._opts(parent, depends_on=list(depends_on))
        selector = meta.LabelSelectorArgs(match_labels=selector_labels)
        if spec.schedule is not None:
            return self._cron_job(spec, labels, annotations, template, workload_opts)
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
                    service_name=f"{spec.name}-pods",  # the headless Service governing pod identity
                    replicas=spec.replicas,
                    selector=selector,
                    template=template,
                    volume_claim_templates=[self._claim(spec, v.name, v.size) for v in spec.volumes],
                    # Data outlives the workload, as Docker volumes are retained on delete.
                    persistent_volume_claim_retention_policy=apps.StatefulSetPersistentVolumeClaimRetentionPolicyArgs(
                        when_deleted="Retain", when_scaled="Retain"),
                ),
                opts=workload_opts,
            )
        deployment = apps.Deployment(
            spec.name,
            metadata=self._meta(spec, name=spec.name, annotations=annotations),
            spec=apps.DeploymentSpecArgs(
                replicas=spec.replicas,
                selector=selector,
                template=template,
                strategy=k8s_web.strategy(spec),
            ),
            # With an autoscaler the HPA owns the count after the first deploy: don't fight it.
            opts=self._opts(parent, depends_on=list(depends_on),
                            ignore_changes=["spec.replicas"] if spec.autoscale else None),
        )
        self._serving(spec, deployment, selector_labels, opts)
        return deployment

    def _cron_job(self, spec: ServiceSpec, labels: dict[str, str], annotations: Mapping[str, pulumi.Input[str]],
                  template: core.PodTemplateSpecArgs, opts: pulumi.ResourceOptions) -> batch.CronJob:
        """Under the spec's fixed name, so alerts and `kubectl create job --from=cronjob/<name>` find it."""
        assert spec.schedule is not None
        return batch.CronJob(spec.name, metadata=self._meta(spec, name=spec.name, annotations=annotations),
                             spec=cron_job_spec(spec.schedule, labels, template), opts=opts)

    def _serving(self, spec: ServiceSpec, deployment: apps.Deployment, selector: dict[str, str],
                 opts: pulumi.ResourceOptions) -> None:
        """Ingress (public specs), autoscaler and disruption budget of a Deployment."""
        if spec.public and spec.ports:
            annotations = k8s_web.ingress_annotations(self.settings)
            net.Ingress(spec.name, metadata=self._meta(spec, name=PART_OF, annotations=annotations),
                        spec=k8s_web.ingress_spec(self.settings, spec.name, spec.ports[0].container), opts=opts)
        if spec.autoscale:
            autoscaling.HorizontalPodAutoscaler(spec.name, metadata=self._meta(spec, name=spec.name),
                                                spec=k8s_web.autoscaler_spec(spec, object_name(deployment)), opts=opts)
        budget = k8s_web.disruption_budget_spec(spec, selector)
        if budget is not None:
            policy.PodDisruptionBudget(spec.name, metadata=self._meta(spec, name=spec.name), spec=budget, opts=opts)

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

    def _services(self, spec: ServiceSpec, opts: pulumi.ResourceOptions, headless: bool) -> None:
        """A ClusterIP Service per host name (spec.name and aliases that are DNS labels); an SSRF
        target's gets its fixed address, and its dotted aliases become host aliases of the pods
        rendered after it (as Docker's network aliases). `headless`: also the StatefulSet's
        governing Service. Published host ports are Docker-only and ignored here."""
        if not spec.ports:
            return
        fixed = self.ssrf_address(spec.name) if spec.ssrf_target else None
        names = [(spec.name, fixed)]
        for alias in spec.aliases:
            if k8s_pod.is_dns_label(alias):
                names.append((alias, None))
            elif fixed is not None:
                self._host_aliases[alias] = fixed
            else:
                pulumi.log.warn(f"{spec.name}: alias {alias!r} cannot be a Kubernetes Service name; "
                                f"in-cluster clients must use {spec.name!r}")
        if headless:
            names.append((f"{spec.name}-pods", "None"))
        for name, cluster_ip in names:
            core.Service(
                name,
                metadata=self._meta(spec, name=name),
                spec=core.ServiceSpecArgs(
                    type="ClusterIP",
                    cluster_ip=cluster_ip,
                    selector=self._selector(spec),
                    ports=[core.ServicePortArgs(name=service_port_name(p.container), port=p.container,
                                                target_port=p.container, protocol="TCP") for p in spec.ports],
                ),
                opts=opts,
            )

    def _claim(self, spec: ServiceSpec, volume: str, size: str) -> core.PersistentVolumeClaimArgs:
        return core.PersistentVolumeClaimArgs(
            metadata=meta.ObjectMetaArgs(name=k8s_pod.dns_label(volume, f"{spec.name}: volume name"),
                                         labels=self._labels(spec)),
            spec=core.PersistentVolumeClaimSpecArgs(
                access_modes=["ReadWriteOnce"],
                storage_class_name=self.settings.kubernetes.storage_class or None,
                resources=core.VolumeResourceRequirementsArgs(requests={"storage": size}),
            ),
        )

    def _meta(self, spec: ServiceSpec, name: str | None = None,
              annotations: Mapping[str, pulumi.Input[str]] | None = None) -> meta.ObjectMetaArgs:
        return meta.ObjectMetaArgs(name=name, namespace=self.namespace_name, labels=self._labels(spec),
                                   annotations=annotations or None)

    def _meta_for(self, name: str, component: str, extra_labels: Mapping[str, str] | None = None
                  ) -> meta.ObjectMetaArgs:
        """Metadata of a namespace-wide object (not of one spec)."""
        return meta.ObjectMetaArgs(name=name, namespace=self.namespace_name, labels={
            **(extra_labels or {}), **self._common_labels(PART_OF), "app.kubernetes.io/component": component})

    def custom_resource(self, name: str, api_version: str, kind: str, spec: dict[str, Any],
                        parent: pulumi.Resource, labels: Mapping[str, str],
                        depends_on: Sequence[pulumi.Resource] = ()) -> apiextensions.CustomResource:
        """A namespaced custom resource (e.g. monitoring.coreos.com/v1) of this stack, named `name`."""
        return apiextensions.CustomResource(
            name, api_version=api_version, kind=kind, metadata=self._meta_for(name, "monitoring", labels),
            spec=spec, opts=self._opts(parent, depends_on=list(depends_on)))

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
        component = spec.component or ("migration" if spec.run_to_completion else spec.name)
        return {**self._common_labels(spec.name), "app.kubernetes.io/component": component}
