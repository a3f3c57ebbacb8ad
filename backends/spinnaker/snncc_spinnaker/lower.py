"""Lowering for sPyNNaker: PyNN cells kept for the emitter, s16.15 parameters and
ring-buffer weight scaling for the ``spinnaker`` kernel.

``lif`` becomes IF_curr_exp, ``lif_delta`` IF_curr_delta. sPyNNaker's IF_curr_delta
does not step v by the weight: it adds the weight to a synaptic input that the neuron
reads as the current ``input / dt`` for one step (input_type_delta.h) through the
same closed form as IF_curr_exp, so a weight ``c`` moves v by
``c (tau_m/cm)(1 - exp(-dt/tau_m))/dt``, about ``c/cm`` mV. A delta weight of the
float IR (a jump in mV, as PyNN defines it) is therefore handed to sPyNNaker as the
charge ``w * cm`` of the post neuron; the emitted script divides it by cm again on
simulators that take mV.

sPyNNaker stores a weight as a 16-bit magnitude ``q`` in the synaptic row; at the
start of a step the ring buffer's sum of ``q`` (saturating at 0xFFFF) is shifted left
by the post population's per-receptor *ring-buffer left shift* ``s`` into an s16.15
current, so one ``q`` step is ``2**(s - 15)`` nA. sPyNNaker picks ``s`` from weight
statistics (``PopulationVertex.get_ring_buffer_shifts``) unless the population is
given ``max_expected_summed_weight``. We pick ``s`` from the exact worst case - the
largest sum of |w| that can land on one neuron in one step (all synapses of equal
delay firing together) - so the ring buffer never saturates, and hand that sum to
sPyNNaker in the emitted script, so sPyNNaker uses the very same shift. The report
states the resulting weight step (the effective precision) per population.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from snncc.plugin import numba  # numba, its cache keyed by snncc's compiled code
import numpy as np

from snncc.plugin import (
    FixedPopulation, FixedProjection, InternalError, Loc, Network, Pass, RELAY_THRESHOLD, RELAY_WEIGHT, Report,
    SnnccError, check_fixed, count, detmath, num, relay_population, require_memory,
)

from . import limits as L
from .routing import routing_entries

ONE = 1 << L.ACCUM_FRAC_BITS      # 1.0 in s16.15
U032 = 1 << 32                    # 1.0 in u0.32 (decay_t = unsigned long fract)

#: PyNN cell type of each float-IR model the SpiNNaker target supports
CELL_TYPES = {"lif": "IF_curr_exp", "lif_delta": "IF_curr_delta"}
DELTA_CELLS = ("IF_curr_delta",)


# ------------------------------------------------------------------------ capture cells

@dataclass(frozen=True)
class CaptureCells(Pass):
    """Keep each population's PyNN cell parameters (float IR) in ``attrs["pynn"]``.

    Discretise replaces them with per-step coefficients; the emitted PyNN script and
    sPyNNaker need the originals. Homogeneous parameters are stored as one number.
    """

    name = "pynn-cells"
    requires = ("validated",)
    provides = ("pynn_cells",)

    def run(self, net, target):
        cells = {}
        for p in net.populations:
            if p.model not in CELL_TYPES:
                raise SnnccError(
                    f"population '{p.name}': model '{p.model}' is not supported by the spinnaker target "
                    f"(supported: {', '.join(f'{m} ({c})' for m, c in CELL_TYPES.items())})", p.loc,
                    hint="use cell_type IF_curr_exp or IF_curr_delta, or compile for the reference target")
            cells[p.name] = {"cell": CELL_TYPES[p.model],
                             "params": {k: _compact(v) for k, v in p.params.items()},
                             "v_init": _compact(p.v_init)}
        attrs = dict(net.attrs)
        attrs["pynn"] = cells
        return net.with_(attrs=attrs), Report(self.name, summary={"populations": len(cells)})


def _compact(a: np.ndarray):
    a = np.asarray(a, dtype=np.float64)
    if a.size and np.all(a == a[0]):
        return float(a[0])
    return [float(x) for x in a]


def expand(value, size: int) -> np.ndarray:
    return np.full(size, float(value)) if np.isscalar(value) else np.asarray(value, dtype=np.float64)


# ------------------------------------------------------------------------ relays

#: a relay of the delays pass becomes an IF_curr_exp that fires in the very step its one
#: input arrives and never again without input: a synaptic time constant of a tenth of a
#: step (the current is gone after the step), a membrane of two steps and an input far
#: above threshold (~30 mV for a 0.5 mV threshold at any dt, in float and in s16.15)
RELAY_CURRENT = 50.0      # nA, replaces the relay's 1 mV delta input


def relay_cell(dt: float) -> dict:
    return {"cell": "IF_curr_exp", "v_init": 0.0, "params": {
        "cm": 0.1 * dt, "tau_m": 2.0 * dt, "tau_syn_E": 0.1 * dt, "tau_syn_I": 0.1 * dt,
        "tau_refrac": 0.0, "v_rest": 0.0, "v_reset": 0.0, "v_thresh": RELAY_THRESHOLD, "i_offset": 0.0}}


def is_relay(p) -> bool:
    """Whether ``p`` is a relay population made by the delays pass."""
    if p.model != "if" or p.synapse != "delta":
        return False
    ref = relay_population(p.name, p.size).coef
    return all(k in p.coef and np.array_equal(p.coef[k], v) for k, v in ref.items())


def map_relays(net: Network) -> tuple[Network, list[str]]:
    """Relays as IF_curr_exp cells in attrs["pynn"], their inputs as RELAY_CURRENT nA."""
    relays = [p.name for p in net.populations if is_relay(p)]
    if not relays:
        return net, []
    cells = dict(net.attrs.get("pynn", {}))
    for name in relays:
        cells[name] = relay_cell(net.dt)
    prjs = []
    for prj in net.projections:
        if prj.post in relays:
            if prj.receptor != "excitatory" or not np.all(prj.weight == RELAY_WEIGHT):
                raise InternalError(f"projection '{prj.name}' into relay '{prj.post}' "
                                    "is not a relay link")
            prj = type(prj)(prj.name, prj.pre, prj.post, prj.pre_idx, prj.post_idx,
                            np.full(prj.n_synapses, RELAY_CURRENT), prj.delay, prj.receptor, prj.plasticity,
                            prj.loc)
        prjs.append(prj)
    return net.with_(projections=prjs, attrs={**net.attrs, "pynn": cells}), relays


# ------------------------------------------------------------------------ fixed point

def s1615(x) -> np.ndarray:
    """Host-side conversion to s16.15 as sPyNNaker's DataType.S1615 encodes it (round).
    Values outside the s16.15 range are the caller's to refuse (lower_cells does)."""
    with np.errstate(all="ignore"):
        return np.round(np.asarray(x, dtype=np.float64) * ONE).astype(np.int64)


def u032(x) -> np.ndarray:
    return np.minimum(np.round(np.asarray(x, dtype=np.float64) * U032), U032 - 1).astype(np.int64)


def ring_buffer_shift(max_summed_weight: float) -> int:
    """sPyNNaker's rule (PopulationVertex.get_ring_buffer_shifts): the smallest power of
    two strictly above the largest expected summed weight."""
    w = float(max_summed_weight)
    p = 0 if w <= 0 else int(math.ceil(max(0.0, math.log2(w))))
    return p + 1 if w > 0 and 2 ** p <= w else p


def weight_scale(shift: int) -> float:
    """q per nA for a ring-buffer shift (PopulationVertex.__get_weight_scale)."""
    return 2.0 ** (16 - (shift + 1))


@numba.njit(cache=True, nogil=True)
def _sum_by_delay(delay, post, weight, dmin, floor, sums):
    for k in range(delay.shape[0]):
        sums[delay[k] - dmin, post[k]] += max(abs(np.float64(weight[k])), floor)


def summed_weights(net: Network) -> dict[str, np.ndarray]:
    """Per population: (2, size) largest sum of |w| one neuron can receive in one step,
    per receptor, taken over delays (synapses of one delay can all fire at once)."""
    out = {p.name: np.zeros((2, p.size)) for p in net.populations}
    for prj in net.projections:
        if prj.n_synapses == 0:
            continue
        size = out[prj.post].shape[1]
        rec = 0 if prj.receptor == "excitatory" else 1
        dmin, dmax = int(prj.delay.min()), int(prj.delay.max())
        # STDP may grow every weight to w_max
        floor = abs(float(prj.plasticity.w_max)) if prj.plasticity is not None else 0.0
        sums = np.zeros((dmax - dmin + 1, size))
        _sum_by_delay(prj.delay, prj.post_idx, prj.weight, dmin, floor, sums)
        per = sums.max(axis=0)
        out[prj.post][rec] = np.maximum(out[prj.post][rec], per)
    return out


def kdivk_one_over(x: float) -> int:
    """1/x in s16.15 as sPyNNaker computes it on the chip: ``kdivk(1.0, x)``, an integer
    division of the s16.15 bit patterns (truncating), x itself rounded to s16.15 first."""
    xb = int(s1615(x))
    if xb <= 0:
        raise SnnccError(f"time step {x} ms is below sPyNNaker's s16.15 resolution")
    return (ONE << L.ACCUM_FRAC_BITS) // xb


@dataclass(frozen=True)
class _Where:
    """What check_fixed names: the population and where it came from."""

    name: str
    loc: Loc | None = None


def _check_accum(pop, values: dict[str, np.ndarray], gap: np.ndarray) -> None:
    """Refuse a parameter sPyNNaker holds in s16.15 that lies outside the s16.15 range, a
    voltage whose rounding moves it by more than L.VOLTAGE_REL_ERROR of the threshold gap,
    and a membrane or synaptic time constant or a capacitance that rounds by more than that
    share of itself."""
    voltages = ("v_thresh", "v_reset", "v_rest", "v_init")
    relative = ("cm", "tau_m", "tau_syn_E", "tau_syn_I")   # tau_refrac counts steps: its range is enough
    label = {"r_mem": "r_mem = tau_m / cm"}
    units = {"r_mem": "MOhm", "i_offset": "nA", "cm": "nF", "tau_m": "ms", "tau_syn_E": "ms", "tau_syn_I": "ms",
             "tau_refrac": "ms"}
    lo, hi = int(L.ACCUM_MIN * ONE), int(L.ACCUM_MAX * ONE)
    for key, x in values.items():
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(all="ignore"):
            exact = x * ONE
        ref = gap if key in voltages else np.abs(x) if key in relative else None
        check_fixed(pop, label.get(key, key), x, exact, np.round(exact), lo, hi, 1.0 / ONE, target="sPyNNaker",
                    store="s16.15", in_units=False, phys_unit=units.get(key, "mV"), gap=ref,
                    tol=L.VOLTAGE_REL_ERROR, ref_name="value" if key in relative else
                    "the threshold gap v_thresh - v_reset",
                    hint="use values within s16.15's range and resolution (2**-15); sPyNNaker holds every "
                         "neuron parameter in it")


def lower_cells(name: str, size: int, cell: dict, dt: float, loc: Loc | None = None) -> tuple[dict, dict]:
    """FixedPopulation params and widths of one IF_curr_exp or IF_curr_delta population,
    as sPyNNaker computes them (neuron_model_lif_impl.h, synapse_types_exponential_impl.h,
    synapse_types_delta_impl.h, input_type_delta.h). Refuses what s16.15 cannot hold."""
    p = {k: expand(v, size) for k, v in cell["params"].items()}
    pop = _Where(name, loc)
    with np.errstate(all="ignore"):   # non-finite values are refused by the checks
        r_mem = p["tau_m"] / p["cm"]
        exp_tc = detmath.exp(-dt / p["tau_m"])
        refract = np.ceil(np.round(p["tau_refrac"] / dt, 9))
    v_init = expand(cell["v_init"], size)
    held = {"v_thresh": p["v_thresh"], "v_reset": p["v_reset"], "v_rest": p["v_rest"], "v_init": v_init,
            "i_offset": p["i_offset"], "r_mem": r_mem, "cm": p["cm"], "tau_m": p["tau_m"],
            "tau_refrac": p["tau_refrac"]}
    if cell["cell"] not in DELTA_CELLS:
        held.update(tau_syn_E=p["tau_syn_E"], tau_syn_I=p["tau_syn_I"])
    with np.errstate(all="ignore"):
        _check_accum(pop, held, p["v_thresh"] - p["v_reset"])
    if size and not np.all(refract <= L.REFRACT_MAX):
        k = int(np.flatnonzero(~(refract <= L.REFRACT_MAX))[0])
        raise SnnccError(f"population '{name}': tau_refrac of neuron {k} is {num(refract[k])} steps of "
                         f"{num(dt)} ms; sPyNNaker counts at most {L.REFRACT_MAX}", loc,
                         hint="shorten tau_refrac or raise dt")
    params = {
        "v_init": s1615(v_init),
        "v_rest": s1615(p["v_rest"]),
        "v_reset": s1615(p["v_reset"]),
        "v_thresh": s1615(p["v_thresh"]),
        "i_offset": s1615(p["i_offset"]),
        "r_mem": s1615(r_mem),                                  # R = tau_m / c_m  (MOhm)
        "exp_tc": s1615(exp_tc),                                # exp(-ts / tau_m)
        "t_refract": refract.astype(np.int64),                  # lif_ceil_accum
    }
    delta = cell["cell"] in DELTA_CELLS
    for rec in ("E", "I"):
        if delta:
            # the delta synapse's input is cleared after every step: a decay of 0; no init
            params[f"decay_{rec}"] = np.zeros(size, np.int64)
            params[f"init_{rec}"] = np.zeros(size, np.int64)
            continue
        tau = p[f"tau_syn_{rec}"]
        with np.errstate(all="ignore"):   # tau far below dt: decay 0 (an exact u0.32)
            decay = detmath.exp(-dt / tau)
        params[f"decay_{rec}"] = u032(decay)
        params[f"init_{rec}"] = u032(tau / dt * (1.0 - decay))  # charge of one step
    params["delta"] = np.full(size, int(delta), np.int64)
    # input_type_delta.h: input -> current scale 1/dt; unused (1.0) for current input
    params["in_scale"] = np.full(size, kdivk_one_over(dt) if delta else ONE, np.int64)
    widths = {k: 32 for k in params}
    widths["t_refract"] = 16
    widths["delta"] = 1
    return params, widths


def delta_charges(net: Network, cells: dict) -> Network:
    """Weights into IF_curr_delta populations as sPyNNaker's charges: |w| mV times the
    post neuron's cm (see the module docstring)."""
    cm = {name: expand(c["params"]["cm"], size)
          for name, size, c in ((p.name, p.size, cells.get(p.name)) for p in net.populations)
          if c is not None and c["cell"] in DELTA_CELLS}
    if not cm:
        return net
    prjs = []
    for prj in net.projections:
        if prj.post in cm:
            if prj.plasticity is not None:
                raise SnnccError(
                    f"projection '{prj.name}': STDP onto the IF_curr_delta population '{prj.post}' is not "
                    "supported by the spinnaker target (plastic projections need IF_curr_exp posts)", prj.loc,
                    hint="use a lif (IF_curr_exp) post population, or compile for the reference target")
            w = np.asarray(prj.weight, np.float64) * cm[prj.post][np.asarray(prj.post_idx, np.int64)]
            prj = type(prj)(prj.name, prj.pre, prj.post, prj.pre_idx, prj.post_idx, w, prj.delay,
                            prj.receptor, prj.plasticity, prj.loc)
        prjs.append(prj)
    return net.with_(projections=prjs)


@numba.njit(cache=True, nogil=True)
def _quantise(w, scale, q):
    worst, abs_err, rel_err, zeroed = 0, 0.0, 0.0, 0
    for k in range(w.shape[0]):
        m = abs(np.float64(w[k]))
        v = np.rint(m * scale)
        iv = np.int64(v)
        worst = max(worst, iv)
        q[k] = min(iv, 0xFFFF)
        e = abs(v / scale - m)
        abs_err = max(abs_err, e)
        if m > 0:
            rel_err = max(rel_err, e / m)
            if iv == 0:
                zeroed += 1
    return worst, abs_err, rel_err, zeroed


def quantise_magnitudes(weight: np.ndarray, scale: float) -> tuple[np.ndarray, int, float, float, int]:
    """(uint16 magnitudes rint(|w| * scale) computed in float64, the largest before
    clipping, max absolute error (nA), max relative error, synapses rounded to 0): one
    pass over the synapses, which at the microcircuit's full scale number 0.3 G."""
    q = np.empty(weight.shape[0], dtype=np.uint16)
    worst, abs_err, rel_err, zeroed = _quantise(weight, float(scale), q)
    return q, int(worst), float(abs_err), float(rel_err), int(zeroed)


# ------------------------------------------------------------------------ the pass

@dataclass(frozen=True)
class SpinnakerLower(Pass):
    """Step-stage network -> fixed-stage network for the ``spinnaker`` kernel."""

    name = "spinnaker-lower"
    requires = ("discretised", "pynn_cells")
    provides = ("lowered",)

    def run(self, net, target):
        ts = np.array([net.dt]) * ONE
        if not (1 <= np.round(ts[0]) <= L.ACCUM_MAX * ONE and abs(np.round(ts[0]) - ts[0]) <= ts[0] / 16):
            raise SnnccError(f"network '{net.name}': dt = {num(net.dt)} ms; sPyNNaker holds the time step in s16.15 "
                             f"({num(16 * 2.0 ** -L.ACCUM_FRAC_BITS)}..{num(L.ACCUM_MAX)} ms within "
                             f"{num(100 * L.VOLTAGE_REL_ERROR)} %)", net.loc, hint="use a dt in that range")
        for src in net.sources:   # sPyNNaker counts a source's spikes per step, 8 bytes a step, to its last
            if src.step.size:
                last = int(src.step.max())
                require_memory(8.0 * (last + 1), f"source '{src.name}': sPyNNaker counts its spikes in every "
                               f"step up to its last spike (step {count(last)}; the run has {count(net.steps)})",
                               src.loc, hint="drop spike times after the end of the run")
        net, relays = map_relays(net)
        cells = net.attrs.get("pynn", {})
        net = delta_charges(net, cells)
        dt = net.dt
        sums = summed_weights(net)
        pops, prow = [], []
        shifts: dict[str, list[int]] = {}
        for p in net.populations:
            if p.name not in cells:
                raise SnnccError(
                    f"population '{p.name}' (model '{p.model}') has no PyNN cell; the spinnaker target "
                    "maps only populations of the model file and relays of the delays pass", p.loc)
            params, widths = lower_cells(p.name, p.size, cells[p.name], dt, p.loc)
            s = [ring_buffer_shift(sums[p.name][r].max(initial=0.0)) for r in (0, 1)]
            for r, shift in enumerate(s):
                if shift > L.MAX_RING_BUFFER_SHIFT:
                    k = int(np.argmax(sums[p.name][r]))
                    raise SnnccError(
                        f"population '{p.name}': up to {num(sums[p.name][r][k])} nA of "
                        f"{'excitatory' if r == 0 else 'inhibitory'} weight can arrive at neuron {k} in one step; "
                        f"sPyNNaker's s16.15 input holds less than {2 ** L.MAX_RING_BUFFER_SHIFT} nA "
                        f"(ring-buffer shift {shift} > {L.MAX_RING_BUFFER_SHIFT})", p.loc,
                        hint="use smaller weights, or fewer synapses of equal delay into one neuron")
            shifts[p.name] = s
            params["shift_E"] = np.full(p.size, s[0])
            params["shift_I"] = np.full(p.size, s[1])
            widths["shift_E"] = widths["shift_I"] = 5
            pops.append(FixedPopulation(p.name, p.size, "spinnaker", params, widths, p.record, p.loc))
            prow.append({"population": p.name, "max_summed_E_nA": float(sums[p.name][0].max(initial=0.0)),
                         "max_summed_I_nA": float(sums[p.name][1].max(initial=0.0)),
                         "shift_E": s[0], "shift_I": s[1],
                         "weight_step_E_nA": 1.0 / weight_scale(s[0]),
                         "weight_step_I_nA": 1.0 / weight_scale(s[1])})
        prjs, wrow = [], []
        for prj in net.projections:
            r = 0 if prj.receptor == "excitatory" else 1
            scale = weight_scale(shifts[prj.post][r])
            q, worst, abs_err, rel_err, zeroed = quantise_magnitudes(prj.weight, scale)
            if worst > 0xFFFF:  # cannot happen with the worst-case shift
                raise InternalError(f"projection '{prj.name}' weight {worst} exceeds 16 bits")
            prjs.append(FixedProjection(prj.name, prj.pre, prj.post, prj.pre_idx, prj.post_idx, q,
                                        prj.delay, L.WEIGHT_BITS, prj.receptor, prj.plasticity, prj.loc))
            wrow.append({"projection": prj.name, "synapses": prj.n_synapses,
                         "weight_step_nA": 1.0 / scale, "max_abs_error_nA": abs_err,
                         "max_rel_error": rel_err, "zeroed": zeroed})
        attrs = dict(net.attrs)
        routing = routing_entries(net) if "placement" in attrs and "partition" in attrs else None
        if routing is not None:
            attrs["routing"] = {k: v for k, v in routing.items() if k != "per_chip"}
        attrs["ring_buffer_shifts"] = shifts
        attrs["max_summed_weights"] = {p: [float(sums[p][r].max(initial=0.0)) for r in (0, 1)] for p in sums}
        out = net.with_(populations=pops, projections=prjs, stage="fixed", target="spinnaker", attrs=attrs)
        report = Report(self.name, summary={
            "format": "s16.15 state, 16-bit weights with per-population ring-buffer shifts",
            "max_weight_rel_error": max((r["max_rel_error"] for r in wrow), default=0.0),
            **({k: v for k, v in routing.items() if k != "per_chip"} if routing else {})},
            tables={"ring_buffers": prow, "weights": wrow,
                    "routing_entries_per_chip": [{"chip": c, "entries": n}
                                                 for c, n in (routing or {}).get("per_chip", {}).items()]},
            notes=([f"relay populations of the delays pass as IF_curr_exp cells: {', '.join(relays)}"]
                   if relays else []) +
            ["shifts chosen from the worst-case summed weight and passed to sPyNNaker as "
             "max_expected_summed_weight, so sPyNNaker uses the same shifts"])
        return out, report
