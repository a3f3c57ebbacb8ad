"""``loihi-lower``: step-stage populations and weights to Lava's LIF/Dense integers.

Per population the voltage is offset by ``v_reset`` (Loihi resets to 0) and scaled by
``s = vth * 64 / (v_thresh - v_reset)`` integer units per mV, so one threshold mantissa
``vth`` serves every neuron even where thresholds differ; ``vth`` is as large as the
strongest incoming weight, the bias range, the headroom and one step's worst-case input
(every synapse of a neuron at once, which must not wrap u) allow (docs/loihi-numerics.md):

* ``dv = 4096 - round(4096 * decay_v)``, ``du = 4095 - round(4096 * decay_syn)``
  (``du = 4095`` for delta synapses: u then carries one step's input only);
* bias ``(bias - v_reset * (1 - decay_v)) * s`` as a 13-bit mantissa and exponent 0..7;
* a weight ``w`` onto neuron ``n`` with synaptic gain ``c`` (``gain_E``/``gain_I`` for
  exp synapses, 1 for delta) becomes ``q = round(vth * c * w / (R[n] * 2**e))``, |q| <= 255,
  with one exponent ``e`` (0..7) per projection, the smallest that holds its largest weight.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snncc import detmath
from snncc.errors import SnnccError
from snncc.fmt import count, num
from snncc.ir import FixedPopulation, FixedProjection, Network
from snncc.passes.base import Pass, Report
from snncc.passes.represent import check_fixed

from . import limits as L

TAU_SYN_CHOICES = ("error", "E", "I", "mean")
REFRACTORY_CHOICES = ("error", "ignore")
WIDTHS = {"du": L.DECAY_BITS, "dv": L.DECAY_BITS, "vth": L.VTH_BITS, "bias_mant": L.BIAS_MANT_BITS,
          "bias_exp": 3, "v_init": L.UV_BITS}
BIAS_LIMIT = L.BIAS_MANT_MAX << L.BIAS_EXP_MAX
#: vth * (all inputs of one step, in threshold gaps) stays below this: u = 64 * vth * that < 2**22
VOLLEY_LIMIT = 1 << (L.UV_BITS - 2 - L.ACT_SHIFT)


def _synapse_decay(p, choice: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(decay per step, excitatory gain, inhibitory gain) of one current u for both receptors."""
    c = p.coef
    d_e, d_i = np.asarray(c["decay_E"]), np.asarray(c["decay_I"])
    if np.allclose(d_e, d_i, rtol=0.0, atol=1e-12):
        return d_e, np.asarray(c["gain_E"]), np.asarray(c["gain_I"])
    k = int(np.argmax(np.abs(d_e - d_i)))
    if choice == "error":
        raise SnnccError(
            f"population '{p.name}': tau_syn_E and tau_syn_I differ (neuron {k}: decay per step "
            f"{d_e[k]:.6g} vs {d_i[k]:.6g}); Loihi's LIF has one current u with one decay du "
            "for all its inputs", p.loc,
            hint="set tau_syn_E = tau_syn_I, or compile with -O tau_syn=E, -O tau_syn=I or "
                 "-O tau_syn=mean (one time constant, each receptor's charge kept; "
                 "docs/loihi-numerics.md)")
    if choice == "E":
        d = d_e
    elif choice == "I":
        d = d_i
    else:   # the decay of the mean time constant
        tau = 0.5 * (-1.0 / detmath.log(d_e) - 1.0 / detmath.log(d_i))
        d = detmath.exp(-1.0 / tau)
    # Keep each receptor's total charge per input spike: gain_X / (1 - d_X) == c_X / (1 - d).
    g_e = np.asarray(c["gain_E"]) * (1.0 - d) / (1.0 - d_e)
    g_i = np.asarray(c["gain_I"]) * (1.0 - d) / (1.0 - d_i)
    return d, g_e, g_i


def _decays(p, tau_syn: str):
    c = p.coef
    dv = np.clip((1 << L.DECAY_BITS) - np.rint(4096.0 * np.asarray(c["decay_v"])), 0, L.DECAY_MAX)
    if p.synapse == "delta":
        ones = np.ones(p.size)
        return np.full(p.size, L.DECAY_MAX), dv, ones, ones, np.zeros(p.size)
    d, g_e, g_i = _synapse_decay(p, tau_syn)
    du = np.clip(L.DECAY_MAX - np.rint(4096.0 * d), 0, L.DECAY_MAX)
    return du, dv, g_e, g_i, d


def _smallest_exp(mag: np.ndarray, limit: int, lo: int, hi: int) -> np.ndarray:
    """Per value: the smallest e in [lo, hi] with round(mag / 2**e) <= limit (hi if none)."""
    e = np.full(mag.shape, hi, dtype=np.int64)
    for k in range(hi, lo - 1, -1):
        e = np.where(np.rint(mag / 2.0 ** k) <= limit, k, e)
    return e


@dataclass(frozen=True)
class LoihiLower(Pass):
    name = "loihi-lower"
    requires = ("discretised",)
    provides = ("quantised",)

    tau_syn: str = "error"
    refractory: str = "error"
    headroom_bits: int = 3
    share_vth: bool = False     # one vth for the whole network: fewer LIF processes in Lava

    def run(self, net: Network, target) -> tuple[Network, Report]:
        if self.tau_syn not in TAU_SYN_CHOICES:
            raise SnnccError(f"option tau_syn={self.tau_syn!r} is not one of {', '.join(TAU_SYN_CHOICES)}")
        if self.refractory not in REFRACTORY_CHOICES:
            raise SnnccError(f"option refractory={self.refractory!r} is not one of "
                             f"{', '.join(REFRACTORY_CHOICES)}")
        if not 0 <= self.headroom_bits <= L.VTH_BITS - 1:
            raise SnnccError(f"option headroom_bits={self.headroom_bits} is outside 0..{L.VTH_BITS - 1}")
        vth_cap = L.VTH_MAX >> self.headroom_bits
        info = {}
        for p in net.populations:
            refrac = np.asarray(p.coef["refrac"])
            if refrac.size and refrac.max() >= 1 and self.refractory == "error":
                raise SnnccError(
                    f"population '{p.name}': tau_refrac rounds to {count(refrac.max())} steps at dt "
                    f"{net.dt:g} ms, but Lava's LIF has no refractory period", p.loc,
                    hint="set tau_refrac below dt/2, or compile with -O refractory=ignore to drop it "
                         "(the neuron may fire again on the next step)")
            du, dv, g_e, g_i, d_syn = _decays(p, self.tau_syn)
            with np.errstate(all="ignore"):
                r = np.asarray(p.coef["v_thresh"]) - np.asarray(p.coef["v_reset"])
            if not np.all(np.isfinite(r)):
                k = int(np.flatnonzero(~np.isfinite(r))[0])
                raise SnnccError(
                    f"population '{p.name}': neuron {k} has a threshold gap v_thresh - v_reset = "
                    f"{num(p.coef['v_thresh'][k])} - {num(p.coef['v_reset'][k])} mV, which is not a finite "
                    "number; Loihi scales every voltage by it", p.loc, hint="use voltages within a physical range")
            if r.size and r.min() <= 0:
                k = int(np.argmin(r))
                raise SnnccError(
                    f"population '{p.name}': neuron {k} has v_thresh {p.coef['v_thresh'][k]:g} mV "
                    f"not above v_reset {p.coef['v_reset'][k]:g} mV; Loihi resets v to 0 and "
                    "fires above a positive threshold", p.loc, hint="set v_thresh > v_reset")
            with np.errstate(all="ignore"):   # non-finite biases are refused below
                bias = (np.asarray(p.coef["bias"]) - np.asarray(p.coef["v_reset"])
                        * (1.0 - np.asarray(p.coef["decay_v"])))
            if not np.all(np.isfinite(bias)):
                k = int(np.flatnonzero(~np.isfinite(bias))[0])
                raise SnnccError(f"population '{p.name}': the bias of neuron {k} (from v_rest, i_offset and "
                                 f"v_reset) is {num(bias[k])} mV per step, not a finite number", p.loc,
                                 hint="use parameters within a physical range")
            info[p.name] = dict(du=du, dv=dv, g=(g_e, g_i), r=r, bias=bias, d_syn=d_syn, zmax=[],
                                volley=np.zeros(p.size))

        # Largest incoming weight of each projection as a fraction of its post's threshold gap.
        z = {}
        for prj in net.projections:
            i = info[prj.post]
            g = i["g"][0 if prj.receptor == "excitatory" else 1]
            with np.errstate(all="ignore"):
                zs = g[prj.post_idx] * np.asarray(prj.weight) / i["r"][prj.post_idx]
            if not np.all(np.isfinite(zs)):
                k = int(np.flatnonzero(~np.isfinite(zs))[0])
                raise SnnccError(f"projection '{prj.name}': synapse {k} (weight {num(prj.weight[k])}) moves v "
                                 f"by {num(zs[k])} threshold gaps of '{prj.post}' in one step; Loihi needs a "
                                 "finite number", prj.loc, hint="use weights within a physical range")
            z[prj.name] = zs
            i["volley"] += np.bincount(prj.post_idx, np.abs(zs), minlength=len(i["volley"]))
            if zs.size and np.abs(zs).max() > 0:
                i["zmax"].append(float(np.abs(zs).max()))

        for p in net.populations:
            i = info[p.name]
            bound = [float(vth_cap)]
            with np.errstate(all="ignore"):   # bounds are floats (a tiny weight gives inf), capped below
                if i["zmax"]:     # the strongest projection must fit at weight_exp 7
                    bound.append(L.WEIGHT_MAX * (1 << L.WEIGHT_EXP_MAX) / max(i["zmax"]))
                volley = float(i["volley"].max(initial=0.0))
                if volley > 0:    # every input at once must leave u half its range: u wraps, it does not clip
                    bound.append(VOLLEY_LIMIT / volley)
                nz = np.abs(i["bias"]) > 0
                if nz.any():
                    bound.append(float(np.min(BIAS_LIMIT * i["r"][nz] / (64.0 * np.abs(i["bias"][nz])))))
            i["vth"] = int(min(bound))    # every bound is a float >= 0 or inf; the cap is finite
            if p.synapse == "exp" and volley > 0:
                i["accumulate"] = volley / max(1.0 - float(np.max(i["d_syn"])), 1e-12)
        if self.share_vth and info:
            low = min(i["vth"] for i in info.values())
            for i in info.values():
                i["vth"] = low
        new_pops, rows = [], []
        for p in net.populations:
            i = info[p.name]
            vth = i["vth"]
            if vth < 1:
                raise SnnccError(
                    f"population '{p.name}': its inputs or bias are too large for Loihi's ranges "
                    f"(largest weight {max(i['zmax'], default=0):.4g} x the threshold gap "
                    f"v_thresh - v_reset; 8-bit weights with weight_exp <= {L.WEIGHT_EXP_MAX} hold "
                    f"{L.WEIGHT_MAX << L.WEIGHT_EXP_MAX} x)", p.loc,
                    hint="lower the weights or i_offset, or widen v_thresh - v_reset")
            s = vth * 64.0 / i["r"]                     # integer units per mV, per neuron
            with np.errstate(all="ignore"):   # non-finite values are refused by check_fixed
                b = s * i["bias"]
                bexp = _smallest_exp(np.abs(b), L.BIAS_MANT_MAX, L.BIAS_EXP_MIN, L.BIAS_EXP_MAX)
                b_exact = b / 2.0 ** bexp
                v0_exact = s * (np.asarray(p.coef["v_init"]) - np.asarray(p.coef["v_reset"]))
            vmax = (1 << (L.UV_BITS - 1)) - 1
            hint = "bring v_init, v_rest and i_offset closer to the threshold gap v_thresh - v_reset"
            check_fixed(p, "bias mantissa (per step)", i["bias"], b_exact, np.rint(b_exact), L.BIAS_MANT_MIN,
                        L.BIAS_MANT_MAX, 2.0 ** bexp / s, target="Loihi", store="13-bit bias mantissa",
                        hint=hint)
            check_fixed(p, "v_init - v_reset", np.asarray(p.coef["v_init"]) - np.asarray(p.coef["v_reset"]),
                        v0_exact, np.rint(v0_exact), -vmax, vmax, 1.0 / s, target="Loihi",
                        store=f"{L.UV_BITS}-bit v", gap=i["r"], tol=L.VOLTAGE_REL_ERROR, hint=hint)
            bmant, v0 = np.rint(b_exact), np.rint(v0_exact)
            params = {"du": i["du"], "dv": i["dv"], "vth": np.full(p.size, vth), "bias_mant": bmant,
                      "bias_exp": bexp, "v_init": v0}
            new_pops.append(FixedPopulation(p.name, p.size, "loihi", params, WIDTHS, p.record, p.loc))
            fv = ((1 << L.DECAY_BITS) - i["dv"]) / 4096.0
            fu = ((1 << L.DECAY_BITS) - i["du"] - 1) / 4096.0
            rows.append({
                "population": p.name, "vth": vth, "du": _uniq(i["du"]), "dv": _uniq(i["dv"]),
                "decay_v_error": float(np.abs(fv - p.coef["decay_v"]).max()) if p.size else 0.0,
                "decay_u_error": (float(np.abs(fu - i["d_syn"]).max()) if p.synapse == "exp" and p.size
                                  else 0.0),
                "bias_error_mV": float(np.abs(bmant * 2.0 ** bexp / s - i["bias"]).max()) if p.size else 0.0,
            })

        new_prjs, prow, wexp = [], [], {}
        for prj in net.projections:
            if prj.plasticity is not None:
                raise SnnccError(f"projection '{prj.name}': plasticity is not supported by the loihi "
                                 "target (Lava's fixed-point learning is bit-approximate only)", prj.loc,
                                 hint="remove the plasticity rule or use the fpga target")
            zs, vth = z[prj.name], info[prj.post]["vth"]
            zm = float(np.abs(zs).max()) if zs.size else 0.0
            e = int(_smallest_exp(np.array(vth * zm), L.WEIGHT_MAX, L.WEIGHT_EXP_MIN, L.WEIGHT_EXP_MAX))
            exact = vth * zs / 2.0 ** e
            q = np.clip(np.rint(exact), -L.WEIGHT_MAX, L.WEIGHT_MAX).astype(np.int64)
            wexp[prj.name] = e
            d = np.asarray(prj.delay)
            if d.size and d.min() < 1:
                k = int(np.argmin(d))
                raise SnnccError(f"projection '{prj.name}': synapse {k} has a delay of {int(d[k])} steps; Loihi "
                                 f"delays are 1..{L.MAX_DELAY_STEPS} steps", prj.loc,
                                 hint="delays must be at least one step (dt)")
            if d.size and d.max() > L.MAX_DELAY_STEPS:
                k = int(np.argmax(d))
                raise SnnccError(
                    f"projection '{prj.name}': synapse {k} has a delay of {int(d[k])} steps; Loihi 2 "
                    f"holds at most {L.MAX_DELAY_STEPS} (DelayDense 0..{L.DELAY_DENSE_MAX} plus "
                    "Dense's own step)", prj.loc,
                    hint=f"shorten the delay to <= {L.MAX_DELAY_STEPS * net.dt:g} ms or use a larger dt")
            new_prjs.append(FixedProjection(prj.name, prj.pre, prj.post, prj.pre_idx, prj.post_idx, q,
                                            d, L.WEIGHT_BITS, prj.receptor, prj.plasticity, prj.loc))
            err = np.abs(q - exact) / np.maximum(np.abs(exact).max() if exact.size else 1.0, 1e-300)
            prow.append({"projection": prj.name, "weight_exp": e, "synapses": prj.n_synapses,
                         "max_q": int(np.abs(q).max()) if q.size else 0,
                         "zeroed": int(np.sum((q == 0) & (np.asarray(prj.weight) != 0))),
                         "max_rel_error": float(err.max()) if err.size else 0.0})
        for src in net.sources:
            key = src.step.astype(np.int64) * src.size + src.index
            dup = np.flatnonzero(key[1:] == key[:-1])
            if dup.size:
                k = int(dup[0])
                raise SnnccError(
                    f"spike source '{src.name}': neuron {int(src.index[k])} fires twice at step "
                    f"{int(src.step[k])}; a Lava spike source sends at most one spike per neuron and "
                    "step", src.loc, hint="remove the duplicate spike times (or ones closer than dt)")
        attrs = dict(net.attrs)
        attrs["loihi"] = {"weight_exp": wexp, "tau_syn": self.tau_syn, "refractory": self.refractory,
                          "headroom_bits": self.headroom_bits, "share_vth": self.share_vth}
        out = net.with_(populations=new_pops, projections=new_prjs, stage="fixed", target="loihi",
                        attrs=attrs)
        report = Report(self.name, summary={
            "populations": len(new_pops), "projections": len(new_prjs),
            "max_weight_rel_error": max((r["max_rel_error"] for r in prow), default=0.0),
            "zeroed_synapses": sum(r["zeroed"] for r in prow)},
            tables={"populations": rows, "projections": prow})
        risky = [p.name for p in net.populations
                 if info[p.name].get("accumulate", 0.0) * info[p.name]["vth"] * 64 >= 1 << (L.UV_BITS - 1)]
        if risky:
            report.notes.append(
                f"the current u of {', '.join(risky)} can wrap if their inputs repeat faster than the "
                "synaptic decay (Loihi wraps u at 24 bits); check with snncc run BUILD --refsim --strict, "
                "and raise -O headroom_bits if it does")
        if self.refractory == "ignore":
            report.notes.append("refractory periods dropped (-O refractory=ignore)")
        if self.tau_syn != "error":
            report.notes.append(f"one synaptic time constant per population (-O tau_syn={self.tau_syn})")
        return out, report


def _uniq(a: np.ndarray):
    u = np.unique(a)
    return int(u[0]) if u.size == 1 else [int(x) for x in u]
