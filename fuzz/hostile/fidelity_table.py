"""Float-vs-target agreement on the project's examples, as the markdown table of
docs/reliability.md (the silent-miscompile check must raise no alarm on them).

    python -m fuzz.hostile.fidelity_table [--targets fpga,loihi,spinnaker]

Each example is lowered for each target as `snncc compile` would (spinnaker without the
sPyNNaker mapping check, which does not change the lowered network; loihi with
``-O tau_syn=mean -O refractory=ignore`` where its defaults refuse the model) and compared
with :func:`snncc.fidelity.agreement`, exactly what ``snncc verify BUILD --against-float``
prints.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ["examples/tiny.yaml", "examples/synfire.yaml", "examples/cuba.yaml", "examples/digits/digits.nir",
            "examples/pynn/synfire.py", "examples/pynn/cuba.py", "stdp pattern (examples/stdp/pattern.py)"]
#: options a target needs for a model its defaults refuse (and why)
FALLBACK = {"loihi": {"tau_syn": "mean", "refractory": "ignore"}}


def _stdp_pattern():
    import numpy as np

    from snncc.ir import STDP
    sys.path.insert(0, str(ROOT / "examples" / "stdp"))
    try:
        import pattern
    finally:
        sys.path.pop(0)
    rng = np.random.default_rng(1)
    pat = np.sort(rng.choice(pattern.N_IN, pattern.N_PAT, replace=False))
    w_hi, w_max = pattern.WEIGHTS["fpga"]
    rule = STDP(tau_plus=16.8, tau_minus=33.7, A_plus=0.03, A_minus=0.03, w_min=0.0, w_max=w_max)
    return pattern.network(1.0, 101, pat, rng.uniform(0.02, w_hi, pattern.N_IN), rule)[0]


def rows(targets: tuple[str, ...]) -> list[dict]:
    import warnings

    from snncc.compiler import lower
    from snncc.errors import SnnccError
    from snncc.fidelity import agreement
    from snncc.frontends import load_model
    warnings.simplefilter("ignore")
    out = []
    for ex in EXAMPLES:
        net = _stdp_pattern() if ex.startswith("stdp") else load_model(ROOT / ex)
        for t in targets:
            options: dict = {"map": False} if t == "spinnaker" else {}
            note = ""
            t0 = time.perf_counter()
            try:
                try:
                    res = lower(net, t, options)
                except SnnccError as e:
                    if t not in FALLBACK:
                        raise
                    options = {**options, **FALLBACK[t]}
                    res = lower(net, t, options)
                    note = "-O " + " -O ".join(f"{k}={v}" for k, v in FALLBACK[t].items()) + \
                           f"; by default: {e.message[:70]}..."
            except SnnccError as e:
                out.append({"example": ex, "target": t, "refused": e.message.split("\n")[0][:110]})
                continue
            a = agreement(net, res.network, report={"passes": [r.to_json() for r in res.reports]})
            out.append({"example": ex, "target": t, "steps": a.steps, "ok": a.ok, "note": note,
                        "seconds": time.perf_counter() - t0,
                        "populations": [(p.population, p.rate_float_hz, p.rate_target_hz, p.count_r, p.flagged)
                                        for p in a.populations]})
    return out


def markdown(rs: list[dict]) -> str:
    lines = ["| example | target | steps | populations: float Hz / target Hz (count r) | verdict |",
             "|---|---|---:|---|---|"]
    for r in rs:
        if "refused" in r:
            lines.append(f"| {r['example']} | {r['target']} | - | refused at compile: {r['refused']} | - |")
            continue
        pops = r["populations"]
        shown = pops if len(pops) <= 3 else pops[:2] + [("...", None, None, None, None)] + pops[-1:]
        cells = "; ".join(name if rf is None else
                          f"{name} {rf:.1f} / {rt:.1f} ({'-' if cr is None else f'{cr:.2f}'}){' **!**' if fl else ''}"
                          for name, rf, rt, cr, fl in shown)
        verdict = "ok" if r["ok"] else "**flagged**"
        if r["note"]:
            verdict += f" ({r['note']})"
        lines.append(f"| {r['example']} | {r['target']} | {r['steps']} | {cells} | {verdict} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--targets", default="fpga,loihi,spinnaker")
    a = ap.parse_args(argv)
    print(markdown(rows(tuple(a.targets.split(",")))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
