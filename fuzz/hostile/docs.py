"""Write a corpus run's figures into docs/reliability.md.

    python -m fuzz.hostile --jobs 4 --json hostile-summary.json
    python -m fuzz.hostile.fidelity_table > fidelity.md
    python -m fuzz.hostile.docs hostile-summary.json fidelity.md

Replaces what lies between ``<!-- hostile-results:begin -->`` and ``...:end -->`` (the
tables, the totals and every failing case with its class) and between the
``hostile-fidelity`` markers (the float-vs-target table), stamped with the date and load.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

from .corpus import TARGETS
from .runner import markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"


def results(s: dict, stamp: str) -> str:
    t = s["totals"]
    command = re.sub(r" --(json|markdown|workdir) \S+", "", s["command"])     # where it wrote, not what it ran
    out = [f"`{command}` ({stamp}; {s['cases']} cases, {s['runs']} runs):", "", markdown(s, TARGETS), "",
           f"**{t['code_executed']} code executed, {t['hang']} hangs, {t['traceback']} tracebacks, "
           f"{t['exit3']} exit 3, {t['miscompile']} silent miscompiles** over {s['runs']} runs; "
           f"{s['passed']} runs pass every check."]
    if s["failures"]:
        out += ["", "What still fails, case by case (each is marked `known` in its `case.yaml`, with its class):", ""]
        by: dict[str, list[dict]] = {}
        for f in s["failures"]:
            by.setdefault(f["case"], []).append(f)
        for case, fs in sorted(by.items()):
            cats = sorted({x["category"] for f in fs for x in f["findings"]})
            why = fs[0]["known"] or "NEW: " + fs[0]["findings"][0]["detail"][:160].replace("\n", " ")
            out.append(f"- `{case}` ({', '.join(f['target'] for f in fs)}): "
                       f"{', '.join('`' + c + '`' for c in cats)} - {why}")
    return "\n".join(out)


def replace(doc: str, key: str, body: str, name: str) -> str:
    pat = re.compile(rf"(<!-- {key}:begin -->\n).*?(<!-- {key}:end -->)", re.S)
    if not pat.search(doc):
        raise SystemExit(f"{name}: no <!-- {key}:begin --> ... <!-- {key}:end --> markers")
    return pat.sub(lambda m: m.group(1) + body + "\n" + m.group(2), doc)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("summary", help="the JSON summary of python -m fuzz.hostile")
    ap.add_argument("fidelity", nargs="?", help="the output of python -m fuzz.hostile.fidelity_table")
    ap.add_argument("--doc", default=str(DOC))
    ap.add_argument("--load", help="the machine's load during the run (`uptime`; default: now)")
    a = ap.parse_args(argv)
    stamp = time.strftime("%d %b %Y", time.gmtime(os.path.getmtime(a.summary))) + \
        f", load {a.load or f'{os.getloadavg()[0]:.1f}'} on {os.cpu_count()} shared cores"
    doc = Path(a.doc).read_text()
    doc = replace(doc, "hostile-results", results(json.loads(Path(a.summary).read_text()), stamp), a.doc)
    if a.fidelity:
        doc = replace(doc, "hostile-fidelity", f"`python -m fuzz.hostile.fidelity_table` ({stamp}):\n\n"
                      + "\n".join(line for line in Path(a.fidelity).read_text().splitlines()
                                  if line.startswith("|")), a.doc)      # the table, not what examples print
    Path(a.doc).write_text(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
