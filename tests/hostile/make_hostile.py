"""Write the binary hostile inputs of this folder (NIR files and IR directories).

    python tests/hostile/make_hostile.py      (from the repository root; rewrites them)

The YAML files beside them are written by hand. Every name below is "data that looks
like code or markup": a test (tests/test_security_*.py) compiles each input for every
target and checks that no payload runs, that each name comes back unchanged from the
build's data files, and that refused inputs give a clean exit-2 message. A payload
that runs writes to the file named by $SNNCC_HOSTILE_MARKER (os.devnull when unset).
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

#: printable names an emitter must carry as data: code that closes a string (""" and ''' and
#: a trailing backslash), format strings, rich markup, mathtext, config syntax, unicode and
#: the longest name accepted
PAYLOAD = ('import os; open(os.environ.get("SNNCC_HOSTILE_MARKER", os.devnull), "w")'
           '.write("pwned")')
NAMES = {
    "network": f'net"""; {PAYLOAD}; """',
    "pop_a": f"a'''; {PAYLOAD}; '''",
    "pop_b": '[bold red]b[/] [link=https://example.invalid]click[/link] \\',
    "source": '{0}{name!r}%s%(x)s {{}} $\\frac{a}{b}$ $ 神経 🧠 Größe',
    "stim_a": 'x;y#z = 1 [Machine] virtual_board = False "quoted" \'q\'',
    "a_b": "L" * 256,
    "stim_b": "</script><!-- --> `id` $(id) ; rm -rf ~",
}
#: NIR files are HDF5: a node name is a group name and cannot hold '/'
NIR_NAMES = {k: v.replace("/", "|") for k, v in NAMES.items()}


def renamed(net, names: dict[str, str]):
    """``net`` (float stage) with every name replaced: network, populations, sources,
    projections (and their pre/post)."""
    rn = {"a": names["pop_a"], "b": names["pop_b"], "stim": names["source"],
          "stim_a": names["stim_a"], "a_b": names["a_b"], "stim_b": names["stim_b"]}
    pops = [dataclasses.replace(p, name=rn[p.name]) for p in net.populations]
    srcs = [dataclasses.replace(s, name=rn[s.name]) for s in net.sources]
    prjs = [dataclasses.replace(q, name=rn[q.name], pre=rn[q.pre], post=rn[q.post]) for q in net.projections]
    return net.with_(name=names["network"], populations=tuple(pops), sources=tuple(srcs),
                     projections=tuple(prjs))


def base_network():
    from snncc.frontends.yaml import load
    return load(HERE / "base.yaml")


def relocated(net, loc):
    """Every node (and the network) claiming to come from ``loc``."""
    return net.with_(loc=loc,
                     populations=tuple(dataclasses.replace(p, loc=loc) for p in net.populations),
                     sources=tuple(dataclasses.replace(s, loc=loc) for s in net.sources),
                     projections=tuple(dataclasses.replace(q, loc=loc) for q in net.projections))


def big(net):
    """Population 'a' with 300 neurons: more than the fpga core's 256, so compiling it for
    fpga fails with an error located at the node's (claimed) location."""
    import numpy as np
    a = net.populations[0]
    a300 = dataclasses.replace(a, size=300, v_init=np.full(300, -65.0),
                               params={k: np.full(300, v[0]) for k, v in a.params.items()})
    prjs = []
    for q in net.projections:
        keep = (q.post_idx < 8) if q.post == "a" else np.ones(q.n_synapses, bool)
        prjs.append(dataclasses.replace(q, pre_idx=q.pre_idx[keep], post_idx=q.post_idx[keep],
                                        weight=q.weight[keep], delay=q.delay[keep]))
    return net.with_(populations=(a300,) + net.populations[1:], projections=tuple(prjs))


def write_ir(net, name: str) -> Path:
    from snncc.ir import save
    out = HERE / name
    shutil.rmtree(out, ignore_errors=True)
    save(net, out)
    return out


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from snncc.errors import Loc
    from snncc.exporters.nir import write as write_nir
    base = relocated(base_network(), Loc("base.yaml", 1, 1))
    hostile = renamed(base, NAMES)
    write_ir(hostile, "ir_names")
    write_nir(renamed(base, NIR_NAMES), HERE / "nir_names.nir")
    passwd = relocated(big(base), Loc("/etc/passwd", 1, 1))
    write_ir(passwd, "ir_passwd_loc")
    write_nir(passwd, HERE / "nir_passwd_loc.nir")
    escape = {"pop_a": "a\x1b[2J\x1b[31mred"}
    write_ir(renamed(base, {**NAMES, **escape}), "ir_control_name")
    write_nir(renamed(base, {**NIR_NAMES, **escape}), HERE / "nir_control_name.nir")
    # an IR directory whose population has a field no snncc writes
    d = write_ir(base, "ir_unknown_field")
    doc = json.loads((d / "network.json").read_text())
    doc["populations"][0]["__class__"] = "os.system"
    (d / "network.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    print(f"wrote the hostile NIR files and IR directories into {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
