"""Parse swanctl's ``--pretty`` and ``--raw`` dumps of vici messages.

swanctl prints each vici message it receives as ``<name> {...}``: with
``--pretty`` one key per line (unambiguous: a value runs to the end of its
line), with ``--raw`` the whole message on one line.  Raw values are printed
unquoted, so a value containing " key=" (an X.509 DN, say) cannot be told
apart from the next key; the raw parser assumes vici keys are lowercase
(``[a-z0-9_.-]``), which holds for charon's and vicid's replies.  Prefer
``--pretty`` where the tests control the command line.

Result: sections are dicts, lists are ``list[str]``, values are ``str``.
"""

from __future__ import annotations

import re
from typing import Any

Message = tuple[str, dict[str, Any]]


class ParseError(ValueError):
    """The text is not a swanctl message dump."""


def parse(text: str) -> list[Message]:
    """All messages in TEXT (pretty or raw format, detected per message)."""
    lines = [ln.rstrip() for ln in text.splitlines()]
    messages: list[Message] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if line.endswith(" {") and "=" not in line:
            msg, i = _parse_pretty(lines, i)
            messages.append(msg)
        elif " {" in line and line.endswith("}"):
            messages.append(_parse_raw(line))
            i += 1
        else:
            raise ParseError(f"line {i + 1} is not part of a message dump: {line!r}")
    return messages


def _parse_pretty(lines: list[str], i: int) -> tuple[Message, int]:
    name = lines[i][: -len(" {")].strip()
    root: dict[str, Any] = {}
    stack: list[Any] = [root]
    i += 1
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        top = stack[-1]
        if isinstance(top, list):
            if line == "]":
                stack.pop()
            else:
                top.append(line)
            continue
        if line == "}":
            stack.pop()
            if not stack:
                return (name, root), i
        elif line.endswith(" {") and " = " not in line:
            top[line[:-2]] = new = {}
            stack.append(new)
        elif line.endswith(" = ["):
            top[line[:-4]] = new_list = []
            stack.append(new_list)
        elif " = " in line or line.endswith(" ="):
            key, _, value = line.partition(" =")
            top[key] = value[1:] if value.startswith(" ") else value
        elif line:
            raise ParseError(f"unexpected line in {name!r}: {line!r}")
    raise ParseError(f"message {name!r} is not terminated")


# a value ends where the next key (lowercase) or a closing brace begins
_RAW_VALUE = re.compile(r"(.*?)(?=\s+[a-z0-9_.-]+=|\s+\S+ \{|\s*\})")
_RAW_SECTION = re.compile(r"\s*([^\s={}\[\]]+) \{")
_RAW_KEY = re.compile(r"\s*([^\s={}\[\]]+)=")


def _parse_raw(line: str) -> Message:
    name, _, rest = line.partition(" {")
    body, pos = _raw_section(rest, 0)
    if rest[pos:].strip():
        raise ParseError(f"trailing text after message {name!r}: {rest[pos:]!r}")
    return name, body


def _raw_section(s: str, pos: int) -> tuple[dict[str, Any], int]:
    out: dict[str, Any] = {}
    while True:
        while pos < len(s) and s[pos] == " ":
            pos += 1
        if pos >= len(s):
            raise ParseError("unterminated section in raw dump")
        if s[pos] == "}":
            return out, pos + 1
        if m := _RAW_SECTION.match(s, pos):
            out[m.group(1)], pos = _raw_section(s, m.end())
        elif m := _RAW_KEY.match(s, pos):
            key, pos = m.group(1), m.end()
            if s.startswith("[", pos):
                end = s.index("]", pos)
                out[key] = s[pos + 1 : end].split()
                pos = end + 1
            else:
                v = _RAW_VALUE.match(s, pos)
                if v is None:
                    raise ParseError(f"cannot find the end of value {key!r}")
                out[key], pos = v.group(1), v.end()
        else:
            raise ParseError(f"unexpected raw text at {pos}: {s[pos : pos + 40]!r}")


def events(text: str, name: str) -> list[dict[str, Any]]:
    """Bodies of all messages called NAME (e.g. "list-sa event")."""
    return [body for msg_name, body in parse(text) if msg_name == name]


def sas(text: str) -> dict[str, dict[str, Any]]:
    """``swanctl --list-sas`` output as {ike_sa_name: attributes}.

    Several IKE_SAs of one connection are keyed ``name[uniqueid]`` after the
    first (charon's own notation).
    """
    out: dict[str, dict[str, Any]] = {}
    for body in events(text, "list-sa event"):
        for name, ike in body.items():
            key = name if name not in out else f"{name}[{ike.get('uniqueid', '?')}]"
            out[key] = ike
    return out


def child_sas(ike: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{child_name-uniqueid: attributes} of one IKE_SA from sas()."""
    return dict(ike.get("child-sas", {}))
