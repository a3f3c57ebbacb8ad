"""A neuron learns a repeated spatial pattern with pair STDP, on the fpga core's integers.

100 inputs fire as 5 Hz Poisson noise; every 50-90 ms a fixed set of 25 of them (the
pattern) fires together. One LIF neuron listens to all of them through plastic synapses
with random small weights. Additive STDP with depression slightly stronger than
potentiation drives the weights of the pattern inputs - which fire just before the
neuron - to ``w_max`` and the others, uncorrelated with its spikes, to ``w_min``
(Song, Miller & Abbott 2000; the SpiNNaker STDP pattern-detection demos).

Training runs the network (compiled for the ``fpga`` target, so the rule is the core's
integer one, bit-exact with the simulated board) on the reference simulator; testing
freezes the learned weights and presents the pattern again in fresh noise. Detection =
presentations followed by a spike within 10 ms; false alarms = spikes elsewhere.

    python examples/stdp/pattern.py            # train 4 s, test 2 s, print the figures
    python examples/stdp/pattern.py --float    # the float rule instead
    python examples/stdp/pattern.py --board    # also train on the simulated board (Verilator)
"""
from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from snncc.compiler import lower
from snncc.ir import MODEL_PARAMS, STDP, Network, Population, Projection, SpikeSource
from snncc.refsim import simulate

N_IN, N_PAT, RATE_HZ, WINDOW = 100, 25, 5.0, 10


def inputs(seconds: float, seed: int, pattern: np.ndarray) -> tuple[SpikeSource, np.ndarray]:
    """Poisson noise plus pattern presentations; returns the source and the onset steps."""
    rng = np.random.default_rng(seed)
    T = int(seconds * 1000)
    ev = np.flatnonzero(rng.random(N_IN * T) < RATE_HZ / 1000.0)
    idx, step = list(ev % N_IN), list(ev // N_IN)
    onsets, t = [], 20
    while t < T - WINDOW:
        onsets.append(t)
        idx += pattern.tolist()
        step += [t] * N_PAT
        t += int(rng.integers(50, 90))
    key = np.unique(np.asarray(step, np.int64) * N_IN + np.asarray(idx, np.int64))   # no double spikes
    return SpikeSource("input", N_IN, key % N_IN, (key // N_IN).astype(float)), np.asarray(onsets)


def network(seconds: float, seed: int, pattern: np.ndarray, weights: np.ndarray,
            rule: STDP | None) -> tuple[Network, np.ndarray]:
    src, onsets = inputs(seconds, seed, pattern)
    par = {k: np.array([v[0]]) for k, v in MODEL_PARAMS["lif"].items()}
    par["tau_refrac"][:] = 2.0
    pop = Population("detector", 1, "lif", par, np.array([-65.0]))
    prj = Projection("input_detector", "input", "detector", np.arange(N_IN), np.zeros(N_IN, int), weights,
                     np.ones(N_IN), plasticity=rule)
    return Network("stdp_pattern", 1.0, int(seconds * 1000), [pop], [src], [prj]), onsets


def score(raster, onsets: np.ndarray) -> dict:
    spikes = raster.spikes["detector"][0]
    hit = np.array([np.any((spikes >= t) & (spikes < t + WINDOW)) for t in onsets])
    inside = np.zeros(raster.steps, bool)
    for t in onsets:
        inside[t:t + WINDOW] = True
    false = int(np.count_nonzero(~inside[spikes]))
    return {"presentations": int(onsets.size), "detected": int(hit.sum()),
            "detection": float(hit.mean()) if onsets.size else 0.0, "false_alarms": int(false),
            "false_alarm_hz": false / (raster.steps / 1000.0)}


#: (largest initial weight, w_max) in nA per rule. The core's shift decays shorten the
#: synaptic and membrane time constants (5 -> 3.5 ms, 20 -> 15.5 ms), so its neuron needs
#: stronger synapses to fire at all before learning.
WEIGHTS = {"fpga": (0.3, 0.7), "float": (0.2, 0.5)}


def train_on_board(fixed: Network) -> dict:
    """Train on the simulated board (hdl/ under Verilator); its learned weights, read over the UART."""
    import tempfile
    from pathlib import Path

    from snncc_fpga import sim
    from snncc_fpga.client import Board
    from snncc_fpga.image import encode
    from snncc_fpga.upload import run, upload
    img = encode(fixed)
    with tempfile.TemporaryDirectory() as tmp:
        b = sim.start(Path(tmp) / "board.json", idle_exit=600)
        try:
            with Board(b.pty, timeout=2.0) as link:
                upload(link, img, max_delay=1, force=True)
                return run(link, img, fixed, fixed.steps).weights
        finally:
            b.stop()


def main(target: str = "fpga", train_s: float = 4.0, test_s: float = 2.0, seed: int = 1, quiet: bool = False,
         w_hi: float | None = None, w_max: float | None = None, a_minus: float = 0.03,
         board: bool = False) -> dict:
    w_hi = WEIGHTS[target][0] if w_hi is None else w_hi
    w_max = WEIGHTS[target][1] if w_max is None else w_max
    rng = np.random.default_rng(seed)
    pattern = np.sort(rng.choice(N_IN, N_PAT, replace=False))
    w0 = rng.uniform(0.02, w_hi, N_IN)                      # nA: the pattern alone is too weak
    rule = STDP(tau_plus=16.8, tau_minus=33.7, A_plus=0.03, A_minus=a_minus, w_min=0.0, w_max=w_max)
    train, onsets = network(train_s, seed + 100, pattern, w0, rule)
    test, test_onsets = network(test_s, seed + 200, pattern, w0, None)
    if target == "float":
        r = simulate(train)
        learned = r.weights["input_detector"]
        before = simulate(test)
        after = simulate(test.with_(projections=[dataclasses.replace(test.projections[0], weight=learned)]))
        w_frac = learned / rule.w_max
    else:
        fixed = lower(train, target).network
        r = simulate(fixed)
        learned = r.weights["input_detector"]
        if board:
            on_board = train_on_board(fixed)["input_detector"]
            if not np.array_equal(on_board, learned):
                raise SystemExit("the simulated board learned different weights than the fpga kernel")
            if not quiet:
                print(f"simulated board: the {learned.size} learned weights equal the fpga kernel's")
        ftest = lower(test.with_(projections=[dataclasses.replace(test.projections[0], plasticity=rule)]),
                      target).network        # the same integer scales as training
        static = dataclasses.replace(ftest.projections[0], plasticity=None)
        before = simulate(ftest.with_(projections=[dataclasses.replace(static, weight=fixed.projections[0].weight)]))
        after = simulate(ftest.with_(projections=[dataclasses.replace(static, weight=learned)]))
        w_frac = learned / fixed.projections[0].plasticity.w_max
    in_pat = np.zeros(N_IN, bool)
    in_pat[pattern] = True
    out = {"target": target, "train": score(r, onsets), "before": score(before, test_onsets),
           "after": score(after, test_onsets),
           "pattern_weight": float(w_frac[in_pat].mean()), "other_weight": float(w_frac[~in_pat].mean())}
    if not quiet:
        print(f"pair STDP on the {target} rule: {N_IN} inputs at {RATE_HZ:g} Hz, a {N_PAT}-input pattern")
        print(f"  mean weight / w_max after {train_s:g} s: pattern {out['pattern_weight']:.2f}, "
              f"others {out['other_weight']:.2f}")
        for k in ("before", "after"):
            s = out[k]
            print(f"  test {k:6s} learning: detected {s['detected']}/{s['presentations']} "
                  f"({s['detection']:.0%}), false alarms {s['false_alarm_hz']:.1f} Hz")
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--float", action="store_true", help="use the float rule instead of the fpga integers")
    ap.add_argument("--train", type=float, default=4.0, help="training seconds")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--board", action="store_true", help="also train on the simulated board and compare")
    a = ap.parse_args()
    main("float" if a.float else "fpga", a.train, seed=a.seed, board=a.board)
