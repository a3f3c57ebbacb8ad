"""YAML text -> a tree of values that remember where they were written.

PyYAML's composer gives nodes with ``start_mark``; we turn them into :class:`Node`
objects holding plain Python values plus the :class:`Loc` of the value and of its
key, so every later error can point at the exact line and column.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from ...errors import Loc, SnnccError


@dataclass(frozen=True)
class Node:
    """A YAML value: ``dict[str, Node]``, ``list[Node]`` or a scalar.

    ``path`` is the dotted key path (``populations.exc.size``) used in messages and
    to derive default seeds; ``key_loc`` is where its key is written (None for list
    items and the root).
    """

    value: Any
    loc: Loc
    path: str
    key_loc: Loc | None = None

    @property
    def where(self) -> Loc:
        """The key when there is one (what a user looks for), else the value."""
        return self.key_loc or self.loc

    @property
    def is_map(self) -> bool:
        return isinstance(self.value, dict)

    @property
    def is_list(self) -> bool:
        return isinstance(self.value, list)


def _mark_loc(file: str, mark) -> Loc:
    return Loc(file, mark.line + 1, mark.column + 1)


def parse(text: str, file: str) -> Node | None:
    """Parse ``text``; None when the document is empty. Raises SnnccError on bad YAML."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        problem = e.problem or e.context or "invalid YAML"
        ctx = f" ({e.context})" if e.context and e.problem else ""
        loc = _mark_loc(file, mark) if mark else Loc(file)
        lines = text.rstrip().splitlines()
        if lines and loc.line is not None and loc.line > len(lines):  # at the end: point after the last text
            loc = Loc(file, len(lines), len(lines[-1]) + 1)
        raise SnnccError(f"malformed YAML: {problem}{ctx}", loc) from None
    except yaml.YAMLError as e:
        raise SnnccError(f"malformed YAML: {e}", Loc(file)) from None
    finally:
        loader.dispose()
    if root is None:
        return None
    return _convert(root, file, "", None, SafeConstructor())


def _convert(node, file: str, path: str, key_loc: Loc | None, ctor: SafeConstructor) -> Node:
    loc = _mark_loc(file, node.start_mark)
    if isinstance(node, yaml.MappingNode):
        explicit = {id(k) for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"}
        try:
            ctor.flatten_mapping(node)  # resolves '<<' merge keys (merged entries come first)
        except yaml.MarkedYAMLError as e:
            raise SnnccError(f"malformed YAML: {e.problem}", _mark_loc(file, e.problem_mark)) from None
        out: dict[str, Node] = {}
        seen: dict = {}
        for knode, vnode in node.value:
            kloc = _mark_loc(file, knode.start_mark)
            if not isinstance(knode, yaml.ScalarNode):
                raise SnnccError("a mapping key must be a plain name", kloc)
            key = str(knode.value)
            if key in out and not (id(knode) in explicit and id(seen[key]) in explicit):
                del out[key]  # a merged value, overridden as PyYAML does
            if key in out:
                first = out[key].key_loc
                raise SnnccError(f"{_join(path, key)}: duplicate key '{key}' (first given at line "
                                 f"{first.line})", kloc)
            out[key] = _convert(vnode, file, _join(path, key), kloc, ctor)
            seen[key] = knode
        return Node(out, loc, path, key_loc)
    if isinstance(node, yaml.SequenceNode):
        items = [_convert(v, file, f"{path}[{i}]", None, ctor) for i, v in enumerate(node.value)]
        return Node(items, loc, path, key_loc)
    try:
        value = ctor.construct_object(node, deep=True)
    except yaml.MarkedYAMLError as e:
        raise SnnccError(f"malformed YAML: {e.problem}", loc) from None
    return Node(value, loc, path, key_loc)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
