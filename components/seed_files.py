"""Reading seed files safely: inside the repository only, bounded in size, UTF-8, YAML without
duplicate keys or deep nesting. Shared by project and user seed files; every problem is text
the caller prefixes with the file's name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

MAX_FILE_BYTES = 1024 * 1024  # a seed file or label config; the label config also sits in state
MAX_YAML_DEPTH = 32  # a seed file is a few levels deep; deeper is a mistake or an attack

Fail = Callable[[str], None]
UNREADABLE = object()  # parse_yaml's answer for text that is not YAML (None is an empty file)


class TooDeepError(Exception):
    """Raised by the loader when a document nests deeper than MAX_YAML_DEPTH."""


class UniqueKeyLoader(yaml.SafeLoader):
    """The safe loader, refusing a key given twice in one mapping (PyYAML keeps the last one silently)."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """Refuse deep nesting while composing, before Python's recursion limit is anywhere near."""
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise TooDeepError
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"the key {key_node.value[:40]!r} appears twice", key_node.start_mark)
                seen.add(key_node.value)
        return super().construct_mapping(node, deep)


def read_file(root: Path, base: Path, path: str, hint: str) -> tuple[Path, str, str | None]:
    """(file, its text, problem): `path` relative to `base`, which must stay inside `root`."""
    if "\x00" in path:
        return base, "", f"the path holds a NUL character; fix: give {hint}"
    try:
        file = (base / path).resolve()
    except (OSError, RuntimeError) as err:  # RuntimeError: a symlink loop
        return base, "", f"cannot be resolved ({err}); fix: give {hint}"
    if not file.is_relative_to(root):
        return file, "", f"is outside the repository; fix: keep it in the repo and give {hint}"
    try:
        if file.exists() and not file.is_file():
            return file, "", f"is not a regular file; fix: give {hint}"
        with file.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        return file, "", f"cannot be read ({err.strerror}); fix: give {hint}"
    if len(data) > MAX_FILE_BYTES:
        return file, "", f"is larger than {MAX_FILE_BYTES // 1024} KiB; fix: shorten it"
    try:
        return file, data.decode("utf-8"), None
    except UnicodeDecodeError as err:
        return file, "", f"is not UTF-8 text (byte {data[err.start]:#04x} at offset {err.start}); fix: save it as UTF-8"


def parse_yaml(text: str, fail: Fail) -> Any:
    """The document, or UNREADABLE with the problem recorded (one line, no quoted source)."""
    try:
        return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        fail(f"is not valid YAML{at} ({err.problem or err.context}); fix: correct the syntax")
    except yaml.YAMLError as err:
        fail(f"is not valid YAML ({' '.join(str(err).split())}); fix: correct the syntax")
    except TooDeepError:
        fail(f"nests more than {MAX_YAML_DEPTH} levels deep; fix: flatten it")
    return UNREADABLE


