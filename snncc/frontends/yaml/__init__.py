"""The YAML model format: a hand-written network description (docs/yaml-format.md).

``load(path)`` returns a float-stage :class:`~snncc.ir.Network`; every node keeps
the file:line:col of its key, and every error points at the offending key or value.
"""
from .loader import CELL_TYPES, build, load
from .tree import Node, parse

__all__ = ["CELL_TYPES", "Node", "build", "load", "parse"]
