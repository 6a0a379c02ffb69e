"""strongSwan's settings syntax (strongswan.conf, swanctl.conf): parser, merge rules and lookups.

The grammar, merge and reference rules follow libstrongswan's settings parser:

* ``name { ... }`` sections, ``name : ref1, ref2 { ... }`` sections inheriting from absolute paths,
  ``key = value`` (value parts joined by one space; quoted strings with escapes),
* ``include pattern`` (glob, relative to the including file, parsed in the current section),
* a key assigned twice keeps its first position and its last value; a repeated section merges,
* ``${path.to.key}`` inside a (quoted, since ``}`` ends an unquoted value) value is replaced by
  that key's value at lookup time; ``${piddir}`` defaults to ``/var/run`` as in strongSwan's
  documented defaults. Unknown references stay as they are. (A vicid extension: charon keeps the
  text literally.)

A syntax error raises :class:`SettingsError` with the file and line, and nothing is loaded.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

_NAME_STOP = set('#{}:.,="') | {" ", "\t", "\r", "\n"}
_REF = re.compile(r"\$\{([^}]*)\}")
_TRUE = {"yes", "true", "enabled", "1"}
_FALSE = {"no", "false", "disabled", "0"}
_BUILTIN_REFS = {"piddir": "/var/run"}
_TIME_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class SettingsError(ValueError):
    """A settings file could not be read or parsed."""


@dataclass
class Section:
    """One section: keys and subsections in order of first appearance, plus inheritance refs."""

    name: str = ""
    keys: dict[str, str | None] = field(default_factory=dict)
    sections: dict[str, Section] = field(default_factory=dict)
    refs: list[str] = field(default_factory=list)

    def subsection(self, name: str) -> Section:
        sec = self.sections.get(name)
        if sec is None:
            sec = self.sections[name] = Section(name)
        return sec


class _Lexer:
    """Character-level reader with the few lookaheads the grammar needs."""

    def __init__(self, text: str, path: str) -> None:
        self.text, self.path, self.pos, self.line = text, path, 0, 1

    def error(self, what: str) -> SettingsError:
        return SettingsError(f"{self.path}:{self.line}: {what}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def advance(self) -> str:
        ch = self.peek()
        self.pos += 1
        if ch == "\n":
            self.line += 1
        return ch

    def skip_blank(self, newlines: bool) -> None:
        """Skip spaces (and newlines and comments if asked)."""
        while True:
            ch = self.peek()
            if ch in (" ", "\t", "\r") or (newlines and ch == "\n"):
                self.advance()
            elif ch == "#" and newlines:
                while self.peek() not in ("", "\n"):
                    self.advance()
            else:
                return

    def name(self) -> str:
        start = self.pos
        while self.peek() and self.peek() not in _NAME_STOP:
            self.pos += 1
        if self.pos == start:
            raise self.error(f"unexpected {self.peek()!r}" if self.peek() else "unexpected end of file")
        return self.text[start:self.pos]

    def quoted(self) -> str:
        """A quoted string; the opening quote is the current character."""
        self.advance()
        out: list[str] = []
        while True:
            ch = self.advance()
            if ch == "":
                raise self.error("unterminated string")
            if ch == '"':
                return "".join(out)
            if ch == "\r":
                continue
            if ch == "\\":
                out.append(self._escape())
            else:
                out.append(ch)

    def _escape(self) -> str:
        ch = self.advance()
        if ch == "\r" and self.peek() == "\n":
            ch = self.advance()
        if ch == "\n":
            return ""  # line continuation
        return {"n": "\n", "r": "\r", "t": "\t"}.get(ch, ch)

    def value(self) -> str | None:
        """Value parts up to newline, '#', '}' or EOF, joined by single spaces."""
        parts: list[str] = []
        while True:
            self.skip_blank(newlines=False)
            ch = self.peek()
            if ch in ("", "\n", "#", "}"):
                return " ".join(parts) if parts else None
            if ch == '"':
                parts.append(self.quoted())
                continue
            start = self.pos
            while self.peek() and self.peek() not in ' \t\r\n#}"':
                self.pos += 1
            parts.append(self.text[start:self.pos])

    def include_pattern(self) -> str:
        self.skip_blank(newlines=False)
        if self.peek() == '"':
            return self.quoted()
        out: list[str] = []
        while self.peek() and self.peek() not in " \t\r\n#}":
            ch = self.advance()
            if ch == "\\" and self.peek() in ('"', "#", "}", " "):
                ch = self.advance()
            out.append(ch)
        return "".join(out)


class _Parser:
    def __init__(self, max_depth: int = 32) -> None:
        self.max_depth = max_depth
        self.files: list[str] = []

    def parse_file(self, path: str, into: Section, depth: int = 0) -> None:
        if depth > self.max_depth:
            raise SettingsError(f"{path}: includes nested too deeply")
        try:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise SettingsError(f"unable to open '{path}': {exc.strerror}") from None
        self.files.append(path)
        lex = _Lexer(text, path)
        self._statements(lex, into, depth, toplevel=True)

    def _statements(self, lex: _Lexer, sec: Section, depth: int, toplevel: bool) -> None:
        while True:
            lex.skip_blank(newlines=True)
            ch = lex.peek()
            if ch == "":
                if not toplevel:
                    raise lex.error("missing '}'")
                return
            if ch == "}":
                if toplevel:
                    raise lex.error("unexpected '}'")
                lex.advance()
                return
            self._statement(lex, sec, depth)

    def _statement(self, lex: _Lexer, sec: Section, depth: int) -> None:
        name = lex.name()
        if name == "include" and lex.peek() in (" ", "\t"):
            save = (lex.pos, lex.line)
            lex.skip_blank(newlines=False)
            if lex.peek() not in ("=", "\n", "", "#"):
                self._include(lex, sec, depth)
                return
            lex.pos, lex.line = save
        lex.skip_blank(newlines=False)
        ch = lex.peek()
        if ch == "=":
            lex.advance()
            value = lex.value()
            sec.keys[name] = value  # first position, last value (dict keeps insertion order)
        elif ch == "{":
            lex.advance()
            self._statements(lex, sec.subsection(name), depth, toplevel=False)
        elif ch == ":":
            lex.advance()
            child = sec.subsection(name)
            for ref in self._refs(lex):
                if ref not in child.refs:
                    child.refs.append(ref)
            lex.advance()  # the '{'
            self._statements(lex, child, depth, toplevel=False)
        else:
            raise lex.error(f"syntax error after '{name}'")

    def _refs(self, lex: _Lexer) -> Iterator[str]:
        while True:
            lex.skip_blank(newlines=True)
            parts = [lex.name()]
            while lex.peek() == ".":
                lex.advance()
                parts.append(lex.name())
            yield ".".join(parts)
            lex.skip_blank(newlines=True)
            if lex.peek() == ",":
                lex.advance()
                continue
            if lex.peek() != "{":
                raise lex.error("expected '{' after section references")
            return

    def _include(self, lex: _Lexer, sec: Section, depth: int) -> None:
        pattern = lex.include_pattern()
        if not os.path.isabs(pattern):
            pattern = os.path.join(os.path.dirname(lex.path) or ".", pattern)
        for match in sorted(glob.glob(pattern)):
            if os.path.isfile(match):
                self.parse_file(match, sec, depth + 1)


def parse_file(path: str | os.PathLike[str]) -> Section:
    """Parse a settings file (and its includes) into a root :class:`Section`."""
    root = Section()
    _Parser().parse_file(os.fspath(path), root)
    return root


def parse_text(text: str, path: str = "<string>") -> Section:
    """Parse settings from a string; relative includes resolve against ``path``'s directory."""
    root = Section()
    parser = _Parser()
    parser._statements(_Lexer(text, path), root, 0, toplevel=True)
    return root


def parse_bool(value: str | None, default: bool | None = None) -> bool | None:
    """strongSwan booleans: yes/true/enabled/1 and no/false/disabled/0, case-insensitive."""
    if value is None:
        return default
    low = value.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    return default


def parse_time(value: str | None, default: float | None = None) -> float | None:
    """Durations like ``30``, ``4h``, ``1.5m`` as seconds (units s, m, h, d)."""
    if value is None:
        return default
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([smhd]?)\s*", value)
    if not match:
        return default
    return float(match.group(1)) * _TIME_UNITS[match.group(2)]


def parse_int(value: str | None, default: int | None = None) -> int | None:
    """Integers as strongSwan's settings getters read them: decimal or 0x hex."""
    if value is None:
        return default
    try:
        return int(value.strip(), 0)
    except ValueError:
        return default


class Settings:
    """Read-only view of a parsed settings tree with dotted lookups and ``${}`` expansion."""

    def __init__(self, root: Section | None = None, path: str | None = None) -> None:
        self.root = root or Section()
        self.path = path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Settings:
        return cls(parse_file(path), os.fspath(path))

    def section(self, path: str) -> Section | None:
        """The first section found at a dotted path (own sections before inherited ones)."""
        found = self.candidates(path)
        return found[0] if found else None

    def candidates(self, path: str) -> list[Section]:
        """Every section that contributes to a dotted path, in lookup order.

        As in strongSwan, ``b : a { x { ... } }`` makes ``b.x`` see its own ``x`` first and then
        ``a.x``: inheritance applies at every level of the path, not only where ``:`` is written.
        """
        current = [self.root]
        for part in [p for p in path.split(".") if p]:
            nxt: list[Section] = []
            for sec in current:
                for holder in self._with_bases(sec):
                    child = holder.sections.get(part)
                    if child is not None and all(child is not c for c in nxt):
                        nxt.append(child)
            current = nxt
            if not current:
                break
        return current

    def _with_bases(self, sec: Section) -> list[Section]:
        """``sec`` followed by the sections it references, recursively, left to right; loops cut."""
        out: list[Section] = []
        todo = [sec]
        while todo:
            cur = todo.pop(0)
            if any(cur is o for o in out):
                continue
            out.append(cur)
            for ref in cur.refs:
                todo.extend(self.candidates(ref)[:1] if ref else [])
        return out

    def _expanded(self, path: str) -> list[Section]:
        """All sections (with their bases) whose keys a lookup at ``path`` consults, in order."""
        out: list[Section] = []
        for sec in self.candidates(path):
            for holder in self._with_bases(sec):
                if all(holder is not o for o in out):
                    out.append(holder)
        return out

    def raw(self, key: str) -> tuple[bool, str | None]:
        """(found, value) for a dotted key, honouring inheritance; value None for ``key =``."""
        parent, _, name = key.rpartition(".")
        for sec in self._expanded(parent):
            if name in sec.keys:
                return True, sec.keys[name]
        return False, None

    def get(self, key: str, default: str | None = None) -> str | None:
        found, value = self.raw(key)
        if not found or value is None:
            return default
        return self._expand(value, depth=0)

    def _expand(self, value: str, depth: int) -> str:
        if depth > 16 or "${" not in value:
            return value

        def sub(match: re.Match[str]) -> str:
            inner = self.get(match.group(1), _BUILTIN_REFS.get(match.group(1)))
            return match.group(0) if inner is None else self._expand(inner, depth + 1)

        return _REF.sub(sub, value)

    def get_bool(self, key: str, default: bool) -> bool:
        result = parse_bool(self.get(key), default)
        return default if result is None else result

    def get_int(self, key: str, default: int) -> int:
        result = parse_int(self.get(key), default)
        return default if result is None else result

    def get_time(self, key: str, default: float) -> float:
        result = parse_time(self.get(key), default)
        return default if result is None else result

    def keys(self, path: str) -> list[str]:
        """Key names of a section in enumeration order (own first, then inherited)."""
        return [k for k, _ in self.items(path)]

    def items(self, path: str) -> list[tuple[str, str | None]]:
        out: dict[str, str | None] = {}
        for sec in self._expanded(path):
            for k, v in sec.keys.items():
                out.setdefault(k, v)
        # `key =` stores no value: it hides an inherited key and is itself skipped
        return [(k, v) for k, v in out.items() if v is not None]

    def sections(self, path: str) -> list[str]:
        """Subsection names in enumeration order (own first, then inherited)."""
        out: dict[str, None] = {}
        for sec in self._expanded(path):
            for name in sec.sections:
                out.setdefault(name, None)
        return list(out)
