"""glibc's getopt_long(), state and all.

swanctl parses its command line in several passes over one argv with one
global getopt state, rewinding ``optind`` between passes but never the
internal ``nextchar`` or permutation bounds.  Odd inputs (``-lP``, options
mixed with operands, abbreviations such as ``--list-s``) therefore behave in
ways only a faithful port reproduces, error messages included.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

NO_ARG, REQUIRED_ARG, OPTIONAL_ARG = 0, 1, 2
EOF = -1


@dataclass(frozen=True)
class LongOpt:
    name: str
    has_arg: int
    val: str


@dataclass
class Getopt:
    """One getopt state over a mutable argv (like the globals optind/optarg/opterr)."""

    argv: list[str]
    prog: str = "swanctl"
    optind: int = 1
    opterr: bool = True
    optarg: str | None = None
    optopt: str = ""
    _nextchar: str | None = None  # rest of the current short-option cluster
    _first_nonopt: int = 1
    _last_nonopt: int = 1
    _initialized: bool = False

    def _error(self, msg: str) -> None:
        if self.opterr:
            sys.stdout.flush()
            print(f"{self.prog}: {msg}", file=sys.stderr, flush=True)

    def _exchange(self) -> None:
        bottom, middle, top = self._first_nonopt, self._last_nonopt, self.optind
        a = self.argv
        a[bottom:top] = a[middle:top] + a[bottom:middle]
        self._first_nonopt += self.optind - self._last_nonopt
        self._last_nonopt = self.optind

    def _nonoption(self) -> bool:
        arg = self.argv[self.optind]
        return not arg.startswith("-") or arg == "-"

    def getopt_long(self, optstring: str, longopts: list[LongOpt]) -> int | str:
        """Next option character (str), '?' on error, or EOF (-1)."""
        argc = len(self.argv)
        self.optarg = None
        if self.optind == 0 or not self._initialized:
            if self.optind == 0:
                self.optind = 1
            self._first_nonopt = self._last_nonopt = self.optind
            self._nextchar = None
            self._initialized = True

        if not self._nextchar:
            if self._last_nonopt > self.optind:
                self._last_nonopt = self.optind
            if self._first_nonopt > self.optind:
                self._first_nonopt = self.optind
            # PERMUTE ordering: move skipped operands behind the options
            if self._first_nonopt != self._last_nonopt and self._last_nonopt != self.optind:
                self._exchange()
            elif self._last_nonopt != self.optind:
                self._first_nonopt = self.optind
            while self.optind < argc and self._nonoption():
                self.optind += 1
            self._last_nonopt = self.optind

            if self.optind != argc and self.argv[self.optind] == "--":
                self.optind += 1
                if self._first_nonopt != self._last_nonopt and self._last_nonopt != self.optind:
                    self._exchange()
                elif self._first_nonopt == self._last_nonopt:
                    self._first_nonopt = self.optind
                self._last_nonopt = argc
                self.optind = argc

            if self.optind == argc:
                if self._first_nonopt != self._last_nonopt:
                    self.optind = self._first_nonopt
                return EOF

            if self.argv[self.optind][1:2] == "-":
                self._nextchar = self.argv[self.optind][2:]
                return self._long(optstring, longopts)
            self._nextchar = self.argv[self.optind][1:]

        c, self._nextchar = self._nextchar[0], self._nextchar[1:]
        if not self._nextchar:
            self.optind += 1
        pos = optstring.find(c)
        if pos < 0 or c in ":;":
            self._error(f"invalid option -- '{c}'")
            self.optopt = c
            return "?"
        if optstring[pos + 1:pos + 2] == ":":
            if optstring[pos + 2:pos + 3] == ":":  # optional argument
                if self._nextchar:
                    self.optarg = self._nextchar
                    self.optind += 1
                self._nextchar = None
            else:
                if self._nextchar:
                    self.optarg = self._nextchar
                    self.optind += 1
                elif self.optind == argc:
                    self._error(f"option requires an argument -- '{c}'")
                    self.optopt = c
                    c = ":" if optstring.startswith(":") else "?"
                else:
                    self.optarg = self.argv[self.optind]
                    self.optind += 1
                self._nextchar = None
        return c

    def _long(self, optstring: str, longopts: list[LongOpt]) -> int | str:
        assert self._nextchar is not None
        name, eq, value = self._nextchar.partition("=")
        found: LongOpt | None = next((o for o in longopts if o.name == name), None)
        if found is None:
            candidates = [(i, o) for i, o in enumerate(longopts) if o.name.startswith(name)]
            if candidates:
                first = candidates[0][1]
                ambiguous = [o for _, o in candidates if (o.has_arg, o.val) != (first.has_arg, first.val)]
                if ambiguous:
                    names = " ".join(f"'--{o.name}'" for o in [first, *ambiguous])
                    self._error(f"option '--{self._nextchar}' is ambiguous; possibilities: {names}")
                    self._nextchar = None
                    self.optind += 1
                    self.optopt = ""
                    return "?"
                found = first
        if found is None:
            self._error(f"unrecognized option '--{self._nextchar}'")
            self._nextchar = None
            self.optind += 1
            self.optopt = ""
            return "?"
        self.optind += 1
        self._nextchar = None
        if eq:
            if found.has_arg:
                self.optarg = value
            else:
                self._error(f"option '--{found.name}' doesn't allow an argument")
                self.optopt = found.val
                return "?"
        elif found.has_arg == REQUIRED_ARG:
            if self.optind < len(self.argv):
                self.optarg = self.argv[self.optind]
                self.optind += 1
            else:
                self._error(f"option '--{found.name}' requires an argument")
                self.optopt = found.val
                return ":" if optstring.startswith(":") else "?"
        return found.val
