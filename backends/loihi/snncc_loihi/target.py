"""The ``loihi`` target: Loihi 2 through Lava's bit-accurate fixed-point models."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from snncc.plugin import (
    Delays, Discretise, MissingDependency, Option, PARTITION_METHODS as METHODS, Partition, Place,
    SnnccError, Target, Validate,
)

from . import limits as L
from .lower import REFRACTORY_CHOICES, LoihiLower
from .tau_syn import TAU_SYN_CHOICES

MODULE = "lava_net.py"
#: what snncc runs: its installed copy of the module a build holds as lava_net.py (a build
#: directory is data; its copy is there for users who run it by hand)
INSTALLED_MODULE = Path(__file__).with_name("lava_model.py")
#: seconds the paused Lava runtime takes to set one value back between inputs (Var.set sends
#: one message per value), generously: part of a batch's default timeout
RESET_S_PER_VALUE = 0.01
PLAN = "lava_plan.npz"


class LoihiTarget(Target):
    name = "loihi"
    description = ("Intel Loihi 2 via Lava 0.10: LIF/LIFRefractory/Dense/DelayDense in fixed point "
                   "(Loihi2SimCfg fixed_pt; Loihi2HwCfg with lava-loihi, run --port hw)")
    limits = L.LIMITS
    options = {
        "tau_syn": Option(TAU_SYN_CHOICES, "auto", "the one current decay where tau_syn_E != tau_syn_I "
                          "(Loihi's LIF has one): auto weighs both receptors and warns, error refuses"),
        "refractory": Option(REFRACTORY_CHOICES, "exact", "refractory periods with Lava's LIFRefractory "
                             "(exact) or dropped (ignore)"),
        "agreement_steps": Option(int, None, "steps of the float-vs-loihi comparison the report gets where "
                                  "tau_syn is approximated (default: 500 ms of model time; 0: none)", minimum=0),
        "headroom_bits": Option(int, 3, "bits of u/v range kept free above the threshold", minimum=0),
        "relays": Option(bool, True, "realise delays over 64 steps with relay neurons (false: refuse them)"),
        "partition": Option(METHODS, "greedy", "how the partition pass splits populations into cores"),
        "share_vth": Option(bool, False, "one threshold mantissa for the whole network, so populations "
                            "with equal decays share one Lava LIF process (faster Lava runs)"),
    }

    def pipeline(self, options: dict[str, Any]):
        o = self.config(options)
        return [Validate(), Discretise(), Delays(relays=o.relays), Partition(method=o.partition), Place(),
                LoihiLower(tau_syn=o.tau_syn, refractory=o.refractory, headroom_bits=o.headroom_bits,
                           share_vth=o.share_vth, agreement_steps=o.agreement_steps)]

    def kernel(self, net, strict: bool = False):
        from .kernel import LoihiKernel
        return LoihiKernel(net, strict=strict)

    def emit(self, net, outdir: Path, options: dict[str, Any]) -> dict[str, Any]:
        from .plan import lava_processes, write_plan
        meta = write_plan(net, Path(outdir) / PLAN)
        shutil.copyfile(INSTALLED_MODULE, Path(outdir) / MODULE)
        part, place = net.attrs.get("partition", {}), net.attrs.get("placement", {})
        return {"lava_processes": lava_processes(meta), "lif_groups": len(meta["groups"]),
                "synapse_blocks": len(meta["blocks"]),
                "delay_blocks": sum(b["kind"] == "delay" for b in meta["blocks"]),
                "refractory_groups": sum(g.get("refrac", 0) > 0 for g in meta["groups"]),
                "cores": part.get("cores"), "chips": place.get("chips"),
                "files": [MODULE, PLAN]}

    def run(self, build, steps: int | None, options: dict[str, Any]):
        from .plan import lava_processes
        from .runner import default_timeout, run_module
        net, steps, module, plan, meta, port = self._prepare(build, steps, options)
        timeout = float(options.get("timeout") or default_timeout(steps, lava_processes(meta)))
        s, i, _log = run_module(module, plan, steps, timeout, hw=(port == "hw"))
        return raster_from_spikes(net, steps, s, i, source="lava:loihi2hw" if port == "hw" else "lava:fixed_pt")

    def run_inputs(self, build, steps: int | None, inputs, options: dict[str, Any]):
        """One Lava compile for the whole batch: lava_net.py --inputs runs the graph once per
        input, its source process reading each input's spikes from a file, the state set back
        between inputs (docs/inputs.md)."""
        import tempfile

        import numpy as np

        from snncc.plugin import with_input

        from .lava_model import write_input
        from .plan import lava_processes
        from .runner import default_timeout, run_module_inputs
        net, steps, module, plan, meta, port = self._prepare(build, steps, options)
        src_off = {name: off for name, _size, off, _rec in meta["sources"]}
        nets = [with_input(net, inp) for inp in inputs]
        sizes = [g["size"] for g in meta["groups"]]       # values a reset sets: u, v; activation buffers
        n_reset = 2 * sum(sizes) + sum(sizes[b["post"]] * (64 if b["kind"] == "delay" else 1) for b in meta["blocks"])
        timeout = float(options.get("timeout") or default_timeout(steps * len(nets), lava_processes(meta))
                        + RESET_S_PER_VALUE * n_reset * len(nets))
        with tempfile.TemporaryDirectory(prefix="snncc-lava-inputs-") as tmp:
            for k, one in enumerate(nets):
                st = [s.step.astype(np.int64) for s in one.sources]
                ix = [s.index.astype(np.int64) + src_off[s.name] for s in one.sources]
                cat = (lambda xs: np.concatenate(xs) if xs else np.zeros(0, np.int64))
                st, ix = cat(st), cat(ix)
                keep = st < steps
                write_input(Path(tmp) / f"{k:06d}.npz", st[keep], ix[keep])
            runs, _log = run_module_inputs(module, plan, steps, Path(tmp), len(nets), timeout,
                                           hw=(port == "hw"))
        source = "lava:loihi2hw" if port == "hw" else "lava:fixed_pt"
        for one, (s, i) in zip(nets, runs):
            yield raster_from_spikes(one, steps, s, i, source=source)

    def _prepare(self, build, steps: int | None, options: dict[str, Any]):
        """(network, steps, lava_net.py, lava_plan.npz, plan meta, port) of a build that can run."""
        from .lava_model import PlanError, load_plan
        net = build.network()
        steps = net.steps if steps is None else int(steps)
        module, plan = INSTALLED_MODULE, build.file(PLAN)
        for f in (build.file(MODULE), plan):
            if not f.is_file():
                raise SnnccError(f"{build.path}: missing {f.name}; the build is incomplete",
                                 hint=f"recompile: snncc compile MODEL --target loihi -o {build.path}")
        port = options.get("port", "sim")
        if port not in ("sim", "hw"):
            raise SnnccError(f"loihi: --port {port!r} is not 'sim' (Lava's fixed_pt simulator) or 'hw' "
                             "(Loihi 2 through lava-loihi)")
        if port == "hw":
            import importlib.util
            try:
                found = importlib.util.find_spec("lava.proc.lif.ncmodels") is not None
            except ModuleNotFoundError:
                found = False
            if not found:
                raise MissingDependency("loihi: running on Loihi 2 (--port hw) needs lava-loihi, Intel's "
                                        "Lava extension for Loihi hardware (INRC members), which is not "
                                        "installed", hint="run on Lava's simulator instead: --port sim")
        try:
            meta, arrays = load_plan(plan)
        except PlanError as e:
            raise SnnccError(str(e), hint=f"recompile: snncc compile MODEL --target loihi -o {build.path}") from None
        from snncc.plugin import Ledger
        from .plan import lava_memory
        ledger = Ledger()   # sizes first: Lava allocates per step and neuron, in several processes
        for what, need in lava_memory(meta, sum(a.nbytes for a in arrays.values()), steps):
            ledger.claim(need, f"a Lava run of {steps} steps: {what}", hint="run fewer steps (--steps)")
        return net, steps, module, plan, meta, port


def raster_from_spikes(net, steps: int, s, i, source: str):
    """A Raster from Lava's flat spikes plus the recorded sources' own input spikes."""
    import numpy as np

    from snncc.plugin import Raster
    sizes, offsets, off = {}, {}, 0
    for p in net.populations:
        sizes[p.name], offsets[p.name] = p.size, off
        off += p.size
    ev_s, ev_i = [np.asarray(s, np.int64)], [np.asarray(i, np.int64)]
    for src in net.sources:
        offsets[src.name] = off
        if "spikes" in src.record:
            sizes[src.name] = src.size
            keep = (src.step >= 0) & (src.step < steps)
            ev_s.append(src.step[keep].astype(np.int64))
            ev_i.append(src.index[keep].astype(np.int64) + off)
        off += src.size
    return Raster.from_events(net.dt, steps, sizes, np.concatenate(ev_s), np.concatenate(ev_i), offsets,
                              source=source)


def run_lava(net, steps: int | None = None, timeout: float | None = None, hw: bool = False,
             workdir: Path | None = None):
    """Run a loihi-lowered network on Lava (child process) without a build directory.

    Writes the plan and the module into ``workdir`` (a temporary directory if None);
    returns the Raster. Tests and benchmarks use it; ``snncc run`` uses :meth:`LoihiTarget.run`.
    """
    import tempfile

    from .plan import lava_processes
    from .runner import default_timeout, run_module
    steps = net.steps if steps is None else int(steps)
    with tempfile.TemporaryDirectory(prefix="snncc-loihi-") as tmp:
        out = Path(workdir or tmp)
        out.mkdir(parents=True, exist_ok=True)
        emitted = LoihiTarget().emit(net, out, {})
        timeout = timeout or default_timeout(steps, emitted["lava_processes"])
        s, i, _ = run_module(INSTALLED_MODULE, out / PLAN, steps, timeout, hw=hw)
    return raster_from_spikes(net, steps, s, i, source="lava:loihi2hw" if hw else "lava:fixed_pt")
