"""Handwritten digits on spiking hardware: train, convert, export to NIR, compile, measure.

A 64-32-10 ReLU network is trained on scikit-learn's bundled ``load_digits`` (8x8
images, no download) and converted to a rate-coded spiking network of (practically) non-leaky
integrate-and-fire neurons (data-based threshold balancing, Diehl et al. 2015): pixel
intensity becomes a regular spike train, the class is the output neuron that fires
most. The 42 neurons and 2368 synapses fit one small FPGA core. docs/digits.md has the
results.

    python examples/digits/digits.py train      # weights.npz (deterministic, seed 0)
    python examples/digits/digits.py export     # digits.nir (one test image as stimulus)
    python examples/digits/digits.py measure --targets fpga,loihi [--runner N]
    python examples/digits/digits.py testset -o build/digits-test   # images.npy, labels.npy
    python examples/digits/digits.py score OUT/results.json build/digits-test/labels.npy

Everything a test needs is importable: ``load_split``, ``spiking_network``, ``batch``,
``predict``, ``predict_on_runner``, ``accuracy``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
WEIGHTS = HERE / "weights.npz"
NIR_FILE = HERE / "digits.nir"
HIDDEN = 32
STEPS = 64          # presentation time per image (steps of 1 ms)
FLUSH = 6           # steps after the last input: one per edge plus the tail of the synaptic current
TAU_M = 10_000.0    # ms: practically no leak
TAU_SYN = 1.0       # ms
SEED = 0


# ----------------------------------------------------------------------------- data, training

def load_split():
    """(x_train, y_train, x_test, y_test): pixels scaled to [0, 1], a fixed stratified 70/30 split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    d = load_digits()
    x = d.data.astype(np.float64) / 16.0
    xtr, xte, ytr, yte = train_test_split(x, d.target, test_size=0.3, random_state=SEED, stratify=d.target)
    return xtr, ytr, xte, yte


def train(epochs: int = 300, lr: float = 3e-3, batch: int = 64) -> dict[str, np.ndarray]:
    """A bias-free 64-32-10 ReLU MLP, Adam on cross-entropy; deterministic (numpy, one seed)."""
    xtr, ytr, _, _ = load_split()
    rng = np.random.default_rng(SEED)
    w1 = rng.normal(0, np.sqrt(2 / 64), (HIDDEN, 64))
    w2 = rng.normal(0, np.sqrt(2 / HIDDEN), (10, HIDDEN))
    params = [w1, w2]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    onehot = np.eye(10)[ytr]
    t = 0
    for _ in range(epochs):
        order = rng.permutation(len(xtr))
        for s in range(0, len(order), batch):
            idx = order[s:s + batch]
            x, y = xtr[idx], onehot[idx]
            h = np.maximum(0, x @ w1.T)
            z = h @ w2.T
            p = np.exp(z - z.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            dz = (p - y) / len(idx)
            g2 = dz.T @ h
            dh = (dz @ w2) * (h > 0)
            g1 = dh.T @ x
            t += 1
            for k, g in enumerate((g1 + 1e-4 * w1, g2 + 1e-4 * w2)):
                m[k] = 0.9 * m[k] + 0.1 * g
                v[k] = 0.999 * v[k] + 0.001 * g * g
                params[k] -= lr * (m[k] / (1 - 0.9 ** t)) / (np.sqrt(v[k] / (1 - 0.999 ** t)) + 1e-8)
    return {"w1": w1, "w2": w2}


def ann_predict(w: dict, x: np.ndarray) -> np.ndarray:
    return np.argmax(np.maximum(0, x @ w["w1"].T) @ w["w2"].T, axis=1)


# ----------------------------------------------------------------------------- conversion

def balance(w: dict, x: np.ndarray, pct: float = 99.9) -> tuple[np.ndarray, np.ndarray]:
    """Weights rescaled so each layer's ``pct``-th percentile activation maps to the
    threshold 1 (one spike per step at most); returns the spiking weights (w1', w2')."""
    h = np.maximum(0, x @ w["w1"].T)
    lam1 = np.percentile(h, pct)
    z = np.maximum(0, (h @ w["w2"].T))
    lam2 = np.percentile(z, pct)
    return w["w1"] / lam1, w["w2"] * lam1 / lam2


def encode(image: np.ndarray, steps: int = STEPS) -> tuple[np.ndarray, np.ndarray]:
    """Regular rate code (snncc's ``regular`` encoder, as ``snncc encode --code regular``): a
    pixel of intensity p in [0, 1] fires at the steps where floor((t+1)*p) grows -
    round(p*steps) spikes, evenly spread. Returns (steps, indices)."""
    from snncc.encode import encode as snncc_encode
    s, i = snncc_encode(np.asarray(image, np.float64), "regular", steps)
    return s.astype(np.int64), i.astype(np.int64)


def spiking_network(w1s: np.ndarray, w2s: np.ndarray, image: np.ndarray | None = None,
                    steps: int = STEPS):
    """The float-IR Network: 'pixels' (source) -> 'hidden' (32) -> 'output' (10).

    The neurons are PyNN IF_curr_exp (``lif``), the one model every target has, set up as
    near-ideal integrators: tau_m = 10 s (a leak of 0.01 % per step), reset to 0,
    threshold 1, and a 1 ms synaptic current. A weight is divided by the total charge one
    spike delivers through that current, so a spike of weight w still adds w to v.
    """
    from snncc.errors import Loc
    from snncc.ir import MODEL_PARAMS, Network, Population, Projection, SpikeSource
    from snncc.passes.discretise import step_coefficients

    loc = Loc(origin="digits network (examples/digits/digits.py)")
    params = {k: np.array([v[0]]) for k, v in MODEL_PARAMS["lif"].items()}
    params.update(tau_m=np.array([TAU_M]), tau_syn_E=np.array([TAU_SYN]), tau_syn_I=np.array([TAU_SYN]),
                  v_rest=np.zeros(1), v_reset=np.zeros(1), v_thresh=np.ones(1), tau_refrac=np.zeros(1))
    _, c = step_coefficients("lif", params, 1.0)
    charge = float(c["gain_E"][0] / (1.0 - c["decay_E"][0] * c["decay_v"][0]))

    def pop(name, n):
        p = {k: np.full(n, v[0]) for k, v in params.items()}
        return Population(name, n, "lif", p, np.zeros(n), loc=loc)

    def dense(name, pre, post, w):
        post_i, pre_i = np.nonzero(w != 0)
        vals = w[post_i, pre_i] / charge
        out = []
        for rec, sel, nm in (("excitatory", vals > 0, name), ("inhibitory", vals < 0, name + "_inh")):
            out.append(Projection(nm, pre, post, pre_i[sel], post_i[sel], vals[sel], np.ones(sel.sum()), rec,
                                  loc=loc))
        return out
    if image is None:
        s, i = np.zeros(0, np.int64), np.zeros(0, np.int64)
    else:
        s, i = encode(image, steps)
    src = SpikeSource("pixels", 64, i, s.astype(np.float64), loc=loc, input_port=True)
    prjs = dense("pix_hid", "pixels", "hidden", w1s) + dense("hid_out", "hidden", "output", w2s)
    return Network("digits", 1.0, steps + FLUSH, [pop("hidden", HIDDEN), pop("output", 10)], [src], prjs,
                   loc=loc)


def batch(net, images: np.ndarray, steps: int = STEPS):
    """``len(images)`` independent copies of the float network ``net`` side by side, copy
    b seeing image b: each population becomes ``B`` times larger, synapses are
    block-diagonal. One run classifies the whole batch, on any target."""
    from snncc.ir import SpikeSource
    rep = replicate(net, len(images))
    src = rep.sources[0]
    s, i = images_input(images, steps)
    return rep.with_(sources=[SpikeSource(src.name, src.size, i, s * net.dt, src.record, src.loc, True)],
                     steps=steps + FLUSH)


def images_input(images: np.ndarray, steps: int = STEPS) -> tuple[np.ndarray, np.ndarray]:
    """(steps, indices) of ``images`` coded for the input port of :func:`replicate`'s copies:
    image b drives copy b (pixel indices offset by 64 b)."""
    steps_l, idx_l = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for k, img in enumerate(images):
        s, i = encode(img, steps)
        steps_l.append(s)
        idx_l.append(i + k * 64)
    return np.concatenate(steps_l), np.concatenate(idx_l)


def replicate(net, copies: int):
    """``copies`` independent copies of the float network ``net`` side by side (populations
    ``copies`` times larger, block-diagonal synapses), their input port 'pixels' of
    ``64 * copies`` neurons waiting for run-time spikes (:func:`images_input`)."""
    from snncc.ir import Population, Projection, SpikeSource
    B = copies
    pops = [Population(p.name, p.size * B, p.model, {k: np.tile(v, B) for k, v in p.params.items()},
                       np.tile(p.v_init, B), p.record, p.loc) for p in net.populations]
    src = net.sources[0]
    srcs = [SpikeSource(src.name, src.size * B, [], [], src.record, src.loc, input_port=True)]
    sizes = {n.name: n.size for n in net.nodes()}
    prjs = []
    for prj in net.projections:
        off_pre = (np.arange(B) * sizes[prj.pre])[:, None]
        off_post = (np.arange(B) * sizes[prj.post])[:, None]
        prjs.append(Projection(prj.name, prj.pre, prj.post, (prj.pre_idx[None, :] + off_pre).ravel(),
                               (prj.post_idx[None, :] + off_post).ravel(), np.tile(prj.weight, B),
                               np.tile(prj.delay, B), prj.receptor, prj.plasticity, prj.loc))
    return net.with_(populations=pops, sources=srcs, projections=prjs, steps=STEPS + FLUSH)


def classify(raster, n_images: int) -> np.ndarray:
    """Per copy: the output neuron with most spikes; ties go to the one that fired first,
    then to the lowest index."""
    s, i = raster.spikes["output"]
    counts = np.bincount(i, minlength=10 * n_images).reshape(n_images, 10)
    first = np.full(10 * n_images, np.iinfo(np.int64).max)
    np.minimum.at(first, i, s)
    first = first.reshape(n_images, 10)
    idx = np.broadcast_to(np.arange(10), (n_images, 10))
    return np.array([np.lexsort((idx[b], first[b], -counts[b]))[0] for b in range(n_images)])


def predict(net, images: np.ndarray, target: str | None = None, options: dict | None = None) -> np.ndarray:
    """Class of each image on the float network ``net`` in the reference simulator: float
    numerics, or ``target``'s bit-exact integer kernel after lowering for it (with
    ``options``, the target's -O options)."""
    from snncc import compiler
    from snncc import targets as T
    from snncc.progress import phase
    from snncc.refsim import simulate
    if target is None:
        with phase(f"digits: {len(images)} images in the float simulator"):
            return classify(simulate(batch(net, images), record_states=False), len(images))
    tgt = T.get(target)
    out = []
    per = copies_per_run(net, tgt)
    with phase(f"digits: {len(images)} images on the {target} kernel", total=len(images)) as ph:
        for k in range(0, len(images), per):
            part = images[k:k + per]
            low = compiler.lower(batch(net, part), target, options).network
            out.append(classify(simulate(low, kernel=tgt.kernel(low), record_states=False), len(part)))
            ph.update(k + len(part))
    return np.concatenate(out)


def copies_per_run(net, target) -> int:
    """How many copies of ``net`` one run of ``target`` holds, from its limits (as data).
    Each copy is quantised alike (same weights, same scale), so batching never changes
    an answer."""
    lim = target.limits
    cores = (lim.cores_per_chip or 1) * (lim.chips or 1) if lim.chips else None
    caps = [10_000]
    if lim.neurons_per_core and cores:
        caps.append(lim.neurons_per_core * cores // net.n_neurons)
    if lim.synapses_per_core and cores:
        caps.append(lim.synapses_per_core * cores // max(1, net.n_synapses))
    rows = lim.extra.get("rows")
    if rows and cores:
        caps.append(rows * cores // (net.n_neurons + sum(s.size for s in net.sources)))
    return max(1, min(caps))


def predict_on_runner(net, images: np.ndarray, target: str, chunk: int | None = None,
                      options=None, build_dir=None) -> np.ndarray:
    """Class of each image from ``target``'s own runner (Lava, the simulated FPGA board):
    ``chunk`` copies of the network compiled once (one build, one upload, one Lava compile),
    then every ``chunk`` images presented as one run-time input (docs/inputs.md); the state
    is reset between inputs, so each answer is that of the image alone."""
    import tempfile

    from snncc import compiler
    from snncc import targets as T
    from snncc.inputs import from_arrays
    from snncc.ir import save
    copies = max(1, min(chunk or len(images), copies_per_run(net, T.get(target)), len(images)))
    rep = replicate(net, copies)
    inputs = [from_arrays(f"images {k}..{min(k + copies, len(images)) - 1}", rep, rep.steps,
                          {"pixels": images_input(images[k:k + copies])}) for k in range(0, len(images), copies)]
    with tempfile.TemporaryDirectory(prefix="snncc-digits-") as tmp:
        model = Path(tmp) / f"digits-x{copies}.snn"
        save(rep, model)
        build = compiler.compile_model(model, target, Path(build_dir or tmp) / "build")
        try:
            rasters = T.get(target).run_inputs(build, None, inputs, dict(options or {}))
            out = [classify(r, copies)[:len(images[k:k + copies])]
                   for k, r in zip(range(0, len(images), copies), rasters)]
        finally:
            _stop_sim_board(build.path)
    return np.concatenate(out)


def predict_rebuilding(net, images: np.ndarray, target: str, chunk: int | None = None,
                       options=None) -> np.ndarray:
    """The way :func:`predict_on_runner` worked before input ports: every ``chunk`` images
    baked into their own network, compiled, uploaded (a board started for it) and run.
    Kept for bench/bench_inputs.py, which times the two side by side."""
    import tempfile

    from snncc import compiler
    from snncc import targets as T
    from snncc.ir import save
    from snncc.progress import phase
    out = []
    chunk = min(chunk or len(images), copies_per_run(net, T.get(target)))
    with tempfile.TemporaryDirectory(prefix="snncc-digits-") as tmp, \
            phase(f"digits: {len(images)} images on {target}'s own runner", total=len(images)) as ph:
        for k in range(0, len(images), chunk):
            part = images[k:k + chunk]
            model = Path(tmp) / f"batch{k}.snn"
            save(batch(net, part), model)
            build = compiler.compile_model(model, target, Path(tmp) / f"build{k}")
            try:
                out.append(classify(T.get(target).run(build, None, dict(options or {})), len(part)))
            finally:
                _stop_sim_board(build.path)
            ph.update(k + len(part))
    return np.concatenate(out)


def _stop_sim_board(build_dir) -> None:
    """The simulated FPGA board started for a build outlives it (for later runs); this
    throw-away build does not need it any more."""
    info = Path(build_dir) / "sim-board.json"
    if info.exists():
        from snncc_fpga import sim
        board = sim.find(info)
        if board is not None:
            sim.stop_pid(board.pid)


def accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(pred == y) * 100.0)


def load_weights() -> dict[str, np.ndarray]:
    with np.load(WEIGHTS) as z:
        return {k: z[k] for k in z.files}


# ----------------------------------------------------------------------------- commands

def cmd_train(_):
    from snncc.progress import phase
    with phase("digits: training the ANN"):
        w = train()
    xtr, ytr, xte, yte = load_split()
    w1s, w2s = balance(w, xtr)
    np.savez(WEIGHTS, w1=w["w1"], w2=w["w2"], w1s=w1s, w2s=w2s)
    print(f"wrote {WEIGHTS}: ANN test accuracy {accuracy(ann_predict(w, xte), yte):.2f}%")


def cmd_export(_):
    from snncc.exporters.nir import write
    w = load_weights()
    _, _, xte, _ = load_split()
    write(spiking_network(w["w1s"], w["w2s"], xte[0]), NIR_FILE)
    print(f"wrote {NIR_FILE}")


def measure(n_test: int | None = None, targets=("fpga", "loihi"), runner_images: int = 0,
            chunk: int = 20) -> dict:
    """Accuracy (%) on the held-out split: the trained ANN, the float simulator and each
    target's kernel at its own weight format; with ``runner_images`` > 0 also that many
    images on each target's own runner (Lava, the simulated FPGA board)."""
    from snncc.frontends import load_model
    w = load_weights()
    _, _, xte, yte = load_split()
    if n_test:
        xte, yte = xte[:n_test], yte[:n_test]
    net = load_model(NIR_FILE)
    res: dict = {"images": len(yte), "ann": accuracy(ann_predict(w, xte), yte)}
    t0 = time.time()
    ref = predict(net, xte)
    res["float"] = accuracy(ref, yte)
    res["float_s"] = round(time.time() - t0, 2)
    for name in targets:
        t0 = time.time()
        try:
            pred = predict(net, xte, name)
        except Exception as e:  # a missing target, or one that cannot take the network, is reported
            res[name] = f"unavailable: {e}"
            continue
        res[name] = accuracy(pred, yte)
        res[name + "_agrees_with_float_%"] = accuracy(pred, ref)
        res[name + "_s"] = round(time.time() - t0, 2)
        if runner_images:
            n = min(runner_images, len(yte))
            t0 = time.time()
            try:
                got = predict_on_runner(net, xte[:n], name, chunk, {"port": "sim", "timeout": 1800})
            except Exception as e:
                res[name + "_runner"] = f"unavailable: {e}"
                continue
            res[name + "_runner"] = accuracy(got, yte[:n])
            res[name + "_runner_images"] = n
            res[name + "_runner_equals_kernel"] = bool(np.array_equal(got, pred[:n]))
            res[name + "_kernel_on_same_images"] = accuracy(pred[:n], yte[:n])
            res[name + "_runner_s"] = round(time.time() - t0, 2)
    return res


def cmd_testset(args):
    """The held-out images and labels as .npy files, for the command-line flow of docs/digits.md."""
    _, _, xte, yte = load_split()
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "images.npy", xte)
    np.save(out / "labels.npy", yte)
    print(f"wrote {out / 'images.npy'} ({len(xte)} images of 64 pixels in [0, 1]) and {out / 'labels.npy'}")


def score(results: dict, labels: np.ndarray) -> float:
    """Accuracy (%) of ``snncc run --input DIR`` results: each input's most active output neuron
    (most spikes, ties: first to fire, then the lowest index - :func:`classify`'s rule) against
    its label; inputs in name order, as the batch ran them."""
    pred = [r["populations"]["output"]["most_active"] for r in results["inputs"]]
    pred = np.array([-1 if p is None else p for p in pred])
    if len(pred) != len(labels):
        raise SystemExit(f"{len(pred)} results for {len(labels)} labels")
    return accuracy(pred, labels)


def cmd_score(args):
    results = json.loads(Path(args.results).read_text())
    labels = np.load(args.labels)
    print(f"accuracy {score(results, labels):.2f}% on {len(labels)} images ({results.get('source')})")


def cmd_measure(args):
    res = measure(args.n, tuple(t for t in args.targets.split(",") if t), args.runner, args.chunk)
    print(json.dumps(res, indent=1))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("train").set_defaults(fn=cmd_train)
    sub.add_parser("export").set_defaults(fn=cmd_export)
    m = sub.add_parser("measure")
    m.add_argument("-n", type=int, default=None, help="first n test images only")
    m.add_argument("--targets", default="fpga,loihi")
    m.add_argument("--runner", type=int, default=0, help="images to run on each target's own runner")
    m.add_argument("--chunk", type=int, default=20, help="images per runner build")
    m.set_defaults(fn=cmd_measure)
    t = sub.add_parser("testset", help="write the held-out images and labels as .npy")
    t.add_argument("-o", "--output", default="build/digits-test")
    t.set_defaults(fn=cmd_testset)
    s = sub.add_parser("score", help="accuracy of `snncc run --input` results.json against labels.npy")
    s.add_argument("results")
    s.add_argument("labels")
    s.set_defaults(fn=cmd_score)
    args = ap.parse_args(argv)
    from snncc import progress
    progress.enable()          # long steps say what they do on stderr, as snncc's own commands
    args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
