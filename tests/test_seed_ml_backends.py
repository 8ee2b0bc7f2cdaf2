"""ML backend links in seed project files (mlBackends): every wrong entry reported at preview with
file, entry, key, value and fix, all at once; the stack's own backend as the default URL and only
when it is deployed; passwords only from secret config, never shown; the program declaring the links."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components.settings import Settings, SettingsError, parse

CONFIG = '<View><Text name="t" value="$text"/><Choices name="c" toName="t"><Choice value="a"/></Choices></View>'
HEAD = "title: Good title\nlabelConfigFile: ../cfg/ok.xml\nmlBackends:\n"
PASSWORD = "Ml-Backend-Pass-9"
STACK_ML: dict[str, Any] = {"mlBackendEnabled": True, "mlBackendImage": "registry.example.com/ml/model:1.0"}


def repo(tmp_path: Path, links: str) -> Path:
    (tmp_path / "cfg").mkdir(parents=True)
    (tmp_path / "cfg" / "ok.xml").write_text(CONFIG)
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "a.yaml").write_text(HEAD + links)
    return tmp_path


def settings(tmp_path: Path, links: str, *, secret: frozenset[str] = frozenset(), **raw: object) -> Settings:
    return parse({"seedProjects": ["p/a.yaml"], **raw}, stack="dev", secret_keys=secret, base_dir=repo(tmp_path, links))


def problems(tmp_path: Path, links: str, *, secret: frozenset[str] = frozenset(), **raw: object) -> list[str]:
    with pytest.raises(SettingsError) as err:
        settings(tmp_path, links, secret=secret, **raw)
    return err.value.problems


def test_a_link_with_defaults_targets_the_stacks_own_backend(tmp_path: Path) -> None:
    s = settings(tmp_path, "  - title: Model\n", **STACK_ML, mlBackendPort=9191)
    (link,) = s.seed_projects[0].ml_backends
    assert (link.url, link.title, link.description, link.interactive) == ("http://ml-backend:9191", "Model", "", False)
    assert (link.basic_auth_user, link.password, link.extra_params_dict) == ("", None, None)
    assert link.source == "p/a.yaml mlBackends[0]" and link.slug == "ml-backend-9191"
    assert s.seed_ml_backend_wait == 300


def test_every_field_reaches_the_settings_and_the_password_stays_secret(tmp_path: Path) -> None:
    s = settings(tmp_path, "  - title: ' Photos model '\n    url: HTTPS://Models.Example.com/photos/\n"
                           "    description: Baseline\n    interactive: true\n    basicAuthUser: labeling\n"
                           "    basicAuthPasswordSecret: photos\n    extraParams: {threshold: 0.5, classes: [a, b]}\n",
                 secret=frozenset({"seedMlBackendPasswords"}), seedMlBackendPasswords=json.dumps({"photos": PASSWORD}),
                 seedMlBackendWaitSeconds=600)
    (link,) = s.seed_projects[0].ml_backends
    assert (link.url, link.title, link.interactive) == ("https://models.example.com/photos", "Photos model", True)
    assert (link.basic_auth_user, link.password_name) == ("labeling", "photos")
    assert link.password is not None and link.password.value == PASSWORD
    assert PASSWORD not in repr(link) and PASSWORD not in repr(s)
    assert link.extra_params_dict == {"classes": ["a", "b"], "threshold": 0.5}
    assert s.seed_ml_backend_wait == 600


@pytest.mark.parametrize(("links", "fragment"), [
    ("  - url\n", "mlBackends must be a list of mappings, not a list; fix:"),
    ("  - {title: M, model: yolo}\n", "mlBackends[0]: unknown key 'model'; fix: use basicAuthPasswordSecret, basicAuthUser,"),
    ("  - {url: 'https://m.example.com'}\n", "mlBackends[0]: title None must be text of 1 to 200 characters; fix: name the model"),
    ("  - {title: '  '}\n", "mlBackends[0]: title '  ' must be text of 1 to 200 characters"),
    ("  - {title: [a]}\n", "mlBackends[0]: title a list must be text"),
    (f"  - {{title: {'x' * 201}}}\n", "must be text of 1 to 200 characters"),
    ("  - {title: M, url: 9090}\n", "mlBackends[0]: url 9090 must be text; fix: e.g. url: https://models.example.com/photos, or leave it out"),
    ("  - {title: M, url: 'ftp://m.example.com'}\n", "mlBackends[0]: url 'ftp://m.example.com' is not an http(s) URL; fix:"),
    ("  - {title: M, url: 'https://user:pw@m.example.com'}\n", "has a query, fragment or credentials; fix: remove them"),
    ("  - {title: M, url: 'https://m.example.com/?token=1'}\n", "has a query, fragment or credentials"),
    ("  - {title: M, url: 'https://m.example.com:99999'}\n", "is not a valid URL"),
    ("  - {title: M, url: 'http://localhost:9090'}\n", "mlBackends[0]: url 'http://localhost:9090' is a loopback or private address, which Label Studio's SSRF protection refuses"),
    ("  - {title: M, url: 'http://127.0.0.1:9090'}\n", "url 'http://127.0.0.1:9090' is a loopback or private address"),
    ("  - {title: M, url: 'http://10.1.2.3:9090'}\n", "url 'http://10.1.2.3:9090' is a loopback or private address, which Label Studio's SSRF protection refuses (and inside its container localhost is Label Studio itself); fix: leave url out to link the stack's own ML backend, or give an address"),
    ("  - {title: M, url: 'http://169.254.169.254'}\n", "url 'http://169.254.169.254' is a loopback or private address"),
    ("  - {title: M, url: 'http://[::1]:9090'}\n", "is a loopback or private address"),
    ("  - {title: M, description: [a]}\n", "mlBackends[0]: description a list must be text; fix: quote it"),
    ("  - {title: M, interactive: 'yes'}\n", "mlBackends[0]: interactive 'yes' must be true or false; fix: write true or false, unquoted"),
    ("  - {title: M, basicAuthUser: u}\n", "mlBackends[0]: basicAuthUser and basicAuthPasswordSecret go together; fix: give both"),
    ("  - {title: M, basicAuthPasswordSecret: p}\n", "basicAuthUser and basicAuthPasswordSecret go together"),
    ("  - {title: M, basicAuthUser: 'a:b', basicAuthPasswordSecret: p}\n", "mlBackends[0]: basicAuthUser 'a:b' must be a user name of 1 to 256 characters without ':'"),
    ("  - {title: M, basicAuthUser: u, basicAuthPasswordSecret: ''}\n", "mlBackends[0]: basicAuthPasswordSecret '' must be a name; fix:"),
    ("  - {title: M, extraParams: [a]}\n", "mlBackends[0]: extraParams a list must be a mapping with text keys; fix:"),
    ("  - {title: M, extraParams: {1: a}}\n", "extraParams a dict must be a mapping with text keys"),
    ("  - {title: M, extraParams: {since: 2026-01-01}}\n", "mlBackends[0]: extraParams must hold only text, numbers, true/false, lists and mappings (it is sent as JSON); fix: quote dates"),
    ("  - {title: M, extraParams: {x: .nan}}\n", "extraParams must hold only text, numbers"),
    (f"  - {{title: M, extraParams: {{x: '{'y' * 17000}'}}}}\n", "mlBackends[0]: extraParams is larger than 16 KiB as JSON; fix:"),
])
def test_bad_entries_name_file_entry_key_value_and_fix(tmp_path: Path, links: str, fragment: str) -> None:
    found = problems(tmp_path, links, **STACK_ML)
    assert any(fragment in p for p in found), found
    assert all(p.startswith("labelstudio:seedProjects: p/a.yaml: ") and "fix:" in p for p in found), found


def test_a_password_in_the_file_is_refused_and_never_shown(tmp_path: Path) -> None:
    found = problems(tmp_path, f"  - {{title: M, basicAuthUser: u, basicAuthPassword: {PASSWORD}}}\n", **STACK_ML)
    assert any("mlBackends[0]: basicAuthPassword must not be written here (a repo file is not a secret store); "
               "fix: basicAuthPasswordSecret: <name>" in p for p in found), found
    assert not any(PASSWORD in p for p in found)


def test_every_problem_of_every_entry_is_reported_at_once(tmp_path: Path) -> None:
    found = problems(tmp_path, "  - {title: '', interactive: 1}\n  - {title: M, url: 'http://127.0.0.1'}\n",
                     mlBackendPort=1)
    assert sum("mlBackends[0]:" in p for p in found) == 2 and sum("mlBackends[1]:" in p for p in found) == 1
    assert any(p.startswith("labelstudio:mlBackendPort: 1 is not a whole number") for p in found)


@pytest.mark.parametrize(("links", "fragment"), [
    ("  - title: M\n", "p/a.yaml mlBackends[0]: has no url, so it links the stack's own ML backend "
                       "(http://ml-backend:9090), but labelstudio:mlBackendEnabled is false; fix: set "
                       "labelstudio:mlBackendEnabled: true (with labelstudio:mlBackendImage), or give url:"),
    ("  - {title: M, url: 'http://ml-backend:9090'}\n", "p/a.yaml mlBackends[0]: links the stack's own ML backend "
                                                        "(http://ml-backend:9090), but labelstudio:mlBackendEnabled is false"),
])
def test_a_link_to_the_stacks_backend_needs_it_deployed(tmp_path: Path, links: str, fragment: str) -> None:
    found = problems(tmp_path, links)
    assert [p for p in found if fragment in p], found
    # a backend of one's own elsewhere needs no stack backend
    other = settings(tmp_path / "other", "  - {title: M, url: 'https://models.example.com'}\n")
    assert other.seed_projects[0].ml_backends[0].url == "https://models.example.com"


def test_the_stacks_backend_only_at_its_own_port_and_scheme(tmp_path: Path) -> None:
    found = problems(tmp_path, "  - {title: M, url: 'https://ml-backend:9191'}\n", **STACK_ML)
    assert [p for p in found if "p/a.yaml mlBackends[0]: url 'https://ml-backend:9191' names the stack's ML backend "
            "service, which Label Studio reaches at http://ml-backend:9090 only (labelstudio:mlBackendPort); fix: "
            "leave url out to link it" in p], found


@pytest.mark.parametrize("links", [
    "  - {title: A}\n  - {title: B, url: 'http://ml-backend:9090/'}\n",
    "  - {title: A, url: 'https://m.example.com/x'}\n  - {title: B, url: 'HTTPS://M.example.com/x/'}\n",
    "  - {title: A, url: 'https://m-example.com'}\n  - {title: B, url: 'http://m.example.com'}\n",
])
def test_one_link_per_backend_in_a_project(tmp_path: Path, links: str) -> None:
    found = problems(tmp_path, links, **STACK_ML)
    assert [p for p in found if "p/a.yaml mlBackends[1]: links" in p and "as p/a.yaml mlBackends[0] does" in p
            and "fix: keep one entry per backend" in p], found


@pytest.mark.parametrize(("passwords", "secret", "fragment"), [
    ({}, True, "mlBackends[0]: basicAuthPasswordSecret 'photos' is missing from the secret "
               "labelstudio:seedMlBackendPasswords (the value is not shown); fix: `pulumi config set --secret"),
    ({"photos": ""}, True, "basicAuthPasswordSecret 'photos' is not a non-empty text in the secret"),
    ({"photos": 42}, True, "basicAuthPasswordSecret 'photos' is not a non-empty text in the secret"),
    ({"photos": PASSWORD}, False, "labelstudio:seedMlBackendPasswords: is set in plain text; fix: `pulumi config rm"),
    ("not json", True, "labelstudio:seedMlBackendPasswords: must be a JSON object of names and passwords "
                       "(the value is not shown); fix:"),
    ([PASSWORD], True, "seedMlBackendPasswords: must be a JSON object"),
])
def test_passwords_come_only_from_the_secret_config(tmp_path: Path, passwords: object, secret: bool,
                                                    fragment: str) -> None:
    value = passwords if isinstance(passwords, str) else json.dumps(passwords)
    found = problems(tmp_path, "  - {title: M, basicAuthUser: u, basicAuthPasswordSecret: photos}\n",
                     secret=frozenset({"seedMlBackendPasswords"}) if secret else frozenset(),
                     seedMlBackendPasswords=value, **STACK_ML)
    assert any(fragment in p for p in found), found
    assert not any(PASSWORD in p for p in found)


@pytest.mark.parametrize("wait", [0, 5, 3601, "soon"])
def test_the_wait_is_bounded(tmp_path: Path, wait: object) -> None:
    found = problems(tmp_path, "  - title: M\n", seedMlBackendWaitSeconds=wait, **STACK_ML)
    assert [p for p in found if p.startswith(f"labelstudio:seedMlBackendWaitSeconds: {wait!r} is not a whole number "
                                             "from 10 to 3600")], found


def test_the_prod_stack_links_its_own_ml_backend() -> None:
    from tools.plan import MASK, run

    plan = run("prod")
    (link,) = [r for r in plan.resources if r.type == "pulumi-python:dynamic/labelstudio:MLBackendLink"]
    inputs = link.inputs()
    assert link.name == "project-shelf-detection-ml-ml-backend-9090"
    assert (inputs["url"], inputs["title"], inputs["backend_wait_seconds"]) == (
        "http://ml-backend:9090", "Shelf detector", 600)
    assert inputs["api_token"] == MASK and inputs["basic_auth_pass"] == MASK
    project = plan.named("project-shelf-detection")
    # made after its project and after the stack's ML backend is deployed (Label Studio checks it)
    assert project.urn in link.dependencies
    assert any("MLBackend$kubernetes:apps/v1:Deployment::ml-backend" in d for d in link.dependencies)
    assert not [r for r in run("dev").resources if r.type.endswith(":MLBackendLink")]
