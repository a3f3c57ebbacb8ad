"""The digits classifier on the simulated FPGA board: compile and upload once, then present the
test images as run-time inputs (docs/inputs.md), against the path it replaces, which baked
every batch of images into its own network and compiled, uploaded and ran that.

Both paths classify the same held-out images of examples/digits on the simulated board (the
core's RTL under Verilator behind a pseudo-terminal) and are timed end to end in one process,
one after the other: compile, board start, upload, the STEP frames of every image. The answers
of every path are checked against the fpga kernel's in the reference simulator. "copies" is how
many copies of the 42-neuron network one build holds side by side (3 fill the core).
"""
from __future__ import annotations

import importlib.util
import shutil
import time

import numpy as np

from .common import ROOT

DESCRIPTION = __doc__.split("\n\n", 1)[1].replace("\n", " ")


def _digits():
    spec = importlib.util.spec_from_file_location("digits_example", ROOT / "examples" / "digits" / "digits.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run(quick: bool) -> dict:
    title = "Digits on the simulated FPGA board: run-time inputs against rebuilding per batch"
    if shutil.which("verilator") is None:
        return {"title": title, "rows": [], "notes": ["skipped: verilator is not installed"]}
    from snncc.frontends import load_model
    from snncc_fpga import upload as U
    digits = _digits()
    _, _, xte, yte = digits.load_split()
    n = 30 if quick else len(xte)
    xs, ys = xte[:n], yte[:n]
    net = load_model(digits.NIR_FILE)
    kernel = digits.predict(net, xs, "fpga")
    uploads = {"n": 0}
    real_upload = U.upload

    def counted(*a, **k):
        res = real_upload(*a, **k)
        uploads["n"] += 0 if res.get("skipped") else 1
        return res
    U.upload = counted
    options = {"port": "sim", "timeout": 30}
    cases = [("before: a network per batch, compiled, uploaded, run", digits.predict_rebuilding, 3),
             ("after: compiled and uploaded once, images as run-time inputs", digits.predict_on_runner, 3),
             ("after: compiled and uploaded once, images as run-time inputs", digits.predict_on_runner, 1)]
    rows = []
    try:
        for path, fn, copies in cases:
            uploads["n"] = 0
            t0 = time.perf_counter()
            pred = fn(net, xs, "fpga", chunk=copies, options=options)
            wall = time.perf_counter() - t0
            rows.append({"path": path, "copies": copies, "images": n, "board_runs": -(-n // copies),
                         "uploads": uploads["n"], "wall_s": round(wall, 2),
                         "ms_per_image": round(1000 * wall / n, 1),
                         "accuracy_%": round(digits.accuracy(pred, ys), 2),
                         "fpga_kernel_accuracy_%": round(digits.accuracy(kernel, ys), 2),
                         "equals_fpga_kernel": bool(np.array_equal(pred, kernel))})
            r = rows[-1]
            print(f"  {path} (x{copies}): {n} images in {wall:.1f} s ({r['ms_per_image']} ms/image), "
                  f"{r['uploads']} uploads, accuracy {r['accuracy_%']} % (kernel {r['fpga_kernel_accuracy_%']} %)"
                  f"{'' if r['equals_fpga_kernel'] else ' DIFFERS from the kernel'}")
    finally:
        U.upload = real_upload
    before = rows[0]["ms_per_image"]
    for r in rows:
        r["speedup_vs_before"] = round(before / r["ms_per_image"], 2)
    return {"title": title, "rows": rows,
            "notes": ["wall_s is the whole classification as a user waits for it (compiles, board starts, "
                      "uploads, every STEP frame), without Python's start-up; the simulated board runs its "
                      "UART at 8 clocks a bit, unpaced"]}


if __name__ == "__main__":
    run(quick=True)
