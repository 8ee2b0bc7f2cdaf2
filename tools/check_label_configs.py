"""Validate label-config files offline, as Label Studio 1.23.2 would (for pre-commit hooks and CI).

    python -m tools.check_label_configs seed/label-configs/*.xml seed/projects/*.yaml

A `.xml` file is a label config; a `.yaml`/`.yml` file is a seed project file (its labelConfig or
labelConfigFile is checked with the rest of it, paths relative to the current directory).
Prints one line per problem (`FILE: problem`) and exits 1 at the first invalid file, 2 on usage
errors, 0 when every file is valid.
"""

from __future__ import annotations

import sys
from pathlib import Path

from components import label_config
from components.seed_files import MAX_FILE_BYTES
from components.seed_spec import load_seed_project


def file_problems(path: str) -> list[str]:
    if path.endswith((".yaml", ".yml")):
        return load_seed_project(Path.cwd(), path)[1]
    try:
        data = Path(path).read_bytes()[: MAX_FILE_BYTES + 1]
    except OSError as err:
        return [f"{path}: cannot be read ({err.strerror})"]
    if len(data) > MAX_FILE_BYTES:
        return [f"{path}: is larger than {MAX_FILE_BYTES // 1024} KiB; fix: shorten it"]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        return [f"{path}: is not UTF-8 text (offset {err.start}); fix: save it as UTF-8"]
    return [f"{path}: {problem}" for problem in label_config.problems(text)]


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m tools.check_label_configs FILE...  (label config XML or seed project YAML; "
              "exit 1 at the first invalid file, one line per problem)", file=sys.stderr)
        return 2
    for path in argv:
        found = file_problems(path)
        if found:
            print("\n".join(found))
            return 1
    print(f"{len(argv)} label config file(s) valid")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
