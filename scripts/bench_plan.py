"""Plan time of each repo stack as a ratio to the floor: importing pulumi and its providers.

The floor imports pulumi and every provider module the program's components import, read from
their import lines: pulumi_kubernetes with the API groups it declares (the bare `import
pulumi_kubernetes` is lazy and loads no resource classes, so it would not be a floor any program
that uses it can reach).

    .venv/bin/python scripts/bench_plan.py [--runs N]

Each figure is the median of N fresh processes, run in interleaved rounds in this one run, so
the ratio holds on a noisy shared machine. Target: plan <= 1.5x the floor.
"""

from __future__ import annotations

import os
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


# Children run as Python runs on a user's machine: with its bytecode cache (some sandboxes set
# PYTHONDONTWRITEBYTECODE, which would recompile this project's modules in every process, while the
# providers' site-packages come precompiled). A warm-up round fills the cache before timing.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def seconds(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=CHILD_ENV, check=True,  # noqa: S603 - our own code
                   capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 7
    stacks = sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml"))
    modules = provider_modules()
    programs = {"floor": "import " + ", ".join(modules),
                **{stack: f"from tools.plan import run; run({stack!r})" for stack in stacks}}
    # Interleaved rounds (floor, then each stack): a slow spell of the shared machine hits all of
    # them alike, so the ratio of the medians holds where back-to-back blocks would not.
    for code in programs.values():  # warm-up: bytecode cache, file cache
        seconds(code)
    samples: dict[str, list[float]] = {name: [] for name in programs}
    for _ in range(runs):
        for name, code in programs.items():
            samples[name].append(seconds(code))
    floor = statistics.median(samples["floor"])
    print(f"floor (import {', '.join(modules)}): {floor:.2f}s  (median of {runs} interleaved rounds)")
    worst = 0.0
    for stack in stacks:
        median = statistics.median(samples[stack])
        ratio = median / floor
        per_round = statistics.median(s / f for s, f in zip(samples[stack], samples["floor"], strict=True))
        worst = max(worst, ratio)
        print(f"plan {stack:<6} {median:.2f}s  ratio {ratio:.2f}x  (per-round median {per_round:.2f}x; "
              f"target <= {TARGET}x)")
    print(f"worst ratio {worst:.2f}x: {'within' if worst <= TARGET else 'OVER'} target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
