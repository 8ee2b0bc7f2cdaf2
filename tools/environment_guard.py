"""Guard of the production deploy job (.github/workflows/pulumi-deploy.yml): GitHub creates an
environment named in a workflow on first use WITHOUT protection, so a repository whose admin
has not yet configured `production` would deploy prod with no approval. This check fails the
job, before any Pulumi step, unless the environment requires reviewers and limits the branches
that may deploy to it.

    python3 -m tools.environment_guard production     # GH_TOKEN, GITHUB_REPOSITORY set

Needs `actions: read` (GitHub's environments API). Standard library only.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from typing import Any

from tools.gh import Runner, gh

SETTINGS = "Settings > Environments > {name}"


def problems(name: str, environment: Mapping[str, Any]) -> list[str]:
    rules = environment.get("protection_rules") or []
    reviewers = [r for rule in rules if rule.get("type") == "required_reviewers" for r in rule.get("reviewers") or []]
    where = SETTINGS.format(name=name)
    found = []
    if not reviewers:
        found.append(f"environment {name} requires no reviewer: its deploys would need no approval; fix: "
                     f"{where} > Required reviewers (add the people or team who approve production)")
    if not environment.get("deployment_branch_policy"):
        found.append(f"environment {name} lets any branch deploy; fix: {where} > Deployment branches and tags > "
                     "Protected branches only (or the branch `main`)")
    return found


def check(name: str, repo: str, run: Runner = gh) -> list[str]:
    environment = json.loads(run(["api", f"repos/{repo}/environments/{name}"]))
    return problems(name, environment)


def main(argv: list[str], env: Mapping[str, str] = os.environ, run: Runner = gh) -> int:
    if len(argv) != 1 or not env.get("GITHUB_REPOSITORY") or not env.get("GH_TOKEN"):
        print("usage: python3 -m tools.environment_guard <environment> (GH_TOKEN, GITHUB_REPOSITORY set)",
              file=sys.stderr)
        return 2
    try:
        found = check(argv[0], env["GITHUB_REPOSITORY"], run)
    except (RuntimeError, ValueError) as err:  # no answer is no proof of protection: fail closed
        print(f"environment_guard: cannot read environment {argv[0]}: {err}; fix: give the job "
              "`permissions: actions: read`", file=sys.stderr)
        return 1
    for problem in found:
        print(f"environment_guard: {problem}", file=sys.stderr)
    if not found:
        print(f"environment_guard: environment {argv[0]} requires reviewers and limits its branches")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
