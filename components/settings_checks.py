"""Value checks shared by settings.py and seed_spec.py: pure functions, no Pulumi.

Each check returns the problem as text (or None); the caller names the config key or the
seed file, so every message still says where, what and how to fix it.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from components import s3_names, ssrf
from components.providers.common import url_error

# Django's own host check (ALLOWED_HOSTS): anything else answers 400 "Invalid HTTP_HOST header".
_URL_HOST = re.compile(r"[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Docker's default bridge (docker0): a network overlapping it cannot be created.
DOCKER_BRIDGE = ipaddress.ip_network("172.17.0.0/16")
_RFC1918 = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
_POSTGRES_MAJOR = re.compile(r"(?:.*/)?postgres(?:ql)?:(\d+)")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRETISH = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|KEY|CREDENTIAL|PRIVATE")
# Set by the stack on the ML backend (components/ml_backend.py), after mlBackendEnv: the fix for each.
ML_BACKEND_OWN_ENV = {"LABEL_STUDIO_URL": "remove it (the stack points it at Label Studio)",
                      "PORT": "remove it and set mlBackendPort"}


def show(value: object, limit: int = 80) -> str:
    """A short, safe rendering of a bad value for a message.

    Only scalars are shown (shortened): a container is named by its type, so a YAML alias bomb
    or a huge list never expands into the message.
    """
    if isinstance(value, str):
        return repr(value if len(value) <= limit else value[:limit] + "...")
    if isinstance(value, int) and abs(value) >= 10**18:  # repr() even refuses ints of 4300+ digits
        return "a huge number"
    if value is None or isinstance(value, int | float):  # bool is an int
        return repr(value)
    return f"a {type(value).__name__}"


NOT_JSON = object()  # load_json's answer for text that is not JSON
DUPLICATE_KEY = object()  # ... for an object giving a key twice, when keys must be unique
DUPLICATE_KEY_PROBLEM = ("gives a name or field twice, and JSON keeps only the last (the value is not shown); "
                         "fix: give each once")


class _DuplicateKeyError(ValueError):
    pass


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({key for key, _ in pairs}) != len(pairs):
        raise _DuplicateKeyError
    return dict(pairs)


def load_json(text: str, *, unique_keys: bool = False) -> Any:
    """`text` as JSON, or NOT_JSON (or DUPLICATE_KEY). Never raises: json refuses deep nesting with
    RecursionError, which is not a ValueError (a traceback instead of a message, before this existed)."""
    try:
        return json.loads(text, object_pairs_hook=_unique if unique_keys else None)
    except _DuplicateKeyError:
        return DUPLICATE_KEY
    except (ValueError, RecursionError):
        return NOT_JSON


def redact_url(value: str) -> str:
    """`value` with any user:password@ part masked, for messages (never parses, never fails). Up to
    the last '@' before a query: a password holding '/' or '@' is masked whole, a path may be too."""
    return re.sub(r"//[^?#]*@", "//***@", value)


def show_url(value: object) -> str:
    """A URL for a message: shortened like any value, with its credentials masked."""
    return show(redact_url(value) if isinstance(value, str) else value)


def http_url(value: str, example: str) -> tuple[str, str | None]:
    """(the URL with scheme and host lower-cased and default port and trailing '/' dropped, problem).

    Browsers send Origin in that form; CSRF_TRUSTED_ORIGINS and CORS compare it exactly.
    """
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        return value, "contains whitespace or control characters; fix: remove them"
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as err:  # bad port, unbalanced [IPv6]
        return value, f"is not a valid URL ({url_error(err)}); fix: e.g. {example}"
    scheme, host = parts.scheme.lower(), parts.hostname or ""
    if scheme not in _DEFAULT_PORTS or not host:
        return value, f"is not an http(s) URL; fix: e.g. {example}"
    if "?" in value or "#" in value or "@" in parts.netloc:
        return value, "has a query, fragment or credentials; fix: remove them"
    if port == 0:
        return value, "has port 0; fix: a port from 1 to 65535, or none"
    if not host.isascii():
        return value, f"host {host!r} is not ASCII; fix: write it in its punycode form {_punycode(host)}"
    if not _is_ip(host) and not _URL_HOST.fullmatch(host):
        return value, f"host {host!r} is not a valid host name; fix: letters, digits, '-' and '.' only"
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), "", "")), None


def _punycode(host: str) -> str:
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return "(xn--...)"


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def is_local_host(host: str) -> bool:
    """What a browser and `pulumi up` on this machine reach through the loopback interface."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def reserved_address(host: str) -> bool:
    """An IP literal Label Studio's SSRF protection refuses (its default banned subnets; the stack
    carves out only the fixed addresses of its own targets, which are reached by name)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return ssrf.is_banned(host.strip("[]"), ssrf.DEFAULT_BANNED)


def url_port(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or _DEFAULT_PORTS.get(parts.scheme, 80)


def docker_subnet_problem(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str | None:
    """Private (RFC 1918) IPv4, /16 to /28, and clear of Docker's default bridge."""
    if net.version != 4 or not any(net.subnet_of(block) for block in _RFC1918):  # type: ignore[arg-type]
        return "must be a private IPv4 /28 or larger inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16"
    if not 16 <= net.prefixlen <= 28:
        return "must be a private IPv4 /28 or larger, and no larger than /16 (it would shadow LAN routes)"
    if net.overlaps(DOCKER_BRIDGE):
        return f"overlaps Docker's default bridge {DOCKER_BRIDGE}, so Docker cannot create it"
    return None


def docker_public_url_problem(url: str, shown: str, http_port: int) -> tuple[str, str] | None:
    """(key, problem) when a local publicUrl cannot reach nginx, which Docker publishes as plain
    HTTP on 127.0.0.1:<httpPort> only. A proxy or DNS name in front is not compared."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not is_local_host(host):
        return None
    if ":" in host:
        return "publicUrl", (f"{shown}: Docker publishes nginx on 127.0.0.1 only, not on IPv6 loopback; "
                             f"fix: http://localhost:{http_port}")
    if parts.scheme == "https":
        return "publicUrl", (f"{shown} is https, but nginx on 127.0.0.1:{http_port} serves plain HTTP; "
                             f"fix: http://localhost:{http_port} (or the host name of a TLS proxy in front)")
    if url_port(url) != http_port:
        return "httpPort", f"{http_port} differs from the port of publicUrl {shown}; fix: make them the same"
    return None


def ml_env_problem(item: str, earlier: Mapping[str, str]) -> str | None:
    """What is wrong with one `KEY=value` entry of mlBackendEnv, given the entries before it."""
    name, sep, _ = item.partition("=")
    head = re.split(r"[=:\s]", item, maxsplit=1)[0][:64]  # the name, however it was separated
    if _SECRETISH.search(head.upper()):  # first, so a malformed secret entry is never echoed whole
        return f"{head} looks like a secret and would sit in plain config; fix: remove it"
    if not sep or not _ENV_NAME.match(name):
        return f"{show(item)} is not KEY=value; fix: e.g. MODEL_DIR=/data/models"
    if name in ML_BACKEND_OWN_ENV:
        return f"{name} is set by the stack, which overrides it; fix: {ML_BACKEND_OWN_ENV[name]}"
    if name in earlier:
        return f"{name} is given twice; fix: keep one {name}=... entry"
    return None


def bucket_problem(name: str) -> str | None:
    if not s3_names.bucket_ok(name):
        return f"is not a valid S3 bucket name; fix: {s3_names.BUCKET_RULE}"
    return None


def postgres_major(image: str) -> int | None:
    """The PostgreSQL major of a `postgres:<major>...` image reference; None when it does not say."""
    match = _POSTGRES_MAJOR.match(image)
    return int(match.group(1)) if match else None


def closest_key(key: str, known: Iterable[str]) -> str:
    """The fix for an unknown key: the known key it most likely misspells, else the full list."""
    by_lower = {k.lower(): k for k in known}
    match = difflib.get_close_matches(key.lower(), by_lower, n=1, cutoff=0.75)
    if match:
        return f"rename it to {by_lower[match[0]]}"
    return f"use one of: {', '.join(sorted(by_lower.values()))}"


def redact_secrets(problems: list[str], secret_values: Iterable[Any]) -> list[str]:
    """`problems` with every secret value (4+ characters; list items and mapping values one by one) masked."""
    values: set[str] = set()
    for value in secret_values:
        items = value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else [value]
        values.update(str(v) for v in items)
    for value in sorted((v for v in values if len(v) >= 4), key=len, reverse=True):
        problems = [p.replace(value, "[secret]") for p in problems]
    return problems
