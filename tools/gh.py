"""The `gh` CLI as the CI tools call it (tools/drift_report.py, tools/environment_guard.py):
one function, so tests can stand in for GitHub with a fake `gh` on PATH. Standard library only."""

from __future__ import annotations

import json
import re
import subprocess  # nosec B404 - runs the gh CLI with fixed arguments
from collections.abc import Callable, Iterator, Sequence
from typing import Any

Runner = Callable[[Sequence[str]], str]
_NON_SPACE = re.compile(r"\S")


class GhError(RuntimeError):
    pass


def gh(args: Sequence[str]) -> str:
    result = subprocess.run(["gh", *args], capture_output=True, text=True, timeout=120,  # noqa: S603, S607 - gh CLI, fixed arguments
                            check=False)
    if result.returncode != 0:
        raise GhError(f"gh {' '.join(args[:2])} failed: {result.stderr.strip()[-500:]}")
    return result.stdout


def pages(out: str) -> Iterator[Any]:
    """The JSON documents of `gh api --paginate` output, which prints one page after the other."""
    decoder, at = json.JSONDecoder(), 0
    while (start := _NON_SPACE.search(out, at)) is not None:
        page, at = decoder.raw_decode(out, start.start())
        yield page
