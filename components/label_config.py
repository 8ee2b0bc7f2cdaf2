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
        return ["is empty; fix: give a <View> label config"]
    if _DECLARATION.search(label_config):
        return ["declares a DTD or entity, which Label Studio refuses; fix: remove <!DOCTYPE>/<!ENTITY>"]
    try:
        root = ET.fromstring(label_config)  # noqa: S314 - screened above
    except ET.ParseError as err:
        return [f"is not well-formed XML ({err}); fix: correct the XML at that place"]
    if root.tag != "View":
        return [f"root tag is <{root.tag}>; the root must be <View>; fix: wrap the config in <View>...</View>"]
    return []


def name_problems(label_config: str) -> list[str]:
    """What Label Studio checks next on create: tag names are unique and every toName names a tag.

    Call only once `problems()` found nothing.
    """
    root = ET.fromstring(label_config)  # noqa: S314 - problems() screened it
    names = [el.attrib["name"] for el in root.iter() if "name" in el.attrib]
    found = []
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        found.append(f"uses the name {', '.join(map(repr, twice))} on more than one tag, which Label Studio "
                     "refuses; fix: give every tag its own name")
    for el in root.iter():
        for target in el.attrib.get("toName", "").split(",") if "toName" in el.attrib else ():
            if target not in names:
                found.append(f'<{el.tag}> has toName="{target}", but no tag is named so; '
                             f"fix: use one of {', '.join(sorted(set(names))) or '(no names yet)'}")
    return found
