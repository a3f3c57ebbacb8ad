"""User-facing errors.

Every error a user can cause is an :class:`SnnccError`. The CLI prints its
:meth:`~SnnccError.render` and exits with code 2, never a traceback. Messages name
the object, the value, the limit and, where there is one, the way out.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path


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
            return self.origin or "<unknown>"
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)

    def to_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @classmethod
    def from_json(cls, d: dict | None) -> "Loc":
        return cls(**(d or {}))


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
            lines.append("    " + src)
            col = self.loc.col if self.loc and self.loc.col else 1
            # Keep tabs so the caret lines up under the offending column.
            pad = "".join(c if c == "\t" else " " for c in src[: col - 1])
            lines.append("    " + pad + "^")
        if self.hint:
            lines.append(f"hint: {self.hint}")
        return "\n".join(lines)


class VerificationFailed(SnnccError):
    """A target's result differs from its oracle; the CLI exits 1 on it."""

    exit_code = 1


class MissingDependency(SnnccError):
    """A backend's SDK is not installed; one line names what to install."""


def source_line(loc: Loc | None) -> str | None:
    if loc is None or loc.file is None or loc.line is None:
        return None
    try:
        text = Path(loc.file).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    if 1 <= loc.line <= len(text):
        return text[loc.line - 1].rstrip("\n")
    return None


def did_you_mean(word: str, choices) -> str:
    """`` (did you mean 'x'?)`` or ``""`` when nothing is close."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
