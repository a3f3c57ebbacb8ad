"""User-facing errors.

Every error a user can cause is an :class:`SnnccError`. The CLI prints its
:meth:`~SnnccError.render` and exits with code 2, never a traceback. Messages name
the object, the value, the limit and, where there is one, the way out. A broken
invariant - a bug in snncc or in a target, whatever the input - is an
:class:`InternalError`: the CLI exits 3 on it, as on any other unexpected exception.
"""
from __future__ import annotations

import difflib
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

#: characters never printed raw from a model or build file: they would move the cursor,
#: clear the screen, reorder the text (bidi overrides) or start a new line in a message
_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def is_unsafe_char(c: str) -> bool:
    """A control character (C0, DEL, C1), a lone surrogate, a line/paragraph separator or a
    bidi control."""
    return unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") or c in _BIDI


def printable(text: str, keep: str = "") -> str:
    """``text`` with every unsafe character (see :func:`is_unsafe_char`) except those in
    ``keep`` written as a Python escape (``\\n``, ``\\x1b``, ``\\u202e``)."""
    if text.isprintable():
        return text
    return "".join(c if c in keep or not is_unsafe_char(c) else repr(c)[1:-1] for c in text)


#: characters of a source line an error quotes at most
QUOTE_WIDTH = 120


def figure(n: int | float) -> str:
    """A number from a model as a message shows it: whole up to 15 digits, else 1.000e+300."""
    text = str(n)
    if isinstance(n, int) and len(text.lstrip("-")) > 15:
        digits = text.lstrip("-")
        return f"{'-' if n < 0 else ''}{digits[0]}.{digits[1:4]}e+{len(digits) - 1}"
    return text


def shown(name: str, limit: int = 60) -> str:
    """A name from a model as a message shows it: quoted, escaped, cut to ``limit`` characters."""
    s = printable(str(name))
    return f"'{s[:limit]}...' ({len(name)} characters)" if len(s) > limit else f"'{s}'"


@dataclass(frozen=True)
class Loc:
    """Where an IR node or a value came from.

    ``line`` and ``col`` are 1-based. ``origin`` names a non-file source such as a
    NIR node (``"NIR node 'lif1'"``) or a PyNN object.
    """

    file: str | None = None
    line: int | None = None
    col: int | None = None
    origin: str | None = None

    def __str__(self) -> str:
        if self.file is None:
            return printable(self.origin or "<unknown>")
        parts = [printable(self.file)]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        where = ":".join(parts)
        return f"{where}: {printable(self.origin)}" if self.origin and self.line is None else where

    def to_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @classmethod
    def from_json(cls, d) -> "Loc":
        """A Loc from JSON written by snncc; fields of the wrong type (a damaged or
        hand-made file) are dropped - a location only ever helps a message."""
        if not isinstance(d, dict):
            return cls()
        ok = {k: d[k] for k, t in (("file", str), ("line", int), ("col", int), ("origin", str))
              if isinstance(d.get(k), t) and not isinstance(d.get(k), bool)}
        return cls(**ok)


class SnnccError(Exception):
    """An error caused by the user's input; the CLI exits 2 on it."""

    exit_code = 2

    def __init__(self, message: str, loc: Loc | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.loc = loc
        self.hint = hint

    def __str__(self) -> str:
        head = f"{self.loc}: {self.message}" if self.loc is not None else self.message
        return head

    def render(self) -> str:
        """The full message: ``file:line:col: message``, the source line, a caret, a hint."""
        lines = [str(self)]
        src = source_line(self.loc)
        if src is not None:
            col = self.loc.col if self.loc and self.loc.col else 1
            if len(src) > QUOTE_WIDTH:      # a 20 MB line is quoted as the part around the column
                start = max(0, col - 1 - QUOTE_WIDTH // 3)
                cut = src[start:start + QUOTE_WIDTH]
                src = ("..." if start else "") + cut + ("..." if start + QUOTE_WIDTH < len(src) else "")
                col = col - start + (3 if start else 0)
            lines.append("    " + src)
            # Keep tabs so the caret lines up under the offending column.
            pad = "".join(c if c == "\t" else " " for c in src[: col - 1])
            lines.append("    " + pad + "^")
        if self.hint:
            lines.append(f"hint: {self.hint}")
        return "\n".join(lines)


class InternalError(Exception):
    """A broken invariant (a pass run out of order, a table that does not add up): a bug in
    snncc or a target, not the user's input. The CLI exits 3 and says how to get the traceback."""

    exit_code = 3


class MissingDependency(SnnccError):
    """A backend's SDK is not installed; one line names what to install."""


#: model files this process read (resolved paths): the only files an error message quotes
_MODEL_FILES: set[str] = set()


def register_model_file(path: str | Path) -> None:
    """Allow errors to quote lines of ``path``, a model file being compiled or run.

    A location's file name may come from anywhere (NIR metadata, an IR directory's
    network.json, a build): quoting it unchecked would print any line of any file
    (/etc/passwd, /proc/self/environ). Only files registered here are quoted."""
    _MODEL_FILES.add(os.path.realpath(path))


def source_line(loc: Loc | None) -> str | None:
    """The line ``loc`` points at, if it is in a registered model file (printable)."""
    if loc is None or loc.file is None or loc.line is None:
        return None
    if os.path.realpath(loc.file) not in _MODEL_FILES:
        return None
    try:
        text = Path(loc.file).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    if 1 <= loc.line <= len(text):
        return printable(text[loc.line - 1].rstrip("\n"), keep="\t")
    return None


def did_you_mean(word: str, choices) -> str:
    """`` (did you mean 'x'?)`` or ``""`` when nothing is close."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
