"""Day-2 settings: monitoring (Kubernetes only) and the admin API token after a rotation.

Read and checked like every other key (components/settings.py); defaults live in `DEFAULTS`
(components/settings_schema.py) only. Each problem names the key, the bad value and the fix.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from components.secret import Secret
from components.settings_kubernetes import DNS_LABEL, LABEL_VALUE, pairs
from components.settings_schema import NAMESPACE, Monitoring

if TYPE_CHECKING:
    from components.settings import _Reader

MONITORING_KEYS = ("monitoringEnabled", "monitoringLabels", "monitoringNamespace", "postgresExporterImage")
# Label Studio applies a legacy token only if it is longer than 5; tokens (hex or JWT) are printable
# ASCII, and anything else breaks the Authorization header and the env var it travels in.
_TOKEN = re.compile(r"[!-~]{6,200}")


def parse_monitoring(r: _Reader, image: str) -> Monitoring:
    """`image`: the exporter image, read (and checked as pinned) by the caller's image reader."""
    namespace = r.string("monitoringNamespace")
    if not DNS_LABEL.fullmatch(namespace):
        r.fail("monitoringNamespace", f"{r.show('monitoringNamespace', namespace)} is not a namespace name; "
               "fix: the namespace Prometheus runs in, e.g. monitoring")
    return Monitoring(
        enabled=r.boolean("monitoringEnabled"),
        labels=pairs(r, "monitoringLabels", LABEL_VALUE, "release=kube-prometheus-stack"),
        namespace=namespace,
        exporter_image=image,
    )


def admin_api_token(r: _Reader) -> Secret | None:
    token = r.secret("adminApiToken")  # reports a plain-text value itself
    if token is not None and not _TOKEN.fullmatch(token.value):
        r.fail("adminApiToken", "is not an API token (6 to 200 printable ASCII characters, no spaces; the value "
               "is not shown); "
               f"fix: `pulumi config set --secret {NAMESPACE}:adminApiToken <the token Label Studio shows>`")
    return token


# What the PostgreSQL exporter's driver (lib/pq) accepts; it refuses allow and prefer.
EXPORTER_SSL_MODES = ("disable", "require", "verify-ca", "verify-full")


def cross_checks(r: _Reader, platform: str, monitoring: Monitoring, ssl_mode: str) -> None:
    if monitoring.enabled and ssl_mode not in EXPORTER_SSL_MODES:
        r.fail("postgresSslMode", f"{ssl_mode!r} is not supported by the PostgreSQL exporter monitoring deploys "
               f"(lib/pq: {', '.join(EXPORTER_SSL_MODES)}); fix: use require or verify-full")
    if platform == "kubernetes" and not monitoring.enabled:
        for key in MONITORING_KEYS[1:]:
            if r.given(key) and r.raw.get(key) != []:
                r.fail(key, "is only used with monitoringEnabled: true; fix: remove it or set monitoringEnabled: true")
