"""Optional ML backend next to Label Studio (GPU capable)."""

from __future__ import annotations

import pulumi

from components import ls_env
from components.platform import Platform
from components.settings import Settings
from components.settings_schema import ML_BACKEND_SERVICE
from components.spec import HttpCheck, Port, Resources, ServiceSpec, Volume
from components.web_tier import APP_PORT, media_calls_of


class MLBackend(pulumi.ComponentResource):
    url: str

    def __init__(self, name: str, settings: Settings, platform: Platform, api_key: pulumi.Output[str],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("labelstudio:index:MLBackend", name, None, opts)
        ml = settings.ml_backend
        # It fetches task media from Label Studio, which may redirect to the bucket.
        media_calls, media_external = media_calls_of(settings)
        self.service = platform.run(ServiceSpec(
            name=ML_BACKEND_SERVICE,
            image=ml.image,
            # The backend fetches task media from Label Studio with this key.
            env={**dict(ml.env), **ls_env.ml_backend_env(f"http://app:{APP_PORT}", ml.port)},
            secret_env={ls_env.ML_BACKEND_API_KEY: api_key},
            ports=(Port(ml.port),),
            health=HttpCheck("/health", ml.port),
            ssrf_target=True,
            replicas=ml.replicas,
            gpu=ml.gpu,
            resources=Resources(cpu=settings.ml_cpu, memory=settings.ml_memory),
            volumes=(Volume("models", "/data"),),  # scratch for model files; root is read-only on Kubernetes
            calls=("app", *media_calls), external_ports=media_external,
            node_selector=settings.kubernetes.ml_node_selector,
            tolerations=settings.kubernetes.ml_tolerations,
        ), self)
        self.url = ml.url  # what seeded ML backend links default to
        self.register_outputs({"url": self.url})
