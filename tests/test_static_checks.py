"""The SAST wrapper's notion of a justified finding (tools/sast.py)."""

from __future__ import annotations

import pytest

from tools.sast import justified


@pytest.mark.parametrize(("line", "test_id", "ok"), [
    ('x = "/tmp"  # noqa: S108 - a mount path, not a host temp file', "B108", True),
    ('x = "/tmp"  # nosec B108 - a mount path', "B108", True),
    ('x = "/tmp"  # noqa: S108', "B108", False),  # no reason given
    ('x = "/tmp"  # noqa: S105 - something else', "B108", False),  # another rule
    ('run(cmd)  # noqa: S603, S607 - fixed argv', "B607", True),
    ("run(cmd)", "B603", False),
])
def test_justified(line: str, test_id: str, ok: bool) -> None:
    assert justified(line, test_id) is ok
