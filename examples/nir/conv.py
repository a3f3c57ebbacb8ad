"""A small convolutional spiking network as a NIR graph: an 8x8 input, a 3x3 convolution
to four feature maps of LIF neurons (4 x 8 x 8 = 256), 2x2 sum pooling, a dense layer to
ten LIF outputs - 266 neurons. The weights are fixed by a seed (the subject is compiling
and running a conv net, not training one); the stimulus is one of scikit-learn's digits as
regular spike trains (brighter pixels fire more often), written into the file.

    python examples/nir/conv.py              # writes examples/nir/conv.nir
    snncc compile examples/nir/conv.nir --target fpga -o build/conv
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
NIR_FILE = HERE / "conv.nir"
STEPS = 60          # steps of 1 ms


def stimulus(steps: int = STEPS) -> tuple[np.ndarray, np.ndarray]:
    """(times in ms, pixel index) of digit 0 of scikit-learn's bundled set, pixel p firing
    every round(16 / (value + 1)) * 2 steps."""
    from sklearn.datasets import load_digits
    img = load_digits().data[0].astype(np.int64)          # 0..16
    times, index = [], []
    for p, v in enumerate(img):
        if v < 4:
            continue
        period = max(1, int(round(32 / (v + 1))))
        for t in range(p % period, steps - 5, period):
            times.append(float(t))
            index.append(p)
    order = np.lexsort((index, times))
    return np.asarray(times)[order], np.asarray(index, np.int64)[order]


def graph():
    import nir
    rng = np.random.default_rng(266)
    w_conv = rng.normal(0.0, 0.6, size=(4, 1, 3, 3))
    w_fc = rng.normal(0.0, 0.5, size=(10, 64))
    tau, r = 5e-3, 5e-3 / 1e-3            # 5 ms membranes; r so that one weight unit is one threshold
    times, index = stimulus()
    return nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([1, 8, 8])},
                           metadata={"snncc_times": times, "snncc_index": index}),
        "conv": nir.Conv2d(input_shape=(8, 8), weight=w_conv, stride=1, padding=1, dilation=1, groups=1,
                           bias=np.zeros(4)),
        "lif1": nir.LIF(tau=np.full((4, 8, 8), tau), r=np.full((4, 8, 8), r), v_leak=np.zeros((4, 8, 8)),
                        v_threshold=np.ones((4, 8, 8))),
        "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        "flat": nir.Flatten(start_dim=0, end_dim=-1, input_type={"input": np.array([4, 4, 4])}),
        "fc": nir.Linear(weight=w_fc),
        "lif2": nir.LIF(tau=np.full(10, tau), r=np.full(10, r), v_leak=np.zeros(10), v_threshold=np.ones(10)),
        "output": nir.Output(output_type={"output": np.array([10])})},
        edges=[("input", "conv"), ("conv", "lif1"), ("lif1", "pool"), ("pool", "flat"), ("flat", "fc"),
               ("fc", "lif2"), ("lif2", "output")],
        metadata={"snncc_dt": 1.0, "snncc_steps": STEPS}, type_check=False)


if __name__ == "__main__":
    import nir
    nir.write(str(NIR_FILE), graph())
    print(f"wrote {NIR_FILE}")
