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
  with one exponent ``e`` (0..7) per projection, the smallest that holds its largest weight;
* ``refrac`` steps of refractory period (Lava's ``LIFRefractory``), unless
  ``refractory=ignore``.

Where ``tau_syn_E != tau_syn_I`` the one current ``u`` gets one decay (``tau_syn``:
``auto`` by default, see :mod:`.tau_syn`), each receptor keeping its charge per spike;
the report then gives the realised time constants and the float-vs-loihi agreement of a
short run (:mod:`.agreement`), and a warning says so.
"""
from __future__ import annotations

from dataclasses import dataclass

from snncc.plugin import numba  # numba, its cache keyed by snncc's compiled code
import numpy as np

from snncc.plugin import SnnccError
from snncc.plugin import count, num
from snncc.plugin import FixedPopulation, FixedProjection, Network
from snncc.plugin import Pass, Report
from snncc.plugin import check_fixed

from . import limits as L
from .tau_syn import TAU_SYN_CHOICES, one_decay

REFRACTORY_CHOICES = ("exact", "ignore")
WIDTHS = {"du": L.DECAY_BITS, "dv": L.DECAY_BITS, "vth": L.VTH_BITS, "bias_mant": L.BIAS_MANT_BITS,
          "bias_exp": 3, "v_init": L.UV_BITS, "refrac": L.REFRAC_BITS}
BIAS_LIMIT = L.BIAS_MANT_MAX << L.BIAS_EXP_MAX
#: vth * (all inputs of one step, in threshold gaps) stays below this: u = 64 * vth * that < 2**22
VOLLEY_LIMIT = 1 << (L.UV_BITS - 2 - L.ACT_SHIFT)
#: delta synapses (du = 4095 clears u every step): one step's quantised input may fill u's whole
#: range, |u| <= 2**23 - 1, in units of vth (the input enters u shifted left by ACT_SHIFT)
U_ROOM_DELTA = ((1 << (L.UV_BITS - 1)) - 1) / (1 << L.ACT_SHIFT)
#: synapses per chunk of the per-projection arithmetic (bounds the float64 temporaries)
CHUNK = 1 << 22


@numba.njit(cache=True, nogil=True)
def _scan(post, w, g, r, volley):
    """Per synapse z = |g[post] * w / r[post]| (the weight in threshold gaps): add it to
    its post neuron's volley; return the largest. The same float operations, in the same
    order, as the numpy expression (and np.bincount's sequential sums)."""
    top = 0.0
    for k in range(w.shape[0]):
        n = post[k]
        z = abs(g[n] * np.float64(w[k]) / r[n])
        volley[n] += z
        if z > top:
            top = z
    return top


@numba.njit(cache=True, nogil=True)
def _quantise(post, w, g, r, vth, scale, wmax, q):
    """q = clip(rint(vth * (g[post] * w / r[post]) / scale), -wmax, wmax); returns (largest
    |q - exact|, largest |q|, synapses whose nonzero weight became 0)."""
    err = 0.0
    top = 0
    zeroed = 0
    for k in range(w.shape[0]):
        n = post[k]
        wk = np.float64(w[k])
        exact = vth * (g[n] * wk / r[n]) / scale
        v = np.rint(exact)
        if v > wmax:
            v = wmax
        elif v < -wmax:
            v = -wmax
        qk = np.int64(v)
        q[k] = qk
        d = abs(v - exact)
        if d > err:
            err = d
        if abs(qk) > top:
            top = abs(qk)
        if qk == 0 and wk != 0.0:
            zeroed += 1
    return err, top, zeroed


def _decays(p, tau_syn: str, drive, dt: float):
    """(du, dv, gain_E, gain_I, decay of u, tau_syn row or None) of one population."""
    c = p.coef
    dv = np.clip((1 << L.DECAY_BITS) - np.rint(4096.0 * np.asarray(c["decay_v"])), 0, L.DECAY_MAX)
    if p.synapse == "delta":
        ones = np.ones(p.size)
        return np.full(p.size, L.DECAY_MAX), dv, ones, ones, np.zeros(p.size), None
    d, g_e, g_i, row = one_decay(p, tau_syn, drive, dt)
    du = np.clip(L.DECAY_MAX - np.rint(4096.0 * d), 0, L.DECAY_MAX)
    return du, dv, g_e, g_i, d, row


def _smallest_exp(mag: np.ndarray, limit: int, lo: int, hi: int) -> np.ndarray:
    """Per value: the smallest e in [lo, hi] with round(mag / 2**e) <= limit (hi if none)."""
    e = np.full(mag.shape, hi, dtype=np.int64)
    for k in range(hi, lo - 1, -1):
        e = np.where(np.rint(mag / 2.0 ** k) <= limit, k, e)
    return e


def _chunks(n: int):
    for a in range(0, n, CHUNK):
        yield slice(a, min(n, a + CHUNK))


def _ratio(prj, info) -> tuple[np.ndarray, np.ndarray]:
    """(gain, threshold gap) per post neuron of ``prj``'s receptor (a weight's z is g * w / r)."""
    i = info[prj.post]
    return i["g"][0 if prj.receptor == "excitatory" else 1], i["r"]


@dataclass(frozen=True)
class LoihiLower(Pass):
    name = "loihi-lower"
    requires = ("discretised",)
    provides = ("quantised",)

    tau_syn: str = "auto"
    refractory: str = "exact"
    headroom_bits: int = 3
    share_vth: bool = False     # one vth for the whole network: fewer LIF processes in Lava
    #: steps of the float-vs-loihi comparison run where tau_syn is approximated (0: none)
    agreement_steps: int | None = None

    def run(self, net: Network, target) -> tuple[Network, Report]:
        self._check_options()
        vth_cap = L.VTH_MAX >> self.headroom_bits
        drive = _receptor_drive(net, {p.name for p in net.populations if p.synapse == "exp" and not
                                      np.array_equal(p.coef["decay_E"], p.coef["decay_I"])})
        info, tau_rows = {}, []
        for p in net.populations:
            info[p.name], row = self._population_info(net, p, drive.get(p.name, (0.0, 0.0)))
            if row is not None:
                tau_rows.append(row)
        zmax = _scan_projections(net, info)
        for p in net.populations:
            _choose_vth(p, info[p.name], vth_cap)
        if self.share_vth and info:
            low = min(i["vth"] for i in info.values())
            for i in info.values():
                i["vth"] = low
        new_pops, rows = [], []
        for p in net.populations:
            pop, row = _fixed_population(p, info[p.name])
            new_pops.append(pop)
            rows.append(row)
        new_prjs, prow, wexp = [], [], {}
        for prj in net.projections:
            fixed, row = _fixed_projection(net, prj, info, zmax[prj.name])
            new_prjs.append(fixed)
            prow.append(row)
            wexp[prj.name] = row["weight_exp"]
        _check_sources(net)
        attrs = dict(net.attrs)
        attrs["loihi"] = {"weight_exp": wexp, "tau_syn": self.tau_syn, "refractory": self.refractory,
                          "headroom_bits": self.headroom_bits, "share_vth": self.share_vth}
        out = net.with_(populations=new_pops, projections=new_prjs, stage="fixed", target="loihi",
                        attrs=attrs)
        return out, self._report(net, out, info, rows, prow, tau_rows)

    def _check_options(self) -> None:
        """-O values that are not one of the choices are refused before anything is computed."""
        if self.tau_syn not in TAU_SYN_CHOICES:
            raise SnnccError(f"option tau_syn={self.tau_syn!r} is not one of {', '.join(TAU_SYN_CHOICES)}")
        if self.refractory not in REFRACTORY_CHOICES:
            raise SnnccError(f"option refractory={self.refractory!r} is not one of "
                             f"{', '.join(REFRACTORY_CHOICES)}")
        if not 0 <= self.headroom_bits <= L.VTH_BITS - 1:
            raise SnnccError(f"option headroom_bits={self.headroom_bits} is outside 0..{L.VTH_BITS - 1}")

    def _population_info(self, net: Network, p, drive: tuple[float, float]) -> tuple[dict, dict | None]:
        """What the rest of the pass needs of one population (decays, gains, threshold gap r,
        bias, refractory steps), its values checked; and its tau_syn report row, if any."""
        refrac = np.asarray(p.coef["refrac"]).astype(np.int64)
        if self.refractory == "ignore":
            refrac = np.zeros(p.size, np.int64)
        elif refrac.size and refrac.max() > L.REFRAC_MAX:
            k = int(np.argmax(refrac))
            raise SnnccError(
                f"population '{p.name}': neuron {k}'s tau_refrac is {count(refrac[k])} steps at dt "
                f"{net.dt:g} ms; the loihi target holds at most {L.REFRAC_MAX}", p.loc,
                hint=f"shorten tau_refrac to <= {L.REFRAC_MAX * net.dt:g} ms, or compile with "
                     "-O refractory=ignore")
        du, dv, g_e, g_i, d_syn, row = _decays(p, self.tau_syn, drive, net.dt)
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
        return dict(du=du, dv=dv, g=(g_e, g_i), r=r, bias=bias, d_syn=d_syn, zmax=[],
                    volley=np.zeros(p.size), refrac=refrac), row

    def _report(self, net: Network, out: Network, info: dict, rows: list, prow: list,
                tau_rows: list) -> Report:
        """The pass report: per-population and per-projection tables, u-wrap and tau_syn notes."""
        report = Report(self.name, summary={
            "populations": len(out.populations), "projections": len(out.projections),
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
        if tau_rows:
            report.tables["tau_syn"] = [{k: v for k, v in r.items() if k != "warning"} for r in tau_rows]
        warned = [r["warning"] for r in tau_rows if r["warning"]]
        if warned:
            from .agreement import agreement
            report.warnings.extend(warned)
            rows_a, note = agreement(net, out, self.agreement_steps)
            if rows_a:
                report.tables["agreement"] = rows_a
            report.notes.append(note)
        return report


def _scan_projections(net: Network, info: dict) -> dict[str, float]:
    """Largest incoming weight of each projection as a fraction of its post's threshold gap
    (z = g * w / r), and every post neuron's sum of |z| (one step's worst-case volley, into
    ``info``)."""
    zmax, synapse = {}, {p.name: p.synapse for p in net.populations}
    for prj in net.projections:
        g, r = _ratio(prj, info)
        i = info[prj.post]
        with np.errstate(all="ignore"):
            top = _scan(prj.post_idx, np.asarray(prj.weight), np.ascontiguousarray(g, np.float64),
                        np.ascontiguousarray(r, np.float64), i["volley"])
        if not (np.isfinite(top) and np.all(np.isfinite(i["volley"]))):
            _refuse_nonfinite(prj, g, r)
        zmax[prj.name] = top
        if top > 0:
            i["zmax"].append(top)
        if synapse[prj.post] == "delta" and top > 0:
            # rounding bound per synapse of this projection (see the delta bound below)
            n_in = np.bincount(prj.post_idx, minlength=len(i["volley"])).astype(np.float64)
            i["n_in"] = i.get("n_in", 0.0) + n_in
            i["round"] = i.get("round", 0.0) + n_in * (top / L.WEIGHT_MAX)
    return zmax


def _choose_vth(p, i: dict, vth_cap: int) -> None:
    """The largest threshold mantissa the population's weights, volley, bias and headroom
    allow, into ``i["vth"]`` (and the exp synapses' accumulated volley, for the report)."""
    bound = [float(vth_cap)]
    with np.errstate(all="ignore"):   # bounds are floats (a tiny weight gives inf), capped below
        if i["zmax"]:     # the strongest projection must fit at weight_exp 7
            bound.append(L.WEIGHT_MAX * (1 << L.WEIGHT_EXP_MAX) / max(i["zmax"]))
        volley = float(i["volley"].max(initial=0.0))
        if volley > 0:    # every input at once must leave u half its range: u wraps, it does not clip
            half = VOLLEY_LIMIT / volley
            if half < 1 and p.synapse == "delta":
                # where that leaves no vth: u holds one step's input only (delta), so it never
                # wraps if every input at once, quantised, fits its whole range; each
                # q * 2**e exceeds vth * z by at most 0.5 (e = 0) or vth * zmax / 255 (e > 0,
                # e being the smallest exponent that holds zmax)
                half = float(np.min((U_ROOM_DELTA - 0.5 * i["n_in"]) / (i["volley"] + i["round"])))
            bound.append(half)
        nz = np.abs(i["bias"]) > 0
        if nz.any():
            bound.append(float(np.min(BIAS_LIMIT * i["r"][nz] / (64.0 * np.abs(i["bias"][nz])))))
    i["vth"] = int(min(bound))    # every bound is a float >= 0 or inf; the cap is finite
    if p.synapse == "exp" and volley > 0:
        i["accumulate"] = volley / max(1.0 - float(np.max(i["d_syn"])), 1e-12)


def _fixed_population(p, i: dict) -> tuple[FixedPopulation, dict]:
    """The population in Lava's integers (vth, decays, bias mantissa/exponent, v_init), checked
    against their widths; and its report row."""
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
              "bias_exp": bexp, "v_init": v0, "refrac": i["refrac"]}
    pop = FixedPopulation(p.name, p.size, "loihi", params, WIDTHS, p.record, p.loc)
    fv = ((1 << L.DECAY_BITS) - i["dv"]) / 4096.0
    fu = ((1 << L.DECAY_BITS) - i["du"] - 1) / 4096.0
    return pop, {
        "population": p.name, "vth": vth, "du": _uniq(i["du"]), "dv": _uniq(i["dv"]),
        "refrac_steps": _uniq(i["refrac"]) if p.size else 0,
        "decay_v_error": float(np.abs(fv - p.coef["decay_v"]).max()) if p.size else 0.0,
        "decay_u_error": (float(np.abs(fu - i["d_syn"]).max()) if p.synapse == "exp" and p.size
                          else 0.0),
        "bias_error_mV": float(np.abs(bmant * 2.0 ** bexp / s - i["bias"]).max()) if p.size else 0.0,
    }


def _fixed_projection(net: Network, prj, info: dict, zm: float) -> tuple[FixedProjection, dict]:
    """The projection as 8-bit weights with one exponent (the smallest that holds its largest
    weight ``zm`` in threshold gaps), its delays checked; and its report row."""
    if prj.plasticity is not None:
        raise SnnccError(f"projection '{prj.name}': plasticity is not supported by the loihi "
                         "target (Lava's fixed-point learning is bit-approximate only)", prj.loc,
                         hint="remove the plasticity rule or use the fpga target")
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
    vth = info[prj.post]["vth"]
    e = int(_smallest_exp(np.array(vth * zm), L.WEIGHT_MAX, L.WEIGHT_EXP_MIN, L.WEIGHT_EXP_MAX))
    # q = round(vth * z / 2**e) in int16, chunk by chunk; the largest rounding error
    # relative to the projection's largest |exact| (= vth * zm / 2**e)
    g, r = _ratio(prj, info)
    q = np.empty(prj.n_synapses, np.int16)
    err, top, zeroed = _quantise(prj.post_idx, np.asarray(prj.weight),
                                 np.ascontiguousarray(g, np.float64),
                                 np.ascontiguousarray(r, np.float64), float(vth), 2.0 ** e,
                                 float(L.WEIGHT_MAX), q)
    scale = vth * zm / 2.0 ** e
    fixed = FixedProjection(prj.name, prj.pre, prj.post, prj.pre_idx, prj.post_idx, q,
                            d, L.WEIGHT_BITS, prj.receptor, prj.plasticity, prj.loc)
    return fixed, {"projection": prj.name, "weight_exp": e, "synapses": prj.n_synapses,
                   "max_q": top, "zeroed": zeroed,
                   "max_rel_error": err / max(scale, 1e-300) if prj.n_synapses else 0.0}


def _check_sources(net: Network) -> None:
    """A Lava spike source sends at most one spike per neuron and step: refuse duplicates."""
    for src in net.sources:
        key = src.step.astype(np.int64) * src.size + src.index
        dup = np.flatnonzero(key[1:] == key[:-1])
        if dup.size:
            k = int(dup[0])
            raise SnnccError(
                f"spike source '{src.name}': neuron {int(src.index[k])} fires twice at step "
                f"{int(src.step[k])}; a Lava spike source sends at most one spike per neuron and "
                "step", src.loc, hint="remove the duplicate spike times (or ones closer than dt)")


def _refuse_nonfinite(prj, g, r) -> None:
    """Name the first synapse of ``prj`` whose z = g * w / r is not a finite number."""
    for sl in _chunks(prj.n_synapses):
        post = prj.post_idx[sl]
        w = np.asarray(prj.weight[sl], np.float64)
        with np.errstate(all="ignore"):
            zs = g[post] * w / r[post]
        bad = np.flatnonzero(~np.isfinite(zs))
        if bad.size:
            k = int(bad[0])
            raise SnnccError(f"projection '{prj.name}': synapse {sl.start + k} (weight {num(w[k])}) moves v "
                             f"by {num(zs[k])} threshold gaps of '{prj.post}' in one step; Loihi needs a "
                             "finite number", prj.loc, hint="use weights within a physical range")
    raise SnnccError(f"projection '{prj.name}': the summed input of '{prj.post}' in one step is not a finite "
                     "number", prj.loc, hint="use weights within a physical range")


def _receptor_drive(net: Network, posts: set[str]) -> dict[str, tuple[float, float]]:
    """Per population of ``posts``, the summed |weight| of its excitatory and inhibitory
    synapses (the weight ``tau_syn=auto`` gives each receptor's error)."""
    out: dict[str, list[float]] = {}
    for prj in net.projections:
        if prj.post not in posts:
            continue
        acc = out.setdefault(prj.post, [0.0, 0.0])
        k = 0 if prj.receptor == "excitatory" else 1
        for sl in _chunks(prj.n_synapses):
            acc[k] += float(np.abs(np.asarray(prj.weight[sl], np.float64)).sum())
    return {k: (v[0], v[1]) for k, v in out.items()}


def _uniq(a: np.ndarray):
    u = np.unique(a)
    return int(u[0]) if u.size == 1 else [int(x) for x in u]
