"""A secret config value that never prints itself."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi


@dataclass(frozen=True)
class Secret:
    """Holds a secret from stack config; repr/str never show it."""

    value: str = field(repr=False)

    def __repr__(self) -> str:
        return "Secret([secret])"

    __str__ = __repr__

    def output(self) -> pulumi.Output[str]:
        """The value as a Pulumi secret output, so state and plans keep it encrypted."""
        return pulumi.Output.secret(self.value)
