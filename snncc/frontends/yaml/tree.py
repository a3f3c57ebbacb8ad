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


#: deepest ``[``/``{`` nesting read; PyYAML's scanner is quadratic and its composer recursive in it
MAX_FLOW_DEPTH = 64


def parse(text: str, file: str) -> Node | None:
    """Parse ``text``; None when the document is empty. Raises SnnccError on bad YAML."""
    _check_depth(text, file)
    loader = None
    try:
        loader = yaml.SafeLoader(text)  # rejects control characters (ReaderError) already here
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
    except yaml.reader.ReaderError as e:   # a control character; position counts characters
        before = text[:e.position]
        loc = Loc(file, before.count("\n") + 1, e.position - (before.rfind("\n") + 1) + 1)
        code = e.character if isinstance(e.character, int) else ord(e.character)
        raise SnnccError(f"malformed YAML: character U+{code:04X} is not allowed in YAML text", loc) from None
    except yaml.YAMLError as e:
        raise SnnccError(f"malformed YAML: {e}", Loc(file)) from None
    except RecursionError:
        raise SnnccError("malformed YAML: nested too deeply to read", Loc(file)) from None
    finally:
        if loader is not None:
            loader.dispose()
    if root is None:
        return None
    # Aliases share nodes, so a small file can expand exponentially ("billion laughs");
    # without aliases a file holds at most about one value per character.
    budget = [4 * len(text) + 10_000]
    try:
        return _convert(root, file, "", None, SafeConstructor(), budget)
    except RecursionError:
        raise SnnccError("malformed YAML: nested too deeply to read", Loc(file)) from None


def _check_depth(text: str, file: str) -> None:
    """Reject ``[``/``{`` nesting beyond MAX_FLOW_DEPTH (counted over-generously, quotes included)."""
    import numpy as np
    raw = np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    step = (raw == 0x5B).astype(np.int32) + (raw == 0x7B) - (raw == 0x5D) - (raw == 0x7D)
    if not step.size:
        return
    depth = np.cumsum(step)
    if depth.max() > MAX_FLOW_DEPTH:
        at = int(np.argmax(depth > MAX_FLOW_DEPTH))
        before = raw[:at].tobytes().decode("utf-8", "replace")
        line = before.count("\n") + 1
        col = len(before) - (before.rfind("\n") + 1) + 1
        raise SnnccError(f"malformed YAML: brackets nested more than {MAX_FLOW_DEPTH} deep",
                         Loc(file, line, col), hint="a model file needs a few levels; is this the right file?")


def _convert(node, file: str, path: str, key_loc: Loc | None, ctor: SafeConstructor,
             budget: list[int]) -> Node:
    loc = _mark_loc(file, node.start_mark)
    budget[0] -= 1
    if budget[0] < 0:
        raise SnnccError("malformed YAML: aliases (*name) expand to far more values than the file holds",
                         loc, hint="write the values out, or use fewer nested aliases")
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
            out[key] = _convert(vnode, file, _join(path, key), kloc, ctor, budget)
            seen[key] = knode
        return Node(out, loc, path, key_loc)
    if isinstance(node, yaml.SequenceNode):
        items = [_convert(v, file, f"{path}[{i}]", None, ctor, budget) for i, v in enumerate(node.value)]
        return Node(items, loc, path, key_loc)
    try:
        value = ctor.construct_object(node, deep=True)
    except yaml.MarkedYAMLError as e:
        raise SnnccError(f"malformed YAML: {e.problem}", loc) from None
    return Node(value, loc, path, key_loc)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
