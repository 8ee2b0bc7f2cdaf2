"""Dependency audit: pip-audit over the project venv (runtime, pack and dev pins), PyPI's advisory data.

    python -m tools.dep_audit          # exit 1 on a known vulnerability
    DEP_AUDIT_STRICT=1 python -m tools.dep_audit   # also exit 1 when a package could not be audited

Where the vulnerability service cannot be reached every package comes back "not audited"; that is
said loudly, never reported as a clean audit.
"""

from __future__ import annotations

import json
import os
import subprocess  # nosec B404 - runs pip-audit, a fixed command
import sys


def main() -> int:
    command = [sys.executable, "-m", "pip_audit", "--vulnerability-service", "pypi", "--progress-spinner", "off",
               "-f", "json"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - fixed argv
    try:
        deps = json.loads(result.stdout)["dependencies"]
    except (ValueError, KeyError):
        print(f"dep-audit: pip-audit failed: {result.stderr.strip()[-500:]}")
        return 1
    vulnerable = [d for d in deps if d.get("vulns")]
    skipped = [d for d in deps if "skip_reason" in d]
    for dep in vulnerable:
        ids = ", ".join(v["id"] + (f" (fixed in {', '.join(v['fix_versions'])})" if v.get("fix_versions") else "")
                        for v in dep["vulns"])
        print(f"dep-audit: {dep['name']} {dep['version']}: {ids}")
    audited = len(deps) - len(skipped)
    print(f"dep-audit: {audited} of {len(deps)} packages audited, {len(vulnerable)} vulnerable")
    if skipped:
        print(f"dep-audit: WARNING: {len(skipped)} package(s) NOT audited (e.g. {skipped[0]['name']}: "
              f"{skipped[0]['skip_reason']}); the vulnerability service is probably unreachable from here")
    strict = os.environ.get("DEP_AUDIT_STRICT") == "1"
    return 1 if vulnerable or (strict and skipped) else 0


if __name__ == "__main__":
    sys.exit(main())
