"""Bad inputs a real user could give, found by trying to break settings and seed files.

Every one fails before any resource is declared, in one message per problem that names the
config key (or the seed file and field), shows the bad value (never a secret) and says the fix.
Nothing crashes with a traceback, hangs, or expands into a huge message.
"""

from __future__ import annotations

import contextvars
import os
from pathlib import Path
from typing import Any

import pytest

from components.settings import DEFAULTS, SettingsError, parse

ROOT = Path(__file__).resolve().parent.parent
K8S = {"platform": "kubernetes", "mediaMode": "s3", "mediaCredentials": "iam"}
ML = {"mlBackendEnabled": "true", "mlBackendImage": "ml-backend:1.0"}
EXTERNAL_PG = {"postgresMode": "external", "postgresHost": "db.example.com", "postgresPassword": "pw-value"}


def problems(raw: dict[str, Any], secret: frozenset[str] = frozenset(), base: Path = ROOT) -> list[str]:
    stack = "prod" if raw.get("platform") == "kubernetes" else "dev"
    with pytest.raises(SettingsError) as err:
        parse(raw, stack=stack, secret_keys=secret, base_dir=base)
    return err.value.problems


# --- stack config: (raw config, secret keys, a fragment one problem must contain) ---------------

BAD: list[tuple[dict[str, Any], frozenset[str], str]] = [
    # numbers: int() refuses > 4300 digits (was a ValueError traceback); only ASCII digits count
    ({"httpPort": "9" * 5000}, frozenset(), "labelstudio:httpPort: '99999"),
    ({"httpPort": "\uff18\uff10\uff18\uff10"}, frozenset(), "labelstudio:httpPort: '\uff18\uff10\uff18\uff10' is not a whole number"),  # full-width 8080
    # publicUrl: unparseable ports and hosts were tracebacks from urllib
    ({"publicUrl": "http://localhost:99999"}, frozenset(), "labelstudio:publicUrl: 'http://localhost:99999' is not a valid URL (Port out of range"),
    ({"publicUrl": "http://localhost:abc"}, frozenset(), "labelstudio:publicUrl: 'http://localhost:abc' is not a valid URL"),
    ({"publicUrl": "http://[::1"}, frozenset(), "labelstudio:publicUrl: 'http://[::1' is not a valid URL (Invalid IPv6 URL)"),
    # publicUrl: accepted before, broken at runtime
    ({**K8S, "publicUrl": "https://labels.example.com:0"}, frozenset(), "'https://labels.example.com:0' has port 0"),
    ({**K8S, "publicUrl": "https://labels.example.com:abc"}, frozenset(), "is not a valid URL"),
    ({**K8S, "publicUrl": "https://exa mple.com"}, frozenset(), "contains whitespace or control characters"),
    ({**K8S, "publicUrl": "https://la\tbels.example.com"}, frozenset(), "contains whitespace or control characters"),
    ({**K8S, "publicUrl": "https://labels.example.com/#"}, frozenset(), "has a query, fragment or credentials"),
    ({**K8S, "publicUrl": "https://labels.example.com?"}, frozenset(), "has a query, fragment or credentials"),
    ({**K8S, "publicUrl": "https://läbels.example.com"}, frozenset(), "is not ASCII; fix: write it in its punycode form xn--lbels-gra.example.com"),
    ({**K8S, "publicUrl": "https://labels_1.example.com"}, frozenset(), "is not a valid host name"),
    ({"publicUrl": "https://localhost:8080"}, frozenset(), "labelstudio:publicUrl: 'https://localhost:8080' is https, but nginx on 127.0.0.1:8080 serves plain HTTP"),
    ({"publicUrl": "http://[::1]:8080"}, frozenset(), "Docker publishes nginx on 127.0.0.1 only, not on IPv6 loopback"),
    ({"publicUrl": "http://localhost", "httpPort": "8080"}, frozenset(), "labelstudio:httpPort: 8080 differs from the port of publicUrl 'http://localhost'"),
    ({"publicUrl": "http://labels.localhost:8081"}, frozenset(), "labelstudio:httpPort: 8080 differs from the port of publicUrl"),
    # unknown keys: the likely intended key
    ({"publicURL": "http://localhost:8080"}, frozenset(), "labelstudio:publicURL: unknown key; fix: remove it or rename it to publicUrl"),
    ({"httpport": "8080"}, frozenset(), "rename it to httpPort"),
    # image repositories: a registry port is valid, a tag or a trailing '/' is not
    ({"image": "heartexlabs/label-studio:1.23.2"}, frozenset(), "is not an image repository; fix: e.g. heartexlabs/label-studio (no tag"),
    ({"image": "heartexlabs/label-studio/"}, frozenset(), "labelstudio:image: 'heartexlabs/label-studio/' is not an image repository"),
    ({"postgresImage": "bitnami/postgresql:13.4.0"}, frozenset(), "needs PostgreSQL >= 14"),
    # dockerSubnet: loopback, link-local, "this network", docker0 and /8 all passed `is_private`
    ({"dockerSubnet": "127.0.0.0/24"}, frozenset(), "labelstudio:dockerSubnet: '127.0.0.0/24' must be a private IPv4"),
    ({"dockerSubnet": "169.254.0.0/24"}, frozenset(), "inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16"),
    ({"dockerSubnet": "0.0.0.0/24"}, frozenset(), "inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16"),
    ({"dockerSubnet": "172.17.5.0/24"}, frozenset(), "overlaps Docker's default bridge 172.17.0.0/16"),
    ({"dockerSubnet": "10.0.0.0/8"}, frozenset(), "no larger than /16"),
    # Kubernetes namespaces the stack cannot create
    ({**K8S, "kubernetesNamespace": "default"}, frozenset(), "labelstudio:kubernetesNamespace: 'default' is a namespace Kubernetes owns"),
    ({**K8S, "kubernetesNamespace": "kube-system"}, frozenset(), "is a namespace Kubernetes owns"),
    # settings an embedded service silently ignored
    ({"postgresHost": "db.example.com"}, frozenset(), "labelstudio:postgresHost: is only used with postgresMode: external"),
    ({"postgresPassword": "pw-value"}, frozenset({"postgresPassword"}), "labelstudio:postgresPassword: is only used with postgresMode: external"),
    ({"postgresSslMode": "require"}, frozenset(), "labelstudio:postgresSslMode: require needs TLS, which the embedded database does not serve"),
    ({"edition": "enterprise", "redisEnabled": "true", "redisHost": "redis.example.com"}, frozenset(), "labelstudio:redisHost: is only used with redisMode: external"),
    ({"edition": "enterprise", "redisEnabled": "true", "redisTls": "true"}, frozenset(), "labelstudio:redisTls: is only used with redisMode: external"),
    ({"mediaAccessKeyId": "AKIAEXAMPLE", "mediaSecretAccessKey": "s3cret-value"}, frozenset({"mediaAccessKeyId", "mediaSecretAccessKey"}),
     "labelstudio:mediaAccessKeyId: is not used with mediaMode minio"),
    ({**K8S, "mediaAccessKeyId": "AKIAEXAMPLE", "mediaSecretAccessKey": "s3cret-value"}, frozenset({"mediaAccessKeyId", "mediaSecretAccessKey"}),
     "labelstudio:mediaSecretAccessKey: is not used with mediaCredentials iam"),
    ({**ML, "mlBackendGpu": "1"}, frozenset(), "labelstudio:mlBackendGpu: 1: the Docker platform does not attach GPUs yet"),
    ({**ML, "mlBackendReplicas": "3"}, frozenset(), "labelstudio:mlBackendReplicas: 3: the Docker platform runs one ML backend container"),
    # media
    ({**K8S, "mediaEndpoint": "https://"}, frozenset(), "labelstudio:mediaEndpoint: 'https://' is not an http(s) URL"),
    ({**K8S, "mediaEndpoint": "https://s3.example.com:99999"}, frozenset(), "labelstudio:mediaEndpoint: 'https://s3.example.com:99999' is not a valid URL"),
    ({**K8S, "mediaEndpoint": "https://AKIA:sk-in-url@s3.example.com"}, frozenset(), "labelstudio:mediaEndpoint: 'https://***@s3.example.com' has a query, fragment or credentials"),
    ({"mediaMode": "s3", "mediaCredentials": "iam", "mediaEndpoint": "http://localhost:9000"}, frozenset(), "inside its container Label Studio's localhost is itself"),
    ({**K8S, "mediaRegion": ""}, frozenset(), "labelstudio:mediaRegion: '' is not a region name"),
    ({**K8S, "mediaRegion": "eu west 1"}, frozenset(), "labelstudio:mediaRegion: 'eu west 1' is not a region name"),
    ({"mediaPort": "9001"}, frozenset(), "labelstudio:mediaPort: 9001 is the port of MinIO's console"),
    # mlBackendEnv
    ({"mlBackendEnv": ["MODEL_DIR=/a", "MODEL_DIR=/b"]}, frozenset(), "labelstudio:mlBackendEnv: MODEL_DIR is given twice"),
    ({"mlBackendEnv": ["PORT=1234"]}, frozenset(), "labelstudio:mlBackendEnv: PORT is set by the stack, which overrides it; fix: remove it and set mlBackendPort"),
    ({"mlBackendEnv": ["LABEL_STUDIO_URL=http://x"]}, frozenset(), "labelstudio:mlBackendEnv: LABEL_STUDIO_URL is set by the stack"),
    ({"mlBackendEnv": ["DB_PASSWD=hunter2"]}, frozenset(), "labelstudio:mlBackendEnv: DB_PASSWD looks like a secret"),
    ({"mlBackendEnv": ["HF_TOKEN: hf_abcdef"]}, frozenset(), "labelstudio:mlBackendEnv: HF_TOKEN looks like a secret"),
    # seed project lists
    ({"seedProjects": ["seed/projects/product-photos.yaml", "seed/projects/product-photos.yaml"]}, frozenset(),
     "seed/projects/product-photos.yaml: names its Pulumi resource project-product-photos, as seed/projects/product-photos.yaml does"),
    ({"seedProjects": ["seed/projects/product-photos.yaml", "seed/projects/./product-photos.yaml"]}, frozenset(), "names its Pulumi resource project-product-photos"),
    ({"seedProjects": ["/etc/hostname"]}, frozenset(), "labelstudio:seedProjects: /etc/hostname: is outside the repository"),
    ({"seedProjects": ["../../../../etc/passwd"]}, frozenset(), "../../../../etc/passwd: is outside the repository"),
    ({"seedProjects": ["seed"]}, frozenset(), "labelstudio:seedProjects: seed: is not a regular file"),
    ({"seedProjects": ["seed/\x00.yaml"]}, frozenset(), "the path holds a NUL character"),
    ({**EXTERNAL_PG, "postgresHost": "localhost"}, frozenset({"postgresPassword"}), "labelstudio:postgresHost: 'localhost': inside its container"),
    ({"edition": "enterprise", "redisEnabled": "true", "redisMode": "external", "redisHost": "127.0.0.1", "redisPassword": "pw-value"},
     frozenset({"redisPassword"}), "labelstudio:redisHost: '127.0.0.1': inside its container Label Studio's localhost is itself"),
    # a blank secret is as good as unset
    ({**EXTERNAL_PG, "postgresPassword": "   "}, frozenset({"postgresPassword"}), "labelstudio:postgresPassword: is required for an external database"),
    # a plain setting set with --secret would be decrypted into plain state
    ({"adminEmail": "admins@example.com"}, frozenset({"adminEmail"}), "labelstudio:adminEmail: is set as a secret, but this setting lands in plain"),
]


@pytest.mark.parametrize(("raw", "secret", "fragment"), BAD, ids=[f"{i}-{b[2][:40]}" for i, b in enumerate(BAD)])
def test_bad_input_fails_early_naming_key_value_and_fix(raw: dict[str, Any], secret: frozenset[str], fragment: str) -> None:
    found = problems(raw, secret)
    matching = [p for p in found if fragment in p]
    assert matching, found
    assert all("fix:" in p for p in matching), matching
    assert all("\n" not in p and len(p) < 600 for p in found), found


WEIRD_VALUES: list[Any] = [
    "", "   ", "\x00", "x" * 100_000, "9" * 5000, "-0", "1e3", "08080", "0x1F", "٣", "[1, 2]", "{}",
    "http://[::1", "http://h:99999", "https://", "true", "yes", "None",
    [], ["a"], [1, None], {"a": 1}, 1.5, float("nan"), -1, 10**40, True, None,
]


@pytest.mark.parametrize("value", WEIRD_VALUES, ids=[repr(v)[:20] for v in WEIRD_VALUES])
@pytest.mark.parametrize("platform", ["docker", "kubernetes"])
def test_no_value_for_any_key_crashes(value: Any, platform: str) -> None:
    for key in DEFAULTS:
        raw = {"platform": platform, key: value}
        try:
            parse(raw, stack="x", secret_keys=frozenset(), base_dir=ROOT)
        except SettingsError as err:
            assert all(len(p) < 600 and "\n" not in p for p in err.problems), (key, err.problems)


CANARY = "canary-9f8e7d"


@pytest.mark.parametrize("key", sorted(DEFAULTS))
def test_a_secret_value_never_appears_in_a_message(key: str) -> None:
    is_list = isinstance(DEFAULTS[key][0], list)
    for bad in (f"{CANARY} not valid", f"http://{CANARY}:99999", f"{CANARY}@", "9" * 30 + CANARY):
        raw = {"platform": "docker", key: [bad, bad] if is_list else bad}
        try:
            parse(raw, stack="dev", secret_keys=frozenset({key}), base_dir=ROOT)
        except SettingsError as err:
            assert CANARY not in str(err), (key, str(err))


# --- valid edge inputs that must keep working ---------------------------------------------------

def test_valid_edges_are_accepted_and_normalized() -> None:
    s = parse({**K8S, "publicUrl": "HTTPS://Labels.Example.COM:443/", "image": "registry.example.com:5000/ls",
               "ingressTlsSecret": "labels-tls"}, stack="prod", base_dir=ROOT)
    assert s.public_url == "https://labels.example.com"  # what browsers send as Origin (CSRF, CORS)
    assert s.image_ref == "registry.example.com:5000/ls:1.23.2"
    s = parse({**K8S, "publicUrl": "http://[2001:db8::1]:8443/labels/"}, stack="prod", base_dir=ROOT)
    assert s.public_url == "http://[2001:db8::1]:8443/labels"
    s = parse({"publicUrl": "http://localhost:8080/", "httpPort": "08080", "dockerSubnet": "192.168.240.0/28"},
              stack="dev", base_dir=ROOT)
    assert (s.public_url, s.http_port) == ("http://localhost:8080", 8080)


# --- seed project files ---------------------------------------------------------------------------

GOOD_CONFIG = '<View><Text name="t" value="$text"/><Choices name="c" toName="t"><Choice value="a"/></Choices></View>'
OK = "title: Good title\nlabelConfigFile: ../cfg/ok.xml\n"


def alias_bomb(levels: int = 9) -> str:
    lines = ["bomb:", '  l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, levels):
        lines.append(f"  l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 9) + "]")
    return "\n".join(lines) + f"\ntitle: *l{levels - 1}\nlabelConfig: *l{levels - 1}\nquality: {{sampling: *l{levels - 1}}}\n"


SEED_BAD: list[tuple[str, bytes, str]] = [
    ("latin1.yaml", b"title: Caf\xe9 reviews\nlabelConfigFile: ../cfg/ok.xml\n", "p/latin1.yaml: is not UTF-8 text (byte 0xe9 at offset 10)"),
    ("xmllatin1.yaml", b"title: Good title\nlabelConfigFile: ../cfg/latin1.xml\n", "labelConfigFile '../cfg/latin1.xml' is not UTF-8 text"),
    ("mixed.yaml", (OK + "1: a\nnull: b\nfoo: c\n").encode(), "p/mixed.yaml: unknown key 1"),
    ("samplist.yaml", (OK + "quality: {sampling: [uniform]}\n").encode(), "quality.sampling a list is not one of sequential, uniform, uncertainty"),
    ("sampcase.yaml", (OK + "quality: {sampling: Uniform}\n").encode(), "quality.sampling 'Uniform' is not one of"),
    ("boolint.yaml", (OK + "quality: {maximumAnnotations: true}\n").encode(), "quality.maximumAnnotations True must be a whole number from 1"),
    ("strint.yaml", (OK + "quality: {maximumAnnotations: '2'}\n").encode(), "quality.maximumAnnotations '2' must be a whole number"),
    ("hugeint.yaml", (OK + "quality: {maximumAnnotations: 100000000000000000000}\n").encode(), "must be a whole number from 1 to 2147483647"),
    ("pct.yaml", (OK + "quality: {overlapCohortPercentage: 101}\n").encode(), "quality.overlapCohortPercentage 101 must be a whole number from 0 to 100"),
    ("intbool.yaml", (OK + "quality: {showSkipButton: 1}\n").encode(), "quality.showSkipButton 1 must be true or false"),
    ("longtitle.yaml", ("title: " + "x" * 51 + "\nlabelConfigFile: ../cfg/ok.xml\n").encode(), "must be text of 3 to 50 characters"),
    ("bomb.yaml", alias_bomb().encode(), "title a list must be text of 3 to 50 characters"),
    ("deep.yaml", ("title: " + "[" * 5000 + "]" * 5000 + "\n").encode(), "p/deep.yaml: nests more than 32 levels deep; fix: flatten it"),
    ("dupkey.yaml", (OK + "quality: {maximumAnnotations: 2}\nquality: {sampling: uniform}\n").encode(), "is not valid YAML at line 4, column 1 (the key 'quality' appears twice)"),
    ("syntax.yaml", b"title: ok\nAWS_SECRET_ACCESS_KEY: abc: def\n", "p/syntax.yaml: is not valid YAML at line 2"),
    ("nul.yaml", b"title: a\x00b\n", "is not valid YAML (unacceptable character #x0000"),
    ("empty.yaml", b"", "p/empty.yaml: must be a mapping with title and labelConfig"),
    ("escape.yaml", b"title: Good title\nlabelConfigFile: ../../outside.xml\n", "labelConfigFile '../../outside.xml' is outside the repository"),
    ("abs.yaml", b"title: Good title\nlabelConfigFile: /etc/hostname\n", "labelConfigFile '/etc/hostname' is outside the repository"),
    ("reflist.yaml", b"title: Good title\nlabelConfigFile: [a, b]\n", "labelConfigFile a list must be a path"),
    ("refdir.yaml", b"title: Good title\nlabelConfigFile: ../cfg\n", "labelConfigFile '../cfg' is not a regular file"),
    ("toname.yaml", b'title: Good title\nlabelConfig: <View><Text name="t" value="$t"/><Choices name="c" toName="tt"><Choice value="a"/></Choices></View>\n',
     'has toName="tt", but no tag is named so; fix: use one of c, t'),
    ("twice.yaml", b'title: Good title\nlabelConfig: <View><Text name="t" value="$t"/><Choices name="t" toName="t"><Choice value="a"/></Choices></View>\n',
     "uses the name 't' on more than one tag"),
    ("both.yaml", b"title: Good title\nlabelConfig: <View/>\nlabelConfigFile: ../cfg/ok.xml\n", "has both or neither of labelConfig and labelConfigFile; fix: give exactly one"),
    ("yamlbool.yaml", (OK + "description: No\n").encode(), "description False must be text; fix: quote it"),
    ("qualityfalse.yaml", (OK + "quality: false\n").encode(), "quality must be a mapping of settings, not False"),
    ("novalue.yaml", b'title: Good title\nlabelConfig: <View><Text name="t"/></View>\n', "labelConfig <View><Text>: 'value' is a required property"),
]


def seed_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "cfg").mkdir(parents=True)
    (repo / "p").mkdir()
    (repo / "cfg" / "ok.xml").write_text(GOOD_CONFIG)
    (repo / "cfg" / "latin1.xml").write_bytes(b'<View><Header value="caf\xe9"/></View>')
    (tmp_path / "outside.xml").write_text(GOOD_CONFIG)
    return repo


@pytest.mark.parametrize(("name", "content", "fragment"), SEED_BAD, ids=[s[0] for s in SEED_BAD])
def test_bad_seed_file_is_named_with_field_value_and_fix(tmp_path: Path, name: str, content: bytes, fragment: str) -> None:
    repo = seed_repo(tmp_path)
    (repo / "p" / name).write_bytes(content)
    found = problems({"seedProjects": [f"p/{name}"]}, base=repo)
    matching = [p for p in found if fragment in p]
    assert matching, found
    assert all(p.startswith(f"labelstudio:seedProjects: p/{name}: ") for p in found), found
    assert all("fix:" in p for p in found), found
    assert all("\n" not in p and len(p) < 600 for p in found), found


def test_seed_files_that_are_not_regular_files_or_escape_by_symlink(tmp_path: Path) -> None:
    repo = seed_repo(tmp_path)
    os.mkfifo(repo / "p" / "fifo.yaml")  # reading it would block forever
    (repo / "p" / "out.yaml").symlink_to(tmp_path / "outside.xml")
    (repo / "p" / "loop1.yaml").symlink_to(repo / "p" / "loop2.yaml")
    (repo / "p" / "loop2.yaml").symlink_to(repo / "p" / "loop1.yaml")
    (repo / "p" / "big.yaml").write_text("title: Good title\ndescription: " + "x" * (1024 * 1024) + "\n")
    found = problems({"seedProjects": ["p/fifo.yaml", "p/out.yaml", "p/loop1.yaml", "p/big.yaml"]}, base=repo)
    for fragment in ("p/fifo.yaml: is not a regular file", "p/out.yaml: is outside the repository",
                     "p/loop1.yaml: cannot be resolved", "p/big.yaml: is larger than 1024 KiB"):
        assert any(fragment in p for p in found), (fragment, found)


def test_seed_files_whose_resource_names_collide(tmp_path: Path) -> None:
    repo = seed_repo(tmp_path)
    for path in ("a/x.yaml", "b/x.yml", "p/Photos.yaml", "p/photos.yaml", "p/产品.yaml"):
        (repo / path).parent.mkdir(exist_ok=True)
        (repo / path).write_text(OK)
    found = problems({"seedProjects": ["a/x.yaml", "b/x.yml", "p/Photos.yaml", "p/photos.yaml", "p/产品.yaml"]}, base=repo)
    assert any(p.startswith("labelstudio:seedProjects: b/x.yml: names its Pulumi resource project-x, as a/x.yaml") for p in found)
    assert any("p/photos.yaml: names its Pulumi resource project-photos, as p/Photos.yaml" in p for p in found)
    assert any("p/产品.yaml: its file name has no letter or digit" in p for p in found)


def test_the_checked_slug_is_the_resource_name_the_program_declares() -> None:
    from components.seed_spec import resource_slug
    from tools.plan import run

    names = {r.name for r in run("dev").resources if r.type.endswith(":Project")}
    assert names == {f"project-{resource_slug(p)}" for p in
                     ("seed/projects/product-photos.yaml", "seed/projects/support-tickets.yaml")}


def test_valid_seed_edges_are_accepted(tmp_path: Path) -> None:
    repo = seed_repo(tmp_path)
    # an XML declaration, an empty description and a YAML merge key (later keys win) are fine
    (repo / "p" / "ok.yaml").write_text(
        "title: Good title\ndescription:\nlabelConfig: |\n  <?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "  <View><Text name=\"t\" value=\"$t\"/><Choices name=\"c\" toName=\"t\"><Choice value=\"a\"/></Choices></View>\n"
        "quality:\n  <<: {maximumAnnotations: 2, sampling: uniform}\n  sampling: sequential\n")
    (repo / "p" / "plain.yaml").write_text(OK)
    s = parse({"seedProjects": ["p/ok.yaml", "p/plain.yaml"]}, stack="dev", base_dir=repo)
    ok = s.seed_projects[0]
    assert ok.description == "" and ok.quality_dict == {"maximum_annotations": 2, "sampling": "Sequential sampling"}


# --- the engine's config as components/config.py reads it -----------------------------------------

def test_a_secret_that_reads_as_json_stays_the_string_it_is() -> None:
    from pulumi.runtime.config import set_all_config

    from components.config import raw_config

    def read() -> tuple[dict[str, Any], frozenset[str]]:
        set_all_config({"labelstudio:postgresPassword": '["a",1]', "labelstudio:seedProjects": '["x.yaml"]'},
                       ["labelstudio:postgresPassword"])
        return raw_config()

    raw, secret = contextvars.Context().run(read)
    assert raw["postgresPassword"] == '["a",1]' and secret == {"postgresPassword"}
    assert raw["seedProjects"] == ["x.yaml"]


# --- the whole program, offline -------------------------------------------------------------------

def test_program_reports_every_former_crash_at_once_before_any_resource(tmp_path: Path) -> None:
    from components.config import InvalidSettings
    from tools.plan import run

    stack_file = tmp_path / "Pulumi.broken.yaml"
    stack_file.write_text(
        "config:\n"
        "  labelstudio:publicUrl: http://localhost:80800\n"
        "  labelstudio:dockerSubnet: 127.0.0.0/24\n"
        "  labelstudio:mlBackendEnv: [A=1, A=2]\n"
        "  labelstudio:seedProjects:\n"
        "    - seed/projects/support-tickets.yaml\n"
        "    - seed/projects/support-tickets.yaml\n"
        "    - /etc/passwd\n"
    )
    with pytest.raises(InvalidSettings) as err:
        run("broken", stack_file)
    message = str(err.value)
    for key in ("labelstudio:publicUrl: 'http://localhost:80800' is not a valid URL", "labelstudio:dockerSubnet:",
                "labelstudio:mlBackendEnv: A is given twice", "names its Pulumi resource project-support-tickets",
                "/etc/passwd: is outside the repository"):
        assert key in message, message
    assert "Traceback" not in message


def test_program_plans_an_image_from_a_registry_with_a_port(tmp_path: Path) -> None:
    from tools.plan import run

    stack_file = tmp_path / "Pulumi.reg.yaml"
    stack_file.write_text("config:\n  labelstudio:image: registry.example.com:5000/label-studio\n")
    plan = run("reg", stack_file)
    refs = {r.inputs()["name"] for r in plan.of_type("docker:index/remoteImage:RemoteImage")}
    assert "registry.example.com:5000/label-studio:1.23.2" in refs
