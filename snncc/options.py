"""Options as data: ``-O key=value`` of every target and command, declared once.

A target declares its options as a mapping ``name -> Option(kind, default, help, commands)``.
From that one declaration come the parsing of values (``-O relays=false`` -> ``False``),
the refusal of unknown keys with a did-you-mean, the errors for bad values, and the help
``snncc targets`` prints. ``commands`` says which subcommands take the option: most
shape the compile, some the run (``simulator``), some the upload (``force``).

:meth:`OptionSet.config_class` turns a declaration into a frozen dataclass with one typed
field per option (name, type, default, help in the field's metadata), the form pass
options already have; :meth:`OptionSet.from_dataclass` reads such a class back, so a
target may equally declare its options as a frozen dataclass.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping

from .errors import SnnccError, did_you_mean, shown

#: the subcommands that take ``-O``
COMMANDS = ("compile", "run", "verify", "upload")
#: words read as true and false
TRUE, FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


@dataclass(frozen=True)
class Option:
    """One option: ``kind`` is ``bool``, ``int``, ``float``, ``str`` or a tuple of the words
    allowed; ``default`` is what the target uses when the option is not given (``None``: the
    help says); ``minimum`` bounds numbers from below; ``commands`` lists the subcommands
    that take it."""

    kind: Any
    default: Any = None
    help: str = ""
    commands: tuple[str, ...] = ("compile",)
    minimum: float | None = None
    positive: bool = False          # numbers: > 0

    @property
    def type_name(self) -> str:
        if isinstance(self.kind, tuple):
            return "|".join(map(str, self.kind))
        return {bool: "true|false", int: "INT", float: "NUMBER", str: "TEXT"}.get(self.kind, "VALUE")

    def describe(self) -> str:
        """The help line: what it does, then the default."""
        text = self.help
        if self.default is not None and "default" not in text:
            d = str(self.default).lower() if isinstance(self.default, bool) else self.default
            text += f" (default {d})"
        return text

    def convert(self, key: str, value: Any) -> Any:
        """``value`` (a string, or what JSON made of it) as this option's type, or SnnccError."""
        def bad(expected: str, hint: str | None = None) -> SnnccError:
            return SnnccError(f"-O {key}={shown(str(value), 40)[1:-1]}: expected {expected}", hint=hint)
        kind = self.kind
        if isinstance(kind, tuple):
            word = str(value).lower() if isinstance(value, bool) else str(value)
            words = [str(k) for k in kind]
            if word not in words:
                raise bad("one of " + ", ".join(words) + did_you_mean(word, words))
            return kind[words.index(word)]
        if kind is bool:
            if isinstance(value, bool):
                return value
            word = str(value).strip().lower()
            if word in TRUE or word in FALSE:
                return word in TRUE
            raise bad("true or false")
        if kind is int:
            if isinstance(value, bool):
                raise bad("an integer")
            try:
                out = int(str(value).strip())
            except ValueError:
                raise bad("an integer") from None
        elif kind is float:
            try:
                out = float(value) if not isinstance(value, bool) else math.nan
            except (TypeError, ValueError):
                out = math.nan
            if not math.isfinite(out):
                raise bad("a finite number")
        else:
            return value if isinstance(value, str) else str(value)
        if self.positive and not out > 0:
            raise bad("a positive number")
        if self.minimum is not None and out < self.minimum:
            raise bad(f"a number >= {self.minimum:g}")
        return out


def _as_option(value: Option | str) -> Option:
    """A declaration entry: an :class:`Option`, or (older style) just the help text."""
    return value if isinstance(value, Option) else Option(str, None, str(value))


class OptionSet:
    """The options of one target (or command): parse, check, describe."""

    def __init__(self, owner: str, options: Mapping[str, Option | str]):
        self.owner = owner
        self.options = {k: _as_option(v) for k, v in options.items()}

    def names(self, command: str) -> list[str]:
        return [k for k, o in self.options.items() if command in o.commands]

    def parse(self, raw: Mapping[str, Any], command: str = "compile") -> dict[str, Any]:
        """``raw`` checked and converted: an unknown key, a key for another subcommand or a
        value of the wrong type is a SnnccError naming the key, the value and what is allowed."""
        known = self.names(command)
        out = {}
        for key, value in raw.items():
            opt = self.options.get(key)
            if opt is None or command not in opt.commands:
                raise self._unknown(key, command, known)
            out[key] = opt.convert(key, value)
        return out

    def _unknown(self, key: str, command: str, known: list[str]) -> SnnccError:
        where = f"snncc {command}"
        listed = ", ".join(known) if known else "none"
        opt = self.options.get(key)
        if opt is not None:
            other = " and ".join(f"snncc {c}" for c in opt.commands)
            return SnnccError(f"-O {key}: the {self.owner} option '{key}' is for {other}, not {where}",
                              hint=f"{where} options of {self.owner}: {listed}")
        return SnnccError(f"-O {shown(key, 40)[1:-1]}: {self.owner} has no {command} option "
                          f"{shown(key, 40)}{did_you_mean(key, known)}",
                          hint=f"{where} options of {self.owner}: {listed} (see `snncc targets`)")

    def help_lines(self) -> list[str]:
        """``-O key=TYPE  help (default ...)``, with the subcommands where not only compile."""
        lines = []
        for key, o in self.options.items():
            where = ", ".join(f"snncc {c}" for c in o.commands)
            cmds = "" if o.commands == ("compile",) else f"  [{where}]"
            lines.append(f"-O {key}={o.type_name}  {o.describe()}{cmds}")
        return lines

    def to_json(self) -> dict[str, dict[str, Any]]:
        return {k: {"type": o.type_name, "default": o.default, "help": o.help, "commands": list(o.commands)}
                for k, o in self.options.items()}

    # --- the dataclass form -------------------------------------------------------
    def config_class(self, name: str = "Options") -> type:
        """A frozen dataclass with one field per option: type, default, and the
        :class:`Option` itself in the field's metadata."""
        def typ(o: Option):
            return type(o.kind[0]) if isinstance(o.kind, tuple) else o.kind
        fields = [(k, typ(o) | None, dataclasses.field(default=o.default, metadata={"option": o}))
                  for k, o in self.options.items()]
        return dataclasses.make_dataclass(name, fields, frozen=True)

    def resolve(self, raw: Mapping[str, Any], command: str = "compile") -> Any:
        """``raw`` parsed for ``command`` (as :meth:`parse`) into a frozen :meth:`config_class`
        instance: every option a typed attribute, its default where not given."""
        return self.config_class()(**self.parse(raw, command))

    @classmethod
    def from_dataclass(cls, owner: str, config: type) -> "OptionSet":
        """The declaration a frozen dataclass holds (fields made by :meth:`config_class`, or by
        hand with ``field(default=..., metadata={"option": Option(...)})``)."""
        opts = {}
        for f in dataclasses.fields(config):
            o = f.metadata.get("option")
            if o is None:
                o = Option(f.type if f.type in (bool, int, float, str) else str,
                           None if f.default is dataclasses.MISSING else f.default)
            opts[f.name] = o
        return cls(owner, opts)
