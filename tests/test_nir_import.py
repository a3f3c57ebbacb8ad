"""NIR import: other frameworks' conventions give their own spike steps; node coverage; errors."""
from __future__ import annotations

import numpy as np
import pytest

nir = pytest.importorskip("nir")

from snncc.errors import SnnccError  # noqa: E402
from snncc.frontends.nir import from_graph, infer_convention, load  # noqa: E402
from snncc.refsim import simulate  # noqa: E402

RNG = np.random.default_rng(7)
N_IN, N_H, N_OUT, T = 6, 5, 3, 60
W1 = RNG.uniform(0.0, 0.6, (N_H, N_IN))
W2 = RNG.uniform(-0.4, 0.9, (N_OUT, N_H))
IN = RNG.random((T, N_IN)) < 0.3          # input spikes, (step, neuron)


def reference_run(decay, jump, thr=1.0, syn=None):
    """The frameworks' own per-step recurrence, written out by hand (not snncc code):
    v = decay*v + jump*W@s (or through a synaptic current), spike on v > thr, reset to 0;
    a layer sees the spikes of the layer below in the same step."""
    v1, v2 = np.zeros(N_H), np.zeros(N_OUT)
    i1, i2 = np.zeros(N_H), np.zeros(N_OUT)
    out1, out2 = np.zeros((T, N_H), bool), np.zeros((T, N_OUT), bool)
    for t in range(T):
        x1 = W1 @ IN[t]
        if syn is None:
            v1 = decay * v1 + jump * x1
        else:
            i1 = syn[0] * i1 + syn[1] * x1
            v1 = decay * v1 + jump * i1
        s1 = v1 > thr
        v1[s1] = 0.0
        x2 = W2 @ s1
        if syn is None:
            v2 = decay * v2 + jump * x2
        else:
            i2 = syn[0] * i2 + syn[1] * x2
            v2 = decay * v2 + jump * i2
        s2 = v2 > thr
        v2[s2] = 0.0
        out1[t], out2[t] = s1, s2
    return out1, out2


def two_layer(neuron1, neuron2, metadata=None):
    nodes = {"input": nir.Input(input_type={"input": np.array([N_IN])}),
             "fc1": nir.Affine(weight=W1, bias=np.zeros(N_H)), "lif1": neuron1,
             "fc2": nir.Linear(weight=W2), "lif2": neuron2,
             "output": nir.Output(output_type={"output": np.array([N_OUT])})}
    edges = [("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata or {})


def run_ir(graph, **kw):
    t, i = np.nonzero(IN)
    net = from_graph(graph, inputs={"input": (t, i)}, steps=T + 3, **kw)
    r = simulate(net)
    # Every NIR edge into a neuron costs one step: layer L appears L steps later.
    return r.dense("lif1")[1:T + 1], r.dense("lif2")[2:T + 2], net


def lif(tau, r, n):
    return nir.LIF(tau=np.full(n, tau), r=np.full(n, r), v_leak=np.zeros(n), v_threshold=np.ones(n))


def assert_spikes(got, want):
    assert want[0].any() and want[1].any(), "stimulus too weak to test anything"
    assert np.array_equal(got[0], want[0])
    assert np.array_equal(got[1], want[1])


def test_snntorch_leaky_export_convention():
    # snnTorch's export_to_nir: dt = 1e-4, tau = dt/(1-beta), r = tau/dt; mem = beta*mem + input.
    beta, dt = 0.8, 1e-4
    tau = dt / (1 - beta)
    g = two_layer(lif(tau, tau / dt, N_H), lif(tau, tau / dt, N_OUT))
    assert infer_convention(g)[:2] == ("snntorch", 1e-4)
    *got, net = run_ir(g)
    assert net.dt == pytest.approx(0.1)
    assert net.attrs["nir_import"]["convention"] == "snntorch"
    assert_spikes(got, reference_run(beta, 1.0))


def test_snntorch_synaptic_export_convention():
    # snnTorch Synaptic -> CubaLIF: tau_syn = dt/(1-alpha), tau_mem = dt/(1-beta),
    # r = tau_mem/dt, w_in = tau_syn/dt; syn = alpha*syn + in; mem = beta*mem + syn.
    alpha, beta, dt = 0.6, 0.85, 1e-4
    ts, tm = dt / (1 - alpha), dt / (1 - beta)

    def cuba(n):
        f = lambda v: np.full(n, v)  # noqa: E731
        return nir.CubaLIF(tau_syn=f(ts), tau_mem=f(tm), r=f(tm / dt), v_leak=f(0.0),
                           v_threshold=f(1.0), w_in=f(ts / dt))
    g = two_layer(cuba(N_H), cuba(N_OUT))
    *got, _ = run_ir(g)
    assert_spikes(got, reference_run(beta, 1.0, syn=(alpha, 1.0)))


def test_rockpool_convention():
    # Rockpool: v = exp(-dt/tau)*v + input, exported with r = tau*exp(-dt/tau)/dt, dt = 1 ms.
    dt, tau = 1e-3, 5e-3
    r = tau * np.exp(-dt / tau) / dt
    g = two_layer(lif(tau, r, N_H), lif(tau, r, N_OUT))
    assert infer_convention(g)[0] == "rockpool"
    *got, net = run_ir(g)
    assert net.dt == pytest.approx(1.0)
    assert_spikes(got, reference_run(np.exp(-dt / tau), 1.0))


@pytest.mark.parametrize("conv,decay,jump", [
    ("sinabs", np.exp(-1e-3 / 4e-3), 3.0 * (1 - np.exp(-1e-3 / 4e-3))),  # v = a*v + (1-a)*r*in
    ("norse", 1 - 1e-3 / 4e-3, 3.0 * 1e-3 / 4e-3),                        # Euler, dt = 1 ms
])
def test_named_conventions(conv, decay, jump):
    g = two_layer(lif(4e-3, 3.0, N_H), lif(4e-3, 3.0, N_OUT))
    *got, net = run_ir(g, convention=conv, dt=1.0)
    assert net.attrs["nir_import"]["convention"] == conv
    assert_spikes(got, reference_run(decay, jump))


def test_exact_convention_and_dt_option():
    # NIR's own semantics: a Dirac spike of weight w moves v by r*w/tau; decay exp(-dt/tau).
    tau, r, dt_ms = 20e-3, 20e-3 * 1.5, 0.5
    g = two_layer(lif(tau, r, N_H), lif(tau, r, N_OUT))
    *got, net = run_ir(g, convention="exact", dt=dt_ms)
    assert net.dt == 0.5
    assert_spikes(got, reference_run(np.exp(-dt_ms * 1e-3 / tau), 1.5))


def test_metadata_names_the_framework():
    g = two_layer(lif(4e-3, 1.0, N_H), lif(4e-3, 1.0, N_OUT), metadata={"framework": "sinabs"})
    conv, _, why = infer_convention(g)
    assert conv == "sinabs" and "metadata" in why


def test_if_scale_delay_threshold_and_nesting():
    # Input -> Scale -> Delay(2 steps) -> IF (r=1: jump = w), inside a nested subgraph.
    inner = nir.NIRGraph(nodes={
        "in": nir.Input(input_type={"input": np.array([2])}),
        "if": nir.IF(r=np.ones(2), v_threshold=np.full(2, 1.5)),
        "out": nir.Output(output_type={"output": np.array([2])})},
        edges=[("in", "if"), ("if", "out")])
    g = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([2])}),
        "scale": nir.Scale(scale=np.array([1.0, 2.0])),
        "delay": nir.Delay(delay=np.full(2, 2e-3)),
        "sub": inner,
        "thr_fc": nir.Linear(weight=np.eye(2)),
        "thr": nir.Threshold(threshold=np.full(2, 0.5)),
        "output": nir.Output(output_type={"output": np.array([2])})},
        edges=[("input", "scale"), ("scale", "delay"), ("delay", "sub"), ("sub", "thr_fc"),
               ("thr_fc", "thr"), ("thr", "output")])
    net = from_graph(g, convention="exact", dt=1.0, inputs={"input": ([0, 4, 4], [0, 0, 1])}, steps=12)
    r = simulate(net)
    # neuron 0 gets 1.0 at steps 3 and 7 (2 delay + 1 edge): v 1.0, then 2.0 > 1.5 at step 7;
    # neuron 1 gets 2.0 at step 7 and fires at once. The memoryless threshold follows a step later.
    assert r.spikes["sub.if"][0].tolist() == [7, 7]
    assert r.spikes["thr"][0].tolist() == [8, 8]


def test_conv_pool_flatten_expand_to_sparse_synapses():
    w = RNG.normal(size=(2, 1, 3, 3))
    g = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([1, 6, 6])}),
        "conv": nir.Conv2d(input_shape=(6, 6), weight=w, stride=1, padding=1, dilation=1, groups=1,
                           bias=np.zeros(2)),
        "lif": nir.LIF(tau=np.full((2, 6, 6), 1e-2), r=np.full((2, 6, 6), 1e-2),
                       v_leak=np.zeros((2, 6, 6)), v_threshold=np.ones((2, 6, 6))),
        "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        "flat": nir.Flatten(start_dim=0, end_dim=-1, input_type={"input": np.array([2, 3, 3])}),
        "fc": nir.Linear(weight=np.ones((4, 18))),
        "out_lif": nir.LIF(tau=np.full(4, 1e-2), r=np.full(4, 1e-2), v_leak=np.zeros(4), v_threshold=np.ones(4)),
        "output": nir.Output(output_type={"output": np.array([4])})},
        edges=[("input", "conv"), ("conv", "lif"), ("lif", "pool"), ("pool", "flat"), ("flat", "fc"),
               ("fc", "out_lif"), ("out_lif", "output")], type_check=False)
    net = from_graph(g, convention="exact", dt=1.0)
    conv = next(p for p in net.projections if p.pre == "input")
    dense = np.zeros((72, 36))
    for p in net.projections:
        if p.pre == "input":
            np.add.at(dense, (p.post_idx, p.pre_idx), p.weight)
    # independent direct convolution (zero padding 1) of each one-hot input pixel
    want = np.zeros((72, 36))
    for iy in range(6):
        for ix in range(6):
            for co in range(2):
                for ky in range(3):
                    for kx in range(3):
                        oy, ox = iy + 1 - ky, ix + 1 - kx
                        if 0 <= oy < 6 and 0 <= ox < 6:
                            want[(co * 6 + oy) * 6 + ox, iy * 6 + ix] += w[co, 0, ky, kx]
    assert np.allclose(dense, want)
    assert conv.n_synapses + sum(p.n_synapses for p in net.projections if p.pre == "input" and p is not conv) \
        == np.count_nonzero(want)
    pool_fc = [p for p in net.projections if p.pre == "lif"]
    # each conv neuron lies in exactly one 2x2 pool cell, which reaches all 4 outputs with weight 1
    assert sum(p.n_synapses for p in pool_fc) == 72 * 4
    assert all(np.all(p.weight == 1.0) for p in pool_fc)


def test_recurrent_edge():
    g = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([1])}),
        "fc": nir.Linear(weight=np.array([[2.0]])),
        "lif": lif(1e-3, 1e-3, 1),
        "rec": nir.Linear(weight=np.array([[2.0]])),
        "output": nir.Output(output_type={"output": np.array([1])})},
        edges=[("input", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "output")])
    net = from_graph(g, convention="exact", dt=1.0, inputs={"input": ([0], [0])}, steps=6)
    assert {p.name: (p.pre, p.post) for p in net.projections}["rec"] == ("lif", "lif")
    # one input spike starts a self-sustaining loop: a spike every step from step 1
    assert simulate(net).spikes["lif"][0].tolist() == [1, 2, 3, 4, 5]


def test_unsupported_node_is_named():
    g = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([2])}),
                            "integ": nir.I(r=np.ones(2)),
                            "output": nir.Output(output_type={"output": np.array([2])})},
                     edges=[("input", "integ"), ("integ", "output")])
    with pytest.raises(SnnccError) as e:
        from_graph(g)
    assert str(e.value) == "NIR node 'integ' has type I, which snncc cannot compile"
    assert e.value.hint.startswith("supported node types: Input, Output, NIRGraph, LIF, CubaLIF")


def test_readout_must_not_feed_neurons():
    g = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([1])}),
                            "li": nir.LI(tau=np.ones(1), r=np.ones(1), v_leak=np.zeros(1)),
                            "fc": nir.Linear(weight=np.ones((1, 1))), "lif": lif(1e-2, 1e-2, 1)},
                     edges=[("input", "li"), ("li", "fc"), ("fc", "lif")])
    with pytest.raises(SnnccError, match=r"^NIR node 'li' \(LI\) feeds 'fc': a non-spiking integrator can "
                                         r"only be a readout \(feed an Output\)$"):
        from_graph(g)


def test_li_readout_records_voltage():
    g = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([1])}),
                            "fc": nir.Linear(weight=np.array([[0.5]])),
                            "li": nir.LI(tau=np.full(1, 1e-2), r=np.full(1, 1e-2), v_leak=np.zeros(1)),
                            "output": nir.Output(output_type={"output": np.array([1])})},
                     edges=[("input", "fc"), ("fc", "li"), ("li", "output")])
    net = from_graph(g, convention="exact", dt=1.0, inputs={"input": ([0], [0])}, steps=4)
    v = simulate(net).states["li.v"][:, 0]
    assert np.allclose(v, [0.0, 0.5, 0.5 * np.exp(-0.1), 0.5 * np.exp(-0.2)])


def test_euler_dt_too_large_is_an_error():
    g = two_layer(lif(1e-4, 1.0, N_H), lif(1e-4, 1.0, N_OUT))
    with pytest.raises(SnnccError, match=r"^NIR node 'lif1' \(LIF\): tau = 0.0001 s is shorter than dt = "
                                         r"0.001 s, so the norse update 1 - dt/tau is negative$"):
        from_graph(g, convention="norse", dt=1.0)


def test_bad_file_and_bad_convention(tmp_path):
    bad = tmp_path / "x.nir"
    bad.write_text("not hdf5")
    with pytest.raises(SnnccError, match=r"x.nir: not a readable NIR file"):
        load(bad)
    g = two_layer(lif(4e-3, 1.0, N_H), lif(4e-3, 1.0, N_OUT))
    with pytest.raises(SnnccError, match=r"^unknown NIR convention 'torch' \(known: snntorch, rockpool, "
                                         r"sinabs, norse, exact\)$"):
        from_graph(g, convention="torch")


def test_affine_bias_is_a_constant_current():
    # LI readout driven only by an Affine bias b: v(t) = r*b*(1 - exp(-t/tau)) exactly (NIR semantics).
    tau, r, b = 5e-3, 2.0, 0.75
    g = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([1])}),
                            "fc": nir.Affine(weight=np.zeros((1, 1)), bias=np.array([b])),
                            "li": nir.LI(tau=np.full(1, tau), r=np.full(1, r), v_leak=np.zeros(1)),
                            "output": nir.Output(output_type={"output": np.array([1])})},
                     edges=[("input", "fc"), ("fc", "li"), ("li", "output")])
    net = from_graph(g, convention="exact", dt=1.0, steps=5)
    v = simulate(net).states["li.v"][:, 0]
    t = np.arange(1, 6) * 1e-3
    assert np.allclose(v, r * b * (1 - np.exp(-t / tau)), rtol=1e-12)
    # snnTorch's view of the same bias: b added every step, mem = beta*mem + b
    beta = 0.5
    g.nodes["li"] = nir.LI(tau=np.full(1, 1e-4 / (1 - beta)), r=np.full(1, 1 / (1 - beta)), v_leak=np.zeros(1))
    v = simulate(from_graph(g, convention="snntorch", steps=5)).states["li.v"][:, 0]
    assert np.allclose(v, [b * (1 - beta ** k) / (1 - beta) for k in range(1, 6)], rtol=1e-12)


def test_every_supported_node_kind_has_exactly_one_handler():
    """The kind -> handler tables cover the kinds the importer accepts, and no others."""
    from snncc.frontends.nir import LINEAR, NEURONS, linear, neurons
    assert tuple(linear.HANDLERS) == LINEAR
    assert tuple(neurons.HANDLERS) == NEURONS
    with pytest.raises(AssertionError, match="^Input$"):    # no handler: a bug, never a silent pass
        linear.apply(None, "x", nir.Input(input_type={"input": np.array([1])}), {}, (1,))
