"""Local label-config checks, run at preview time before anything is deployed.

The parser refuses any DTD or entity declaration before parsing, so it is never open
to XXE or entity expansion (Label Studio refuses them too).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

_DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def problems(label_config: str) -> list[str]:
    """Everything wrong with `label_config`; an empty list means the config looks valid."""
    if not label_config.strip():
        return ["is empty; give a <View> label config"]
    if _DECLARATION.search(label_config):
        return ["declares a DTD or entity, which Label Studio refuses; remove <!DOCTYPE>/<!ENTITY>"]
    try:
        root = ET.fromstring(label_config)  # noqa: S314 - screened above
    except ET.ParseError as err:
        return [f"is not well-formed XML ({err})"]
    if root.tag != "View":
        return [f"root tag is <{root.tag}>; the root must be <View>"]
    return []
