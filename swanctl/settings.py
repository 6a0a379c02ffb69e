"""strongSwan's settings syntax (swanctl.conf, strongswan.conf), as libstrongswan reads it.

Only what swanctl needs: parsing (lexer states, includes at the lexer level,
merging of repeated sections and keys) and lookups that follow section
references (``conn : other { ... }``) the way settings.c resolves them, since
the keys swanctl sends for a connection are whatever that enumeration yields.
A file that fails to parse yields no settings at all; the errors are logged
as libstrongswan logs them.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

NAME_CHARS = re.compile(r'[^#{}:.,="\r\n\t ]+')
REF_NAME = re.compile(r'[^#{}:.,="\r\n\t ]+(?:\.[^#{}:.,="\r\n\t ]+)*')
VALUE_PART = re.compile(r'[^#}"\r\n\t ]+')
INCLUDE = re.compile(r"include[\t ]+(?=[^=])")
INC_PART = re.compile(r'[^"\\#}\r\n\t ]+')

Log = Callable[[str], None]


@dataclass
class Section:
    name: str | None
    kv: dict[str, str | None] = field(default_factory=dict)  # insertion order = kv_order
    sections: dict[str, Section] = field(default_factory=dict)
    refs: list[tuple[str, bool]] = field(default_factory=list)  # (absolute name, permanent)

    def add_kv(self, key: str, value: str | None) -> None:
        self.kv[key] = value  # an existing key keeps its position

    def add_ref(self, name: str, permanent: bool = False) -> None:
        i = 0
        for i, (ref, perm) in enumerate(self.refs):  # noqa: B007
            if perm and not permanent:
                break
            if perm == permanent and ref == name:
                return
        else:
            i = len(self.refs)
        self.refs.insert(i, (name, permanent))

    def add_section(self, section: Section) -> None:
        assert section.name is not None
        found = self.sections.get(section.name)
        if found is None:
            self.sections[section.name] = section
        else:
            found.extend(section)

    def extend(self, ext: Section) -> None:
        """settings_section_extend() without purging (merging a repeated section)."""
        for sub in ext.sections.values():
            self.add_section(sub)
        for key, value in ext.kv.items():
            self.add_kv(key, value)
        for ref, permanent in ext.refs:
            if not permanent:
                self.add_ref(ref)


class ParseError(Exception):
    pass


# -- lexer --------------------------------------------------------------------

@dataclass
class Token:
    kind: str  # NAME STRING { } = : , . NEWLINE STRING_ERROR EOF
    value: str = ""
    line: int = 0
    file: str | None = None


@dataclass
class _Buffer:
    name: str | None
    data: str
    pos: int = 0
    line: int = 1
    # glob matches of the most recent include in this file, not yet opened
    pending: list[str] = field(default_factory=list)


class Lexer:
    """The flex scanner of settings_lexer.l, states ref/val/inc/str included."""

    def __init__(self, log: Log) -> None:
        self.log = log
        self.files: list[_Buffer] = []
        self.states: list[str] = []
        self.pushback: list[Token] = []
        self.inc_buf = ""  # include pattern being scanned
        self.str_buf = ""  # quoted string being scanned

    # files ----------------------------------------------------------------
    def open_main(self, pattern: str) -> bool:
        root = _Buffer(None, "")
        root.pending = self._matches(None, pattern)
        self.files.append(root)
        return self._open_next()

    def _matches(self, current: str | None, pattern: str) -> list[str]:
        if current is not None and not os.path.isabs(pattern):
            pattern = os.path.join(os.path.dirname(current) or ".", pattern)
        try:
            found = sorted(glob.glob(pattern))
        except OSError as e:
            self.log(f"expanding file pattern '{pattern}' failed: {e.strerror}")
            return []
        if not found:
            self.log(f"no files found matching '{pattern}'")
        return found

    def _open_next(self) -> bool:
        """file_next(): the next readable regular file of the innermost include."""
        while self.files:
            top = self.files[-1]
            while top.pending:
                name = top.pending.pop(0)
                try:
                    with open(name, "rb") as f:
                        if not os.path.isfile(name):
                            raise OSError
                        data = f.read().decode("utf-8", "surrogateescape")
                except OSError:
                    continue  # "unable to open" is only a DBG2 message
                self.files.append(_Buffer(name, data))
                return True
            return False
        return False

    def _include(self, pattern: str) -> None:
        cur = self.files[-1]
        if not pattern:
            self.error_msg("no include pattern specified, ignored")
            return
        cur.pending = self._matches(cur.name, pattern)
        self._open_next()

    def _pop_buffer(self) -> bool:
        """End of the current file: continue with the next match or the including file."""
        done = self.files.pop()
        del done
        if not self.files:
            return False
        if self._open_next():
            return True
        # the including file continues (the root pseudo-buffer means: all done)
        return self.files[-1].name is not None

    def where(self) -> tuple[str | None, int]:
        for buf in reversed(self.files):
            if buf.name is not None:
                return buf.name, buf.line
        return None, 0

    def error_msg(self, msg: str) -> None:
        name, line = self.where()
        self.log(f"{name}:{line}: {msg}" if name else msg)

    # scanning ---------------------------------------------------------------
    def _tok(self, kind: str, value: str = "") -> Token:
        name, line = self.where()
        return Token(kind, value, line, name)

    def next(self) -> Token:
        if self.pushback:
            return self.pushback.pop()
        while True:
            if not self.files or self.files[-1].name is None:
                return self._tok("EOF")
            buf = self.files[-1]
            state = self.states[-1] if self.states else "init"
            if buf.pos >= len(buf.data):
                if state == "val":
                    self.states.pop()
                    return self._tok("NEWLINE")
                if state == "inc":
                    self.states.pop()
                    self._include(self.inc_buf)
                    continue
                if state == "str":
                    self.states.pop()
                    self.error_msg("unterminated string detected")
                    return self._tok("STRING_ERROR")
                if not self._pop_buffer():
                    if not self.files or self.files[-1].name is None:
                        return self._tok("EOF")
                continue
            tok = getattr(self, f"_scan_{state}")(buf)
            if tok is not None:
                return tok

    def _skip_blank(self, buf: _Buffer) -> bool:
        """Comments, whitespace and (outside values) newlines; True if something was eaten."""
        c = buf.data[buf.pos]
        if c in " \t\r":
            buf.pos += 1
            return True
        if c == "\n":
            buf.pos += 1
            buf.line += 1
            return True
        if c == "#":
            end = buf.data.find("\n", buf.pos)
            buf.pos = len(buf.data) if end < 0 else end
            return True
        return False

    def _scan_init(self, buf: _Buffer) -> Token | None:
        if self._skip_blank(buf):
            return None
        d, p = buf.data, buf.pos
        c = d[p]
        if c in "{}":
            buf.pos += 1
            return self._tok(c)
        if c in ".,":
            buf.pos += 1
            return self._tok(c)
        if c == ":":
            buf.pos += 1
            self.states.append("ref")
            return self._tok(":")
        if c == "=":
            buf.pos += 1
            self.states.append("val")
            return self._tok("=")
        if c == '"':
            buf.pos += 1
            self.error_msg("unexpected string detected")
            return self._tok("STRING_ERROR")
        m = INCLUDE.match(d, p)
        if m:
            buf.pos = m.end()
            self.inc_buf = ""
            self.states.append("inc")
            return None
        m = NAME_CHARS.match(d, p)
        assert m
        buf.pos = m.end()
        return self._tok("NAME", m.group())

    def _scan_ref(self, buf: _Buffer) -> Token | None:
        if self._skip_blank(buf):
            return None
        c = buf.data[buf.pos]
        if c == ",":
            buf.pos += 1
            return self._tok(",")
        m = REF_NAME.match(buf.data, buf.pos)
        if m:
            buf.pos = m.end()
            return self._tok("NAME", m.group())
        self.states.pop()  # anything else is scanned in the initial state
        return None

    def _scan_val(self, buf: _Buffer) -> Token | None:
        c = buf.data[buf.pos]
        if c in " \t\r":
            buf.pos += 1
            return None
        if c in "#}\n":
            self.states.pop()  # the character itself is scanned again in the initial state
            return self._tok("NEWLINE")
        if c == '"':
            buf.pos += 1
            self.str_buf = ""
            self.states.append("str")
            return None
        m = VALUE_PART.match(buf.data, buf.pos)
        assert m
        buf.pos = m.end()
        return self._tok("NAME", m.group())

    def _scan_inc(self, buf: _Buffer) -> Token | None:
        d, p = buf.data, buf.pos
        c = d[p]
        if c == "\r":
            buf.pos += 1
            return None
        if c in "#}\n\t ":
            if c in "\t ":
                buf.pos += 1
            self.states.pop()
            self._include(self.inc_buf)
            return None
        if c == '"':
            buf.pos += 1
            self.str_buf = ""
            self.states.append("str")
            return None
        if c == "\\":
            if p + 1 < len(d) and d[p + 1] in '"#} ':
                self.inc_buf += d[p + 1]
                buf.pos += 2
            else:
                self.inc_buf += "\\"
                buf.pos += 1
            return None
        m = INC_PART.match(d, p)
        assert m
        self.inc_buf += m.group()
        buf.pos = m.end()
        return None

    def _scan_str(self, buf: _Buffer) -> Token | None:
        d, p = buf.data, buf.pos
        c = d[p]
        if c == "\r":
            buf.pos += 1
            return None
        if c == '"':
            buf.pos += 1
            self.states.pop()
            if self.states and self.states[-1] == "inc":
                self.states.pop()
                self._include(self.inc_buf + self.str_buf)
                return None
            return self._tok("STRING", self.str_buf)
        if c == "\\":
            nxt = d[p + 1] if p + 1 < len(d) else ""
            if nxt == "":
                buf.pos += 1
                self.states.pop()
                self.error_msg("unterminated string detected")
                return self._tok("STRING_ERROR")
            if nxt in "nrt":
                self.str_buf += {"n": "\n", "r": "\r", "t": "\t"}[nxt]
                buf.pos += 2
            elif nxt == "\n" or d.startswith("\r\n", p + 1):
                buf.pos += 2 if nxt == "\n" else 3
                buf.line += 1
            else:
                self.str_buf += nxt
                buf.pos += 2
            return None
        end = p
        while end < len(d) and d[end] not in '\\\r"':
            end += 1
        chunk = d[p:end]
        buf.line += chunk.count("\n")
        self.str_buf += chunk
        buf.pos = end
        return None


# -- parser -------------------------------------------------------------------

# bison's yytnamerr() drops the quotes of a token alias unless it holds a comma
_DISPLAY = {"NAME": "NAME", "STRING": "STRING", ".": ".", ",": '","', ":": ":", "NEWLINE": "NEWLINE",
            "STRING_ERROR": "STRING_ERROR", "{": "'{'", "}": "'}'", "=": "'='", "EOF": "end of file"}


class Parser:
    """The grammar of settings_parser.y, with bison's verbose error messages."""

    def __init__(self, lexer: Lexer) -> None:
        self.lex = lexer

    def _fail(self, tok: Token, expected: list[str]) -> None:
        msg = f"syntax error, unexpected {_DISPLAY[tok.kind]}"
        if expected:
            msg += ", expecting " + " or ".join(_DISPLAY[e] for e in expected)
        self.lex.error_msg(msg)
        raise ParseError(msg)

    def statements(self, section: Section, nested: bool) -> None:
        while True:
            tok = self.lex.next()
            if tok.kind == "NEWLINE":
                continue
            if tok.kind == "NAME":
                self.statement(section, tok.value)
            elif tok.kind == "}" and nested:
                return
            elif tok.kind == "EOF" and not nested:
                return
            else:
                self._fail(tok, ["NAME", "NEWLINE", "}"] if nested else ["EOF", "NAME", "NEWLINE"])

    def statement(self, parent: Section, name: str) -> None:
        tok = self.lex.next()
        if tok.kind == "{":
            sub = Section(name)
            self.statements(sub, True)
            parent.add_section(sub)
        elif tok.kind == ":":
            refs = [self._expect_name()]
            while True:
                tok = self.lex.next()
                if tok.kind == ",":
                    refs.append(self._expect_name())
                elif tok.kind == "{":
                    break
                else:
                    self._fail(tok, [",", "{"])
            sub = Section(name)
            for ref in refs:
                sub.add_ref(ref)
            self.statements(sub, True)
            parent.add_section(sub)
        elif tok.kind == "=":
            parts: list[str] = []
            while True:
                tok = self.lex.next()
                if tok.kind in ("NAME", "STRING"):
                    parts.append(tok.value)
                else:
                    # bison reduces the setting on anything else; the token is the next statement's
                    self.lex.pushback.append(tok)
                    break
            parent.add_kv(name, " ".join(parts) if parts else None)
        else:
            self._fail(tok, [":", "{", "="])

    def _expect_name(self) -> str:
        tok = self.lex.next()
        if tok.kind != "NAME":
            self._fail(tok, ["NAME"])
        return tok.value


def parse_file(path: str, log: Log, *, quiet_missing: bool = False) -> Section | None:
    """settings_parser_parse_file(): the root section, or None (already logged) on failure."""
    lexer = Lexer(log)
    if not lexer.open_main(path):
        if not quiet_missing:
            log(f"failed to open config file '{path}'")
        return None
    root = Section(None)
    try:
        Parser(lexer).statements(root, False)
    except ParseError:
        log(f"invalid config file '{path}'")
        return None
    return root


def parse_string(text: str, log: Log, name: str = "<string>") -> Section | None:
    lexer = Lexer(log)
    lexer.files = [_Buffer(None, ""), _Buffer(name, text)]
    root = Section(None)
    try:
        Parser(lexer).statements(root, False)
    except ParseError:
        return None
    return root


# -- lookups ------------------------------------------------------------------

class Settings:
    """A parsed tree with libstrongswan's reference-following lookups."""

    def __init__(self, root: Section | None = None) -> None:
        self.top = root or Section(None)

    @classmethod
    def load(cls, path: str, log: Log, *, quiet_missing: bool = False) -> Settings:
        """settings_create(): an empty tree if the file is missing or broken."""
        return cls(parse_file(path, log, quiet_missing=quiet_missing))

    def add_fallback(self, key: str, fallback: str) -> None:
        """add_fallback(): KEY's section (created if needed) permanently references FALLBACK."""
        section = self.top
        for part in key.split("."):
            if part not in section.sections:
                section.sections[part] = Section(part)
            section = section.sections[part]
        section.add_ref(fallback, True)

    def _find_sections(self, section: Section, parts: list[str], ignore_refs: bool,
                       found_list: list[Section]) -> None:
        """find_sections_buffered()."""
        head, rest = parts[0], parts[1:]
        found = section if head == "" else section.sections.get(head)
        if found is not None:
            if rest:
                self._find_sections(found, rest, False, found_list)
            elif not any(s is found for s in found_list):
                found_list.append(found)
                for ref, _ in found.refs:
                    self._resolve(ref, found_list)
        if not ignore_refs and section is not found and section.refs:
            for ref, _ in list(section.refs):
                resolved: list[Section] = []
                self._resolve(ref, resolved)
                for reference in resolved:
                    self._find_sections(reference, parts, True, found_list)

    def _resolve(self, ref: str, found_list: list[Section]) -> None:
        self._find_sections(self.top, ref.split("."), False, found_list)

    def sections_of(self, key: str) -> list[Section]:
        found: list[Section] = []
        self._find_sections(self.top, key.split("."), False, found)
        return found

    def _find_value(self, section: Section, parts: list[str], ignore_refs: bool,
                    visited: list[Section]) -> tuple[bool, str | None]:
        """find_value_buffered() in lookup mode: (found, value)."""
        head, rest = parts[0], parts[1:]
        result: tuple[bool, str | None] = (False, None)
        if rest:
            found = section if head == "" else section.sections.get(head)
            if found is not None:
                result = self._find_value(found, rest, False, visited)
        else:
            visited.append(section)
            if head in section.kv:
                result = (True, section.kv[head])
        if not result[0] and not ignore_refs and section.refs:
            for ref, _ in section.refs:
                resolved: list[Section] = []
                self._resolve(ref, resolved)
                for other in resolved:
                    if not any(s is other for s in visited):
                        result = self._find_value(other, parts, True, visited)
                        if result[0]:
                            return result
        return result

    def get_str(self, key: str, default: str | None = None) -> str | None:
        found, value = self._find_value(self.top, key.split("."), False, [])
        return value if found and value is not None else default

    def sections(self, key: str) -> Iterator[str]:
        """create_section_enumerator(): names in order, own before inherited."""
        seen: set[str] = set()
        for section in self.sections_of(key):
            for name in list(section.sections):
                if name not in seen:
                    seen.add(name)
                    yield name

    def key_values(self, key: str) -> Iterator[tuple[str, str]]:
        """create_key_value_enumerator(): own keys first; an empty value masks an inherited one."""
        seen: set[str] = set()
        for section in self.sections_of(key):
            for name, value in list(section.kv.items()):
                if name in seen:
                    continue
                seen.add(name)
                if value is not None:
                    yield name, value
