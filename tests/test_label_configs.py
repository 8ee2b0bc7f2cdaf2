"""Local label-config checks agree with a real Label Studio 1.23.2: every shipped template is accepted
by both, every broken variant is refused by both, and the local message names the problem."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml

from components.label_config import problems
from tests.realservices import LABEL_STUDIO_VENV, REPO_ROOT, LabelStudioServer


def shipped_templates() -> list[tuple[str, str]]:
    """(template path, label config) for every template in label-studio's annotation_templates."""
    roots = list(LABEL_STUDIO_VENV.glob("lib/python3*/site-packages/label_studio/annotation_templates"))
    assert roots, "Label Studio venv missing: run scripts/bootstrap-test.sh"
    found = [(str(f.relative_to(roots[0])), yaml.safe_load(f.read_text())["config"])
             for f in sorted(roots[0].rglob("config.yml"))]
    found += [(str(f.relative_to(roots[0])), f.read_text()) for f in sorted(roots[0].rglob("config.xml"))]
    return found


T = '<Text name="text" value="$text"/>'
# (case, config, what the local message must say); Label Studio refuses every one of them.
BROKEN = [
    ("unclosed tag", '<View><Text name="t" value="$t"></View>', "is not well-formed XML (mismatched tag"),
    ("not XML", "hello", "is not well-formed XML (syntax error"),
    ("empty", "", "is empty"),
    ("DTD with entity", '<!DOCTYPE View [<!ENTITY a "b">]><View>&a;</View>', "declares a DTD or entity"),
    ("bare DOCTYPE", "<!DOCTYPE View><View/>", "declares a DTD or entity"),
    ("XXE", '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><View><Text name="t" value="&e;"/></View>',
     "declares a DTD or entity"),
    ("entity expansion", '<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]><View>&b;</View>',
     "declares a DTD or entity"),
    ("undefined entity", '<View><Text name="t" value="&foo;"/></View>', "undefined entity"),
    ("duplicate names", f'<View>{T}<Choices name="text" toName="text"><Choice value="a"/></Choices></View>',
     "uses the name 'text' on more than one tag"),
    ("unknown toName", f'<View>{T}<Choices name="c" toName="nowhere"><Choice value="a"/></Choices></View>',
     'has toName="nowhere", but no tag is named so; fix: use one of c, text'),
    ("unknown name in a toName list", f'<View>{T}<Labels name="l" toName="text,ghost"><Label value="a"/></Labels></View>',
     'has toName="ghost"'),
    ("Choices without toName", f'<View>{T}<Choices name="c"><Choice value="a"/></Choices></View>',
     "<View><Choices>: 'toName' is a required property"),
    ("Choices without choices", f'<View>{T}<Choices name="c" toName="text"/></View>',
     "<View><Choices>: 'Choice' is a required property"),
    ("Choice without value", f'<View>{T}<Choices name="c" toName="text"><Choice/></Choices></View>',
     "<View><Choices><Choice>: 'value' is a required property"),
    ("Label without value", f'<View>{T}<Labels name="l" toName="text"><Label/></Labels></View>',
     "<View><Labels><Label>: 'value' is a required property"),
    ("Text without value", '<View><Text name="t"/></View>', "<View><Text>: 'value' is a required property"),
    ("nested Text without value", '<View><View><Text name="t"/></View></View>',
     "<View><View><Text>: 'value' is a required property"),
    ("Image without name", '<View><Image value="$i"/></View>', "<View><Image>: 'name' is a required property"),
    ("TextArea without toName", f'<View>{T}<TextArea name="ta"/></View>',
     "<View><TextArea>: 'toName' is a required property"),
    ("Video speed out of range", '<View><Video name="v" value="$v" defaultPlaybackSpeed="20"/></View>',
     '<Video name="v"> defaultPlaybackSpeed=20 is outside 0.05 to 10.0'),
    ("Video speed not a number", '<View><Video name="v" value="$v" minPlaybackSpeed="fast"/></View>',
     '<Video name="v"> minPlaybackSpeed="fast" is not a number'),
]
# Odd but accepted by Label Studio: the local check must not refuse them either.
ACCEPTED = ["<View/>", "<Data/>", '<View><Text name="1" value="$t"/></View>', '<View><Header value="Hi"/></View>',
            f'<View><!-- a comment --><View>{T}<Choices name="c" toName="text"><Choice value="a"/></Choices></View></View>']


def server_verdict(ls: LabelStudioServer, config: str) -> requests.Response:
    return requests.post(ls.url + "/api/projects/validate/", json={"label_config": config},
                         headers={"Authorization": f"Token {ls.api_token}"}, timeout=30)


def test_every_shipped_template_is_accepted_locally_and_by_the_server(label_studio: LabelStudioServer) -> None:
    templates = shipped_templates()
    assert len(templates) >= 100  # 69 config.yml + 33 config.xml in 1.23.2
    refused_locally = {path: problems(config) for path, config in templates if problems(config)}
    assert refused_locally == {}
    refused_by_server = {path: r.text for path, config in templates
                         if (r := server_verdict(label_studio, config)).status_code != 204}
    assert refused_by_server == {}


@pytest.mark.parametrize(("case", "config", "message"), BROKEN, ids=[case for case, _, _ in BROKEN])
def test_broken_variants_are_refused_by_both(label_studio: LabelStudioServer, case: str, config: str,
                                             message: str) -> None:
    local = problems(config)
    assert local and message in local[0], (case, local)
    assert all("fix:" in p for p in local)
    verdict = server_verdict(label_studio, config)
    assert verdict.status_code == 400, (case, verdict.text)
    assert verdict.json().get("label_config"), verdict.text


def test_what_the_server_accepts_is_accepted_locally(label_studio: LabelStudioServer) -> None:
    for config in ACCEPTED:
        assert server_verdict(label_studio, config).status_code == 204, config
        assert problems(config) == [], config


def test_the_local_parser_never_reads_an_external_entity(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do-not-read-me")
    found = problems(f'<!DOCTYPE x [<!ENTITY e SYSTEM "{secret.as_uri()}">]><View><Header value="&e;"/></View>')
    assert found and "declares a DTD or entity" in found[0] and "do-not-read-me" not in found[0]


def test_the_offline_check_command(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.xml", tmp_path / "bad.xml"
    good.write_text(f'<View>{T}<Choices name="c" toName="text"><Choice value="a"/></Choices></View>')
    bad.write_text(f'<View>{T}<Choices name="text" toName="ghost"><Choice value="a"/></Choices></View>')
    never = tmp_path / "never-read.xml"

    def run(*files: Path | str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tools.check_label_configs", *map(str, files)],
                              capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)

    ok = run(good, *sorted((REPO_ROOT / "seed" / "label-configs").glob("*.xml")), "seed/projects/product-photos.yaml")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    failed = run(good, bad, never)  # stops at the first invalid file: `never` is not looked at
    assert failed.returncode == 1
    lines = failed.stdout.splitlines()
    assert len(lines) == 2 and all(line.startswith(f"{bad}: ") for line in lines)
    assert "uses the name 'text' on more than one tag" in lines[0] and 'toName="ghost"' in lines[1]
    assert run().returncode == 2
