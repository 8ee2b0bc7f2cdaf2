"""Plan time of each repo stack as a ratio to the floor: importing pulumi and its providers.

The floor imports pulumi and every provider module the program's components import, read from
their import lines: pulumi_kubernetes with the API groups it declares (the bare `import
pulumi_kubernetes` is lazy and loads no resource classes, so it would not be a floor any program
that uses it can reach).

    .venv/bin/python scripts/bench_plan.py [--runs N]

Each figure is the median of N fresh processes, measured in this one run, so the ratio holds
on a noisy shared machine. Target: plan <= 1.5x the floor.
"""

from __future__ import annotations

import re
import statistics
import subprocess  # nosec B404 - times the plan in child processes of this script
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROVIDER_IMPORT = re.compile(r"^(?:import (pulumi_\w+)|from (pulumi_kubernetes(?:\.\w+)*) import (\w+))", re.M)


def provider_modules() -> list[str]:
    """pulumi and every provider module (with its API groups) that components/ imports."""
    found = {"pulumi"}
    for source in sorted((ROOT / "components").rglob("*.py")):
        for plain, package, name in PROVIDER_IMPORT.findall(source.read_text()):
            found.add(plain or f"{package}.{name}")
    return sorted(found)
TARGET = 1.5


def timed(code: str, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True)  # noqa: S603 - our own code
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 5
    stacks = sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml"))
    modules = provider_modules()
    floor = timed("import " + ", ".join(modules), runs)
    print(f"floor (import {', '.join(modules)}): {floor:.2f}s  (median of {runs})")
    worst = 0.0
    for stack in stacks:
        seconds = timed(f"from tools.plan import run; run({stack!r})", runs)
        ratio = seconds / floor
        worst = max(worst, ratio)
        print(f"plan {stack:<6} {seconds:.2f}s  ratio {ratio:.2f}x  (target <= {TARGET}x)")
    print(f"worst ratio {worst:.2f}x: {'within' if worst <= TARGET else 'OVER'} target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
