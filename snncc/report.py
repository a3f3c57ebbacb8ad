"""Printing build reports as tables (rich): ``snncc report BUILD``.

A report (``report.json`` of a build, or ``<outdir>.report.json`` of a failed compile)
holds the target, the network's size, one entry per pass (``summary``, ``tables``,
``notes``, ``seconds``) and the emitter's figures. This prints an overview of the
passes, then each pass's tables - quantisation error per projection, relays per
population, cores per population, chips - cut to ``max_rows`` rows each.
"""
from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from .errors import SnnccError, printable


def _t(v: Any) -> str:
    """Text from a report (names, notes, errors), to go into a rich ``Text`` (never into
    markup): ``[bold]`` in a population's name prints as ``[bold]``, a control character
    escaped."""
    return printable(str(v))

#: columns that name the row come first (report.json stores keys sorted)
_FIRST = ("population", "projection", "source", "pre", "core", "chip", "name")
#: short headers, so the widest tables fit an 80-column terminal
_HEADER = {"clipped_fraction": "clip", "synapses": "syn", "rel_rms_error": "rel rms", "rms_error": "rms err",
           "max_error": "max err", "exponent": "exp", "rerouted_synapses": "rerouted",
           "max_delay_steps": "max delay", "relay_neurons": "relays", "lower_bound": "bound",
           "refrac_error_ms": "refrac err ms", "delay_error_ms": "delay err ms",
           "max_delay_change_fraction": "max delay change",
           # fpga-decay: a time constant asked for and the one the hardware realises
           "tau_m_ms_hw": "tau m hw ms", "tau_syn_E_ms_hw": "tau syn E hw ms", "tau_syn_I_ms_hw": "tau syn I hw ms"}


#: key figures whose name alone would misread: ``cores_over_bound 1`` is a ratio, not a count
_FIGURE = {"cores_over_bound": lambda v: f"cores / lower bound {v:.2f}" if isinstance(v, (int, float))
           else f"cores / lower bound {v}"}


def _figure(key: str, value: Any) -> str:
    if key in _FIGURE:
        return _FIGURE[key](value)
    return f"{key.replace('_', ' ')} {_fmt(value, key)}"


def _is_percent(key: str) -> bool:
    return key.endswith("fraction") or key.startswith("rel_")


def _fmt(v: Any, key: str = "") -> str:
    if isinstance(v, bool) or v is None:
        return "-" if v is None else str(v).lower()
    if isinstance(v, float):
        if _is_percent(key):
            return f"{v:.2%}"
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e6):
            return f"{v:.2e}"
        return f"{v:.3g}"
    if isinstance(v, int):
        if abs(v) >= 1_000_000:
            return f"{v / 1e6:.3g}M"
        return f"{v / 1e3:.4g}k" if abs(v) >= 100_000 else str(v)
    if isinstance(v, (list, dict)):
        s = str(v)
        return s if len(s) < 60 else s[:57] + "..."
    return str(v)


def table_of(title: str, rows: list[dict], max_rows: int | None = None, width: int | None = None) -> Group:
    """``title`` on a line of its own, then a rich table of ``rows`` (dicts; columns in
    first-seen order), numbers right-aligned. Headers wrap between words and are never cut:
    columns that do not fit ``width`` go on into a second table that repeats the row's name."""
    shown = rows if max_rows is None or len(rows) <= max_rows else rows[:max_rows]
    cut = len(rows) - len(shown)
    cols = list(dict.fromkeys(k for r in rows for k in r))
    cols = [c for c in _FIRST if c in cols] + [c for c in cols if c not in _FIRST]
    name = cols[:1] if cols and not _numeric(cols[0], rows) else []
    rest = cols[len(name):]
    parts: list = [Text(_t(title), style="bold")]
    groups = _fit(name, rest, shown, rows, width) if width else [rest]
    for k, group in enumerate(groups):
        t = _table(name + group, shown, rows)
        if k == len(groups) - 1 and cut:
            t.caption, t.caption_justify = f"... {cut} more rows (snncc report --json shows all)", "left"
        parts.append(t)
    return Group(*parts)


def _numeric(c: str, rows: list[dict]) -> bool:
    return any(isinstance(r.get(c), (int, float)) and not isinstance(r.get(c), bool) for r in rows)


def _header(c: str) -> str:
    return _t(_HEADER.get(c, c.replace("_", " ")))


def _table(cols: list[str], shown: list[dict], rows: list[dict]) -> Table:
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for i, c in enumerate(cols):
        cells = [_t(_fmt(r.get(c, ""), c)) for r in shown]
        head = _header(c)
        # a header may wrap between words, never inside one; a value is never cut
        least = max([len(w) for w in head.split()] + [len(x) for x in cells] + [1])
        if i == 0 and not _numeric(c, rows):   # the row's name
            least = min(32, least)
            t.add_column(Text(head), no_wrap=True, min_width=least)
        else:
            t.add_column(Text(head), justify="right" if _numeric(c, rows) else "left", min_width=least)
    for r in shown:
        t.add_row(*(Text(_t(_fmt(r.get(c, ""), c))) for c in cols))
    return t


def _fit(name: list[str], rest: list[str], shown: list[dict], rows: list[dict],
         width: int) -> list[list[str]]:
    """``rest`` split into runs of columns whose tables (with the ``name`` column) fit ``width``."""
    console = Console(width=10_000)
    groups: list[list[str]] = []
    for c in rest:
        if groups:
            trial = groups[-1] + [c]
            if console.measure(_table(name + trial, shown, rows)).minimum <= width:
                groups[-1] = trial
                continue
        groups.append([c])
    return groups or [[]]


def overview(rep: dict) -> Table:
    """One row per pass: its time and key figures."""
    passes = rep.get("passes", [])
    timed = any(p.get("seconds") for p in passes)
    t = Table(title="passes", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    t.add_column("pass", no_wrap=True)
    if timed:
        t.add_column("ms", justify="right")
    t.add_column("key figures")
    for p in passes:
        figs = ", ".join(_figure(k, v) for k, v in p.get("summary", {}).items())
        cells = [p["pass_name"]] + ([f"{p.get('seconds', 0) * 1000:.1f}"] if timed else []) + [figs]
        t.add_row(*(Text(_t(str(c))) for c in cells))
    return t


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """The reader went away (``snncc report | head``): let the CLI end quietly with 0."""
        self.quiet = True
        raise BrokenPipeError


def print_report(rep: dict, console: Console | None = None, max_rows: int | None = 25) -> None:
    console = console or _Console()
    net = rep.get("network") or {}
    target = (_t(rep.get("target", "?")), "bold")
    if "name" in net:
        head = Text.assemble((_t(net["name"]), "bold"), " for target ", target)
    else:       # a failed compile's report from before it named the network
        head = Text.assemble("a network for target ", target)
    if net:
        relays = net.get("relay_neurons") or 0
        head.append(_t(f": {_fmt(net.get('neurons'))} neurons"
                       + (f" + {_fmt(relays)} relay neurons" if relays else "")
                       + f", {_fmt(net.get('synapses'))} synapses, dt {net.get('dt_ms')} ms, "
                         f"{_fmt(net.get('steps'))} steps"))
    console.print(head)
    ports = net.get("input_ports")
    if isinstance(ports, dict) and ports:
        shown_ports = ", ".join(f"'{n}' ({_fmt(p.get('size') if isinstance(p, dict) else p)} neurons)"
                                for n, p in ports.items())
        console.print(Text(_t("input ports (spikes given at run time: snncc run BUILD --input): "
                              + shown_ports)))
    if rep.get("error"):
        console.print(Text.assemble(("compile failed:", "bold red"), " ", _t(rep["error"])))
        ran = [p["pass_name"] for p in rep.get("passes") or []]
        console.print(Text("passes that completed: " + (_t(", ".join(ran)) if ran else "none")))
    if rep.get("passes"):
        console.print(overview(rep))
    for p in rep.get("passes") or []:
        for w in p.get("warnings", []):
            console.print(Text.assemble(("warning", "bold yellow"), " ", (_t(p["pass_name"]), "bold"), ": ",
                                        _t(w)))
        for note in p.get("notes", []):
            console.print(Text.assemble((_t(p["pass_name"]), "bold"), ": ", _t(note)))
        for title, rows in p.get("tables", {}).items():
            if rows:
                console.print(table_of(f"{p['pass_name']}: {title}", rows, max_rows, console.width))
    emit = rep.get("emit") or {}
    if emit:
        console.print(Text("\nemit", style="bold"))
        for k, v in emit.items():
            if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
                console.print(table_of(k, v, max_rows, console.width))
            else:
                console.print(Text(_t(f"  {k}: {_fmt(v, k)}")), no_wrap=True, overflow="ellipsis")


def check_report(rep: Any, where: str) -> None:
    """Refuse a report that is not shaped as snncc writes it (a damaged or foreign file),
    naming the first field that is wrong; print_report relies on the shape."""
    def bad(what: str) -> SnnccError:
        return SnnccError(f"{printable(where)}: not a snncc report: {what}",
                          hint="snncc report reads a build directory or the <outdir>.report.json "
                               "of a failed compile")
    if not isinstance(rep, dict):
        raise bad("expected a JSON object")
    for key, typ in (("network", dict), ("passes", list), ("emit", dict)):
        if key in rep and rep[key] is not None and not isinstance(rep[key], typ):
            raise bad(f"'{key}' is a {type(rep[key]).__name__}")
    for i, p in enumerate(rep.get("passes") or []):
        if not isinstance(p, dict) or not isinstance(p.get("pass_name"), str):
            raise bad(f"passes[{i}] has no pass_name")
        for key, typ in (("summary", dict), ("tables", dict), ("notes", list), ("warnings", list)):
            if key in p and not isinstance(p[key], typ):
                raise bad(f"passes[{i}].{key} is a {type(p[key]).__name__}")
        for title, rows in (p.get("tables") or {}).items():
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                raise bad(f"passes[{i}].tables.{printable(str(title))} is not a list of rows")
