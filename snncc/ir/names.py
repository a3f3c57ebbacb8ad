"""Names in the IR: any printable text, within a length limit.

Names come from model files (YAML keys, NIR node names, PyNN labels, an IR
directory's network.json) and end up in messages, reports, data files and
labels on every target. Emitters treat them as data whatever they hold; this
check is the second line of defence: it refuses names that would move the
terminal's cursor or reorder text when printed (control characters, bidi
controls, line separators) and names too long to show in a message.
"""
from __future__ import annotations

from ..errors import Loc, SnnccError, is_unsafe_char, shown

#: the longest name (in characters) a model may give; names that passes derive from
#: it (relay populations, split projections) may be up to ``DERIVED_NAME_CHARS``
MAX_NAME_CHARS = 256
DERIVED_NAME_CHARS = 4 * MAX_NAME_CHARS


def check_name(name, what: str, loc: Loc | None = None, limit: int = MAX_NAME_CHARS) -> str:
    """``name`` if it is a usable name of ``what`` ("population", ...); else SnnccError."""
    if not isinstance(name, str):
        raise SnnccError(f"{what} name {shown(repr(name))} is a {type(name).__name__}, not text", loc)
    if not name:
        raise SnnccError(f"{what} name is empty", loc, hint="give it a name")
    if len(name) > limit:
        raise SnnccError(f"{what} name {shown(name)} is longer than {limit} characters", loc,
                         hint="shorten the name")
    for k, c in enumerate(name):
        if is_unsafe_char(c):
            raise SnnccError(f"{what} name {shown(name)}: character {k} is U+{ord(c):04X} "
                             f"({_kind(c)}); names must be printable text", loc,
                             hint="remove the character from the name")
    return name


def _kind(c: str) -> str:
    import unicodedata
    cat = unicodedata.category(c)
    if cat == "Cc":
        return "a control character"
    if cat == "Cs":
        return "a lone surrogate"
    if cat in ("Zl", "Zp"):
        return "a line separator"
    return "a bidirectional text control"
