"""Stack files read as the Pulumi CLI reads them; mistakes reported with the file and the fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tools import stack_file
from tools.plan import run

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "Pulumi.t.yaml"
    path.write_text(text)
    return path


def test_yaml_12_booleans_only(tmp_path: Path) -> None:
    config, _ = stack_file.read(write(tmp_path, "config:\n  labelstudio:redisEnabled: yes\n  labelstudio:x: true\n"))
    assert config == {"labelstudio:redisEnabled": "yes", "labelstudio:x": "true"}


def test_lists_become_json_and_secure_values_placeholders(tmp_path: Path) -> None:
    config, secret = stack_file.read(write(tmp_path, (
        "config:\n  labelstudio:seedProjects: [a.yaml]\n  labelstudio:postgresPassword:\n    secure: v1:abc\n")))
    assert config["labelstudio:seedProjects"] == '["a.yaml"]'
    assert config["labelstudio:postgresPassword"] == stack_file.PLACEHOLDER
    assert secret == ["labelstudio:postgresPassword"]


@pytest.mark.parametrize(("text", "fragment"), [
    ("config:\n  labelstudio:platform: [docker\n", "not valid YAML at line 3"),
    ("config:\n  labelstudio:httpPort: 8080\n  labelstudio:httpPort: 9090\n",
     "not valid YAML at line 3, column 3: the key 'labelstudio:httpPort' appears twice; fix: correct it there"),
    ("config:\n  labelstudio:x: 1\nconfig:\n  labelstudio:y: 2\n", "the key 'config' appears twice"),
    ("labelstudio:platform: kubernetes\n", "unknown top-level key 'labelstudio:platform'; fix: stack settings go under `config:`"),
    ("config:\n  platform: kubernetes\n", "config key 'platform' has no namespace; fix: write labelstudio:platform"),
    ("- config\n", "must be a mapping with a `config:` key"),
    ("config: [a]\n", "`config:` must be a mapping"),
])
def test_mistakes_are_reported_not_raised_as_tracebacks(tmp_path: Path, text: str, fragment: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(stack_file.StackFileError) as err:
        stack_file.read(path)
    assert fragment in str(err.value)
    out = subprocess.run([sys.executable, "-m", "tools.plan", "t", "--file", str(path)], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 1 and fragment in out.stderr and "Traceback" not in out.stderr


def test_yes_is_refused_by_settings_like_pulumi_would(tmp_path: Path) -> None:
    path = write(tmp_path, "config:\n  labelstudio:redisEnabled: yes\n")
    out = subprocess.run([sys.executable, "-m", "tools.plan", "t", "--file", str(path)], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 1 and "labelstudio:redisEnabled: 'yes' is not true or false" in out.stderr


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_plans_are_reproducible(stack: str) -> None:
    first, second = run(stack).to_json(), run(stack).to_json()
    assert first == second


def test_destroy_keeps_data_stores() -> None:
    dev = run("dev")
    retained = {r.name for r in dev.resources if r.retain_on_delete}
    assert {"postgres-data", "minio-data", "app-data"} <= retained
    prod = run("prod")
    assert prod.named("namespace").retain_on_delete
