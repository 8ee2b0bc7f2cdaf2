"""Drift report of the scheduled drift check (.github/workflows/pulumi-drift.yml): one GitHub
issue per stack, opened when its drift job fails, commented on while it keeps failing, closed
when a later check finds no drift. Runs after the drift jobs, with the `gh` CLI.

    python -m tools.drift_report dev prod     # GH_TOKEN, GITHUB_REPOSITORY, GITHUB_RUN_ID set

The drift job of stack S is the job named "drift S" in this run. Standard library only.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tools.gh import Runner, gh, pages

LABEL = "drift"
FAILED = ("failure", "timed_out")


def title(stack: str) -> str:
    return f"Drift check failed: stack {stack}"


def job_name(stack: str) -> str:
    return f"drift {stack}"


@dataclass(frozen=True)
class Action:
    kind: str  # "open", "comment", "close" or "none"
    stack: str
    issue: int | None = None
    body: str = ""


def decide(stack: str, conclusion: str | None, open_issue: int | None, run_url: str) -> Action:
    """What to do with stack's issue, given its drift job's conclusion in this run."""
    if conclusion in FAILED:
        if open_issue is not None:
            return Action("comment", stack, open_issue, f"Still failing in {run_url}.")
        return Action("open", stack, None, failure_body(stack, run_url))
    if conclusion == "success" and open_issue is not None:
        return Action("close", stack, open_issue, f"No drift in {run_url}: closing.")
    return Action("none", stack, open_issue)  # no drift and no issue, or the job was cancelled/skipped


def failure_body(stack: str, run_url: str) -> str:
    return f"""The scheduled drift check of stack `{stack}` failed: {run_url}

It runs `pulumi preview --refresh --expect-no-changes` against the deployed stack. It fails when
the real resources no longer match the program on `main` (someone changed them outside Pulumi,
or a resource disappeared), or when the check itself could not run (credentials, an update in
progress): the job log says which, with the diff.

To see the same locally: `pulumi preview --stack {stack} --refresh --expect-no-changes --diff`.
To resolve: run the deploy workflow (or `make up STACK={stack}`) to put the resources back as the
program says, or change the program in a pull request to accept the new state.

This issue is updated by every failing check and closed by the first check that finds no drift."""


def conclusions(run: Runner, repo: str, run_id: str) -> dict[str, str]:
    """Job name -> conclusion ("" while unknown) of this run's jobs. `gh api --paginate` prints
    one JSON page after the other."""
    out = run(["api", "--paginate", f"repos/{repo}/actions/runs/{run_id}/jobs?per_page=100"])
    return {str(job["name"]): str(job.get("conclusion") or "") for page in pages(out) for job in page.get("jobs", [])}


def open_issues(run: Runner, repo: str) -> dict[str, int]:
    """Title -> number of the open drift issues."""
    out = run(["issue", "list", "--repo", repo, "--state", "open", "--label", LABEL,
               "--json", "number,title", "--limit", "200"])
    return {issue["title"]: int(issue["number"]) for issue in json.loads(out or "[]")}


def apply(run: Runner, repo: str, action: Action) -> None:
    if action.kind == "open":
        run(["label", "create", LABEL, "--repo", repo, "--force", "--color", "D93F0B",
             "--description", "The scheduled Pulumi drift check failed"])
        run(["issue", "create", "--repo", repo, "--title", title(action.stack), "--label", LABEL,
             "--body", action.body])
    elif action.kind == "comment":
        run(["issue", "comment", str(action.issue), "--repo", repo, "--body", action.body])
    elif action.kind == "close":
        run(["issue", "close", str(action.issue), "--repo", repo, "--comment", action.body])


def report(stacks: Sequence[str], env: Mapping[str, str], run: Runner = gh) -> list[Action]:
    repo, run_id = env["GITHUB_REPOSITORY"], env["GITHUB_RUN_ID"]
    run_url = f"{env.get('GITHUB_SERVER_URL', 'https://github.com')}/{repo}/actions/runs/{run_id}"
    jobs = conclusions(run, repo, run_id)
    issues = open_issues(run, repo)
    absent = [job_name(stack) for stack in stacks if job_name(stack) not in jobs]
    if absent:
        raise RuntimeError(f"no job named {', '.join(absent)} in run {run_id}; fix: name each drift job "
                           "`drift <stack>` (jobs.drift.name in the drift workflow)")
    actions = []
    for stack in stacks:
        action = decide(stack, jobs.get(job_name(stack)), issues.get(title(stack)), run_url)
        apply(run, repo, action)
        actions.append(action)
        print(f"drift_report: stack {stack}: job {jobs[job_name(stack)] or 'unfinished'}, "
              f"issue: {action.kind}{f' #{action.issue}' if action.issue else ''}")
    return actions


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m tools.drift_report <stack>...", file=sys.stderr)
        return 2
    missing = [name for name in ("GH_TOKEN", "GITHUB_REPOSITORY", "GITHUB_RUN_ID") if not os.environ.get(name)]
    if missing:
        print(f"drift_report: {', '.join(missing)} not set; fix: run it in the drift workflow's report job",
              file=sys.stderr)
        return 2
    try:
        report(argv, os.environ)
    except RuntimeError as err:  # GhError included
        print(f"drift_report: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
