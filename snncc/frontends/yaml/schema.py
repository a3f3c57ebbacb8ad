"""Reading typed fields out of :class:`~.tree.Node` mappings, with exact errors.

Every check raises :class:`SnnccError` at the offending key or value: unknown keys
(with a did-you-mean), missing keys (at the mapping's own key), wrong types.
"""
from __future__ import annotations

import math
import re
from typing import Iterable

from ...errors import SnnccError, did_you_mean, shown
from .tree import Node

_FLOAT_RE = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def kind(value) -> str:
    """How a YAML value reads to a user: 'a number', 'a string', ..."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "empty"
    return f"a {type(value).__name__}"


def show(node: Node) -> str:
    v = node.value
    if isinstance(v, (dict, list)) or v is None:
        return kind(v)
    return f"{v!r} ({kind(v)})"


def type_error(node: Node, expected: str) -> SnnccError:
    return SnnccError(f"{node.path or 'the model file'}: expected {expected}, got {show(node)}", node.loc)


def number(node: Node) -> float:
    """A finite real number. YAML 1.1 reads ``1e-3`` as a string; we accept it."""
    v = node.value
    if isinstance(v, str) and _FLOAT_RE.match(v.strip()):
        v = float(v)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise type_error(node, "a number")
    if not math.isfinite(v):
        raise SnnccError(f"{node.path}: expected a finite number, got {v}", node.loc)
    return float(v)


def integer(node: Node, minimum: int | None = None) -> int:
    v = node.value
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise type_error(node, "an integer")
    if minimum is not None and v < minimum:
        raise SnnccError(f"{node.path}: must be >= {minimum}, got {v}", node.loc)
    return v


def string(node: Node) -> str:
    if not isinstance(node.value, str):
        raise type_error(node, "a string")
    return node.value


def boolean(node: Node) -> bool:
    if not isinstance(node.value, bool):
        raise type_error(node, "true or false")
    return node.value


def seq(node: Node) -> list[Node]:
    if not node.is_list:
        raise type_error(node, "a list")
    return node.value


def name(s: str, node: Node, what: str) -> str:
    """A user-chosen name (a mapping key) of a population, source or projection."""
    if not NAME_RE.match(s):
        raise SnnccError(f"{what} name {shown(s)} is not a valid name", node.key_loc or node.loc,
                         hint="use letters, digits and '_', starting with a letter or '_'")
    return s


class Fields:
    """A mapping node being read; rejects keys outside ``allowed`` when created."""

    def __init__(self, node: Node, allowed: Iterable[str], required: Iterable[str] = (),
                 what: str | None = None):
        if not node.is_map:
            raise type_error(node, "a mapping")
        self.node = node
        self.what = what or node.path or "the model file"
        allowed = list(allowed)
        for key, child in node.value.items():
            if key not in allowed:
                raise SnnccError(f"{self.what}: unknown key '{key}'{did_you_mean(key, allowed)}",
                                 child.key_loc, hint="allowed here: " + ", ".join(allowed))
        for key in required:
            if key not in node.value:
                self.missing(key)

    def missing(self, key: str, why: str = "") -> None:
        raise SnnccError(f"{self.what}: missing required key '{key}'{why}", self.node.where)

    def __contains__(self, key: str) -> bool:
        return key in self.node.value

    def get(self, key: str) -> Node | None:
        return self.node.value.get(key)

    def req(self, key: str) -> Node:
        n = self.node.value.get(key)
        if n is None:
            self.missing(key)
        return n

    def number(self, key: str, default: float | None = None) -> float | None:
        n = self.get(key)
        return default if n is None else number(n)

    def integer(self, key: str, default: int | None = None, minimum: int | None = None) -> int | None:
        n = self.get(key)
        return default if n is None else integer(n, minimum)

    def string(self, key: str, default: str | None = None) -> str | None:
        n = self.get(key)
        return default if n is None else string(n)

    def boolean(self, key: str, default: bool) -> bool:
        n = self.get(key)
        return default if n is None else boolean(n)

    def choice(self, key: str, choices: Iterable[str], default: str | None = None) -> str | None:
        n = self.get(key)
        if n is None:
            return default
        return one_of(n, choices, key)


def one_of(node: Node, choices: Iterable[str], what: str) -> str:
    choices = list(choices)
    s = string(node)
    if s not in choices:
        raise SnnccError(f"{node.path}: unknown {what} '{s}'{did_you_mean(s, choices)}", node.loc,
                         hint="choose one of: " + ", ".join(choices))
    return s
