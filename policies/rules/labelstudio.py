"""Label Studio's own security settings, read from the environment its containers get.

Each Label Studio container's effective env is gathered across platforms: Docker `envs`, Kubernetes
`env` over `envFrom` ConfigMaps/Secrets, and ConfigMaps carrying Label Studio settings. Defaults are
Label Studio 1.23.2's (shared/reference/label-studio-1.23.2-env-vars.txt): an unset DEBUG is True,
unset signup is open, unset analytics are on, SSRF protection and CSRF checks default on.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence

from rules.base import ADVISORY, MANDATORY, Config, Finding, View, rule
from rules.shapes import K8S_CONFIGMAP, LabelStudioEnv, label_studio_envs
from rules.wire import truthy


def _bool(ls: LabelStudioEnv, setting: str, default: bool) -> bool | None:
    """The setting as Label Studio reads it; None when it comes from a reference we cannot read."""
    var = ls.lookup(setting)
    if var is None:
        return default
    return truthy(var.value) if var.value is not None else None


def _apps(views: Sequence[View]) -> Iterator[LabelStudioEnv]:
    """Containers (complete env); ConfigMaps are judged only on what they set."""
    yield from label_studio_envs(views)


def _complete(ls: LabelStudioEnv) -> bool:
    return ls.view.type != K8S_CONFIGMAP


@rule(name="ls-signup-invite-only", severity="high", level=MANDATORY, stack=True,
      description="Label Studio signup works only with an invite link "
                  "(LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK=true).",
      why="Open signup lets anyone who reaches the URL create an account and read every project.",
      remediation="Set LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK=true (components/ls_env.py does).")
def ls_signup_invite_only(views: Sequence[View], _config: Config) -> Iterator[Finding]:
    for ls in _apps(views):
        value = _bool(ls, "DISABLE_SIGNUP_WITHOUT_LINK", False)
        if value is False and (_complete(ls) or ls.lookup("DISABLE_SIGNUP_WITHOUT_LINK")):
            yield f"{ls.where}: signup without an invite link is enabled", ls.view.urn


@rule(name="ls-csrf-enforced", severity="high", level=MANDATORY, stack=True,
      description="CSRF checks are never disabled (USE_ENFORCE_CSRF_CHECKS is not false).",
      why="Without CSRF checks any web page a logged-in annotator visits can act as them.",
      remediation="Remove USE_ENFORCE_CSRF_CHECKS=false; fix 403s with CSRF_TRUSTED_ORIGINS instead.")
def ls_csrf_enforced(views: Sequence[View], _config: Config) -> Iterator[Finding]:
    for ls in _apps(views):
        if _bool(ls, "USE_ENFORCE_CSRF_CHECKS", True) is False:
            yield f"{ls.where}: USE_ENFORCE_CSRF_CHECKS is false", ls.view.urn


MUST_BAN = ("127.0.0.0/8", "169.254.0.0/16", "::1/128", "fe80::/10")  # loopback and cloud metadata


def _ban_gaps(ls: LabelStudioEnv) -> list[str]:
    var = ls.lookup("USER_ADDITIONAL_BANNED_SUBNETS")
    banned = []
    for part in (var.value or "").split(",") if var and var.value is not None else []:
        try:
            banned.append(ipaddress.ip_network(part.strip(), strict=False))
        except ValueError:
            continue
    gaps = []
    for needed in MUST_BAN:
        net = ipaddress.ip_network(needed)
        if not any(net.version == b.version and net.subnet_of(b) for b in banned):  # type: ignore[arg-type]
            gaps.append(needed)
    return gaps


@rule(name="ls-ssrf-protection", severity="high", level=MANDATORY, stack=True,
      description="SSRF protection stays on: SSRF_PROTECTION_ENABLED and ML_BLOCK_LOCAL_IP not false; "
                  "if the default banned subnets are off, loopback and link-local (metadata) stay banned.",
      why="Storages, ML backends and webhooks make Label Studio fetch URLs users choose: without the ban "
          "they reach the cloud metadata service and internal admin endpoints.",
      remediation="Keep the defaults, or ban the default list minus exactly your internal targets "
                  "(components/ssrf.py computes that list).")
def ls_ssrf_protection(views: Sequence[View], _config: Config) -> Iterator[Finding]:
    for ls in _apps(views):
        for setting in ("SSRF_PROTECTION_ENABLED", "ML_BLOCK_LOCAL_IP"):
            if _bool(ls, setting, True) is False:
                yield f"{ls.where}: {setting} is false", ls.view.urn
        if _bool(ls, "USE_DEFAULT_BANNED_SUBNETS", True) is False:
            gaps = _ban_gaps(ls)
            if gaps:
                yield (f"{ls.where}: default banned subnets are off and {', '.join(gaps)} "
                       f"are not in USER_ADDITIONAL_BANNED_SUBNETS", ls.view.urn)


@rule(name="ls-debug-off", severity="high", level=MANDATORY, stack=True,
      description="Django DEBUG is off (Label Studio's default is on).",
      why="DEBUG pages show settings, SQL and stack traces to anyone who triggers an error.",
      remediation="Set DEBUG=false (and leave DEBUG_MODAL_EXCEPTIONS unset).")
def ls_debug_off(views: Sequence[View], _config: Config) -> Iterator[Finding]:
    for ls in _apps(views):
        if _bool(ls, "DEBUG", True) is True and (_complete(ls) or ls.lookup("DEBUG")):
            yield f"{ls.where}: DEBUG is on", ls.view.urn
        if _bool(ls, "DEBUG_MODAL_EXCEPTIONS", False) is True:
            yield f"{ls.where}: DEBUG_MODAL_EXCEPTIONS is on", ls.view.urn


@rule(name="ls-secret-key-from-secret", severity="critical", level=MANDATORY, stack=True,
      description="Django SECRET_KEY is set, from a secret (a Pulumi secret on Docker, a secretKeyRef on "
                  "Kubernetes).",
      why="Unset, each replica writes its own random key (sessions and tokens break); plain, anyone with "
          "the state can forge sessions.",
      remediation="Generate it (pulumi-random) and pass it as a secret / secretKeyRef.")
def ls_secret_key_from_secret(views: Sequence[View], _config: Config) -> Iterator[Finding]:
    for ls in _apps(views):
        var = ls.lookup("SECRET_KEY")
        if var is None and _complete(ls):
            yield f"{ls.where}: SECRET_KEY is not set", ls.view.urn
        elif var is not None and not var.from_secret and var.source != "other":
            yield f"{ls.where}: SECRET_KEY is not from a secret ({var.source})", ls.view.urn


@rule(name="ls-host-https", severity="high", level=MANDATORY, stack=True, production_only=True,
      description="In production LABEL_STUDIO_HOST and CSRF_TRUSTED_ORIGINS are https, and session cookies "
                  "are secure.",
      why="Over http, session cookies and API tokens travel in clear text and browsers refuse secure cookies.",
      remediation="Set `labelstudio:publicUrl` to an https URL behind a TLS Ingress.")
def ls_host_https(views: Sequence[View], _config: Config) -> Iterator[Finding]:
    for ls in _apps(views):
        host = ls.lookup("LABEL_STUDIO_HOST")
        if host is not None and host.value is not None and not host.value.startswith("https://"):
            yield f"{ls.where}: LABEL_STUDIO_HOST is {host.value}, not https", ls.view.urn
        elif host is None and _complete(ls):
            yield f"{ls.where}: LABEL_STUDIO_HOST is not set", ls.view.urn
        origins = ls.lookup("CSRF_TRUSTED_ORIGINS")
        for origin in (origins.value or "").split(",") if origins and origins.value else []:
            if origin.strip() and not origin.strip().startswith("https://"):
                yield f"{ls.where}: CSRF trusted origin {origin.strip()} is not https", ls.view.urn
        if _bool(ls, "SESSION_COOKIE_SECURE", False) is False and _complete(ls):
            yield f"{ls.where}: SESSION_COOKIE_SECURE is off", ls.view.urn


@rule(name="ls-database-tls", severity="high", level=MANDATORY, stack=True, production_only=True,
      description="In production Label Studio verifies its database's TLS certificate "
                  "(POSTGRE_SSL_MODE verify-full or verify-ca).",
      why="Without verification the database password and all labels can be read or changed in transit.",
      remediation="Set `labelstudio:postgresSslMode: verify-full` with `postgresSslRootCert`.",
      options={"modes": {"type": "array", "items": {"type": "string"}, "default": ["verify-full", "verify-ca"],
                         "description": "accepted sslmodes"}})
def ls_database_tls(views: Sequence[View], config: Config) -> Iterator[Finding]:
    accepted = list(config.get("modes") or [])
    for ls in _apps(views):
        if not _complete(ls) or ls.lookup("DJANGO_DB") is None:
            continue
        mode = ls.lookup("POSTGRE_SSL_MODE")
        if mode is not None and mode.value is None:
            continue  # from a reference or not known yet
        shown = mode.value if mode is not None else "unset"
        if shown not in accepted:
            yield f"{ls.where}: POSTGRE_SSL_MODE is {shown}, not {' or '.join(accepted)}", ls.view.urn


@rule(name="ls-telemetry-off", severity="low", level=ADVISORY, stack=True,
      description="Analytics and vendor error reporting are off (COLLECT_ANALYTICS=false, SENTRY_DSN and "
                  "FRONTEND_SENTRY_DSN empty).",
      why="Label Studio sends usage analytics and error reports (with URLs and user agents) to the vendor "
          "by default; data-protection reviews usually want that off.",
      remediation="Set COLLECT_ANALYTICS=false, SENTRY_DSN= and FRONTEND_SENTRY_DSN= (empty).")
def ls_telemetry_off(views: Sequence[View], _config: Config) -> Iterator[Finding]:
    for ls in _apps(views):
        if not _complete(ls):
            continue
        if _bool(ls, "COLLECT_ANALYTICS", True) is not False:
            yield f"{ls.where}: COLLECT_ANALYTICS is on", ls.view.urn
        for setting in ("SENTRY_DSN", "FRONTEND_SENTRY_DSN"):
            var = ls.lookup(setting)
            if var is None or (var.value or "").strip() or var.from_secret:
                yield f"{ls.where}: {setting} is not empty (vendor error reporting)", ls.view.urn
