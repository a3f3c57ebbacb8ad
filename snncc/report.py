"""Printing build reports as tables (rich)."""
from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, dict)):
        return str(v) if len(str(v)) < 60 else str(v)[:57] + "..."
    return str(v)


def table_of(title: str, rows: list[dict]) -> Table:
    t = Table(title=title, title_justify="left")
    cols = list(dict.fromkeys(k for r in rows for k in r))
    for c in cols:
        t.add_column(c, justify="right" if rows and isinstance(rows[0].get(c), (int, float)) else "left")
    for r in rows:
        t.add_row(*(_fmt(r.get(c, "")) for c in cols))
    return t


def print_report(rep: dict, console: Console | None = None) -> None:
    console = console or Console()
    net = rep.get("network", {})
    console.print(f"[bold]{net.get('name', '?')}[/bold] for target [bold]{rep.get('target')}[/bold]: "
                  f"{net.get('neurons')} neurons, {net.get('synapses')} synapses, dt {net.get('dt_ms')} ms, "
                  f"{net.get('steps')} steps")
    for p in rep.get("passes", []):
        summ = ", ".join(f"{k}={_fmt(v)}" for k, v in p.get("summary", {}).items())
        console.print(f"\n[bold]{p['pass_name']}[/bold] ({p.get('seconds', 0) * 1000:.1f} ms) {summ}")
        for note in p.get("notes", []):
            console.print(f"  note: {note}")
        for title, rows in p.get("tables", {}).items():
            if rows:
                console.print(table_of(f"{p['pass_name']}: {title}", rows))
    emit = rep.get("emit") or {}
    if emit:
        console.print("\n[bold]emit[/bold]")
        for k, v in emit.items():
            if isinstance(v, list) and v and isinstance(v[0], dict):
                console.print(table_of(k, v))
            else:
                console.print(f"  {k}: {_fmt(v)}")
