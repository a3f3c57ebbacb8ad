"""A snncc network as a Lava process graph, built from saved arrays (``lava_plan.npz``).

snncc copies this file into every loihi build as ``lava_net.py``; it needs only numpy
and lava-nc, so a build runs without snncc::

    python lava_net.py --steps 1000 --out spikes.npz          (Loihi2SimCfg, fixed_pt)
    python lava_net.py --steps 1000 --out spikes.npz --hw     (Loihi2HwCfg; needs lava-loihi)
    python lava_net.py --steps 70 --inputs DIR --out spikes.npz  (run-time inputs: one run each)

The plan holds LIF groups (neurons sharing du, dv, vth and refractory period, which
Lava keeps per process; a group with a refractory period is a LIFRefractory, run with
the fixed_pt model :func:`lif_refractory_model` defines), one spike source (explicit
spike trains; a RingBuffer source), and blocks of synapses of one sign, one weight
exponent and one (pre group, post group) pair: a Dense where every delay is one step,
a DelayDense (delay - 1) otherwise; Sparse and DelaySparse where the weight matrix is
sparse. Each LIF group's spikes go to a RingBuffer sink; spikes at Lava time step T (from 1) are step
T - 1 of snncc's timing contract, which Dense's own step and the delay - 1 keep.
Every value is checked for type and range before Lava sees it: a float or an
out-of-range integer in a fixed_pt model makes Lava's processes die silently and the
run hang, so it is refused here with a message instead.

Run-time inputs (``--inputs DIR``, snncc's docs/inputs.md): the graph is compiled once
and run once per input file ``DIR/000000.npz``, ``000001.npz``, ... (``step`` and flat
source ``index`` arrays): a FileSource process reads input k's spikes from its file when
input k starts, the sinks write each input's raster to files of their own, and between
inputs the paused runtime sets the state back (LIF ``u`` = 0, ``v`` = v_init, refractory
ends, the synapse processes' activation buffers 0), so each input runs from the
network's initial state.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

FORMAT = 2
DECAY_MAX = 4095
REFRAC_MAX = (1 << 16) - 1
VTH_MAX = (1 << 17) - 1
BIAS_MANT = (-(1 << 12), (1 << 12) - 1)
BIAS_EXP = (0, 7)
V_MAX = (1 << 23) - 1
WEIGHT_MAX = 255
WEIGHT_EXP = (0, 7)
DELAY_MAX = 63


class PlanError(ValueError):
    """A plan value Lava's fixed-point models cannot take."""


# ------------------------------------------------------------------------------ plan files

def load_plan(path) -> tuple[dict, dict[str, np.ndarray]]:
    try:
        with np.load(str(path), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(arrays.pop("meta").tobytes())
    except (OSError, ValueError, KeyError, EOFError, RecursionError, zipfile.BadZipFile) as e:
        raise PlanError(f"{path}: not a readable plan ({type(e).__name__})") from None
    if not isinstance(meta, dict):
        raise PlanError(f"{path}: not a readable plan (its meta is not a JSON object)")
    if meta.get("format") != FORMAT:
        raise PlanError(f"{path}: plan format {meta.get('format')} (this module reads {FORMAT})")
    return meta, arrays


def _int_array(name: str, a, lo: int, hi: int) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype.kind not in "iu":
        raise PlanError(f"{name}: dtype {a.dtype} is not an integer type (a float in a fixed_pt "
                        "model hangs Lava)")
    if a.size and (a.min() < lo or a.max() > hi):
        bad = a.min() if a.min() < lo else a.max()
        raise PlanError(f"{name}: value {int(bad)} outside [{lo}, {hi}]")
    return a.astype(np.int64)


def _int(name: str, x, lo: int, hi: int) -> int:
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)):
        raise PlanError(f"{name}: {x!r} is not an integer (a float in a fixed_pt model hangs Lava)")
    if not lo <= int(x) <= hi:
        raise PlanError(f"{name}: value {int(x)} outside [{lo}, {hi}]")
    return int(x)


def validate_head(meta: dict, arrays: dict[str, np.ndarray]) -> None:
    """Raise PlanError naming the first group or source value Lava would not take."""
    for g in meta["groups"]:
        k, n = g["id"], g["size"]
        _int(f"group {k} du", g["du"], 0, DECAY_MAX)
        _int(f"group {k} dv", g["dv"], 0, DECAY_MAX)
        _int(f"group {k} vth", g["vth"], 0, VTH_MAX)
        _int(f"group {k} refrac", g.get("refrac", 0), 0, REFRAC_MAX)
        _int_array(f"group {k} bias_mant", arrays[f"g{k}.bias_mant"], *BIAS_MANT)
        _int_array(f"group {k} bias_exp", arrays[f"g{k}.bias_exp"], *BIAS_EXP)
        _int_array(f"group {k} v_init", arrays[f"g{k}.v_init"], -V_MAX, V_MAX)
        nrn = _int_array(f"group {k} neurons", arrays[f"g{k}.neurons"], 0, meta["n_neurons"] - 1)
        for key in ("bias_mant", "bias_exp", "v_init"):
            if arrays[f"g{k}.{key}"].shape != (n,):
                raise PlanError(f"group {k} {key}: shape {arrays[f'g{k}.{key}'].shape}, expected ({n},)")
        if nrn.shape != (n,):
            raise PlanError(f"group {k} neurons: shape {nrn.shape}, expected ({n},)")
    n_src = meta["n_src"]
    _int_array("source index", arrays["src.index"], 0, max(n_src - 1, 0))
    _int_array("source step", arrays["src.step"], 0, np.iinfo(np.int64).max)


def validate_block(b: dict, arrays: dict[str, np.ndarray], meta: dict, pairs: bool = True) -> None:
    """Raise PlanError naming the first value of block ``b`` Lava would not take;
    ``pairs``: also refuse a (post, pre) pair that occurs twice (a sort of the block)."""
    k = b["id"]
    sizes = [g["size"] for g in meta["groups"]]
    n_post = sizes[b["post"]]
    n_pre = meta["n_src"] if b["pre"] == "src" else sizes[b["pre"]]
    sign_lo, sign_hi = (0, WEIGHT_MAX) if b["sign"] == "exc" else (-WEIGHT_MAX, 0)
    _int(f"block {k} weight_exp", b["weight_exp"], *WEIGHT_EXP)
    _int_array(f"block {k} weights", arrays[f"b{k}.w"], sign_lo, sign_hi)
    _int_array(f"block {k} rows", arrays[f"b{k}.rows"], 0, n_post - 1)
    _int_array(f"block {k} cols", arrays[f"b{k}.cols"], 0, n_pre - 1)
    _int_array(f"block {k} delays", arrays[f"b{k}.delay"], 0, DELAY_MAX)
    if pairs:
        keys = np.sort(arrays[f"b{k}.rows"].astype(np.int64) * n_pre + arrays[f"b{k}.cols"])
        if (keys[1:] == keys[:-1]).any():
            raise PlanError(f"block {k}: a (post, pre) pair appears twice")


def validate_plan(meta: dict, arrays: dict[str, np.ndarray]) -> None:
    """Raise PlanError naming the first value Lava's fixed_pt models would not take."""
    validate_head(meta, arrays)
    for b in meta["blocks"]:
        validate_block(b, arrays, meta)


# ------------------------------------------------------------------------------ the graph

_FILE_SINK: tuple | None = None


def _file_sink_classes():
    """A RingBuffer sink that also saves its buffer to a file on the run's last step.

    Reading a Var back through Lava's runtime moves one element per message (30 s for a
    500 x 1000 raster); the sink's own process writes the same array in milliseconds.
    Its model is handed to the run configuration explicitly (exception_proc_model_map),
    as Lava's model discovery does not search a script's local classes.
    """
    global _FILE_SINK
    if _FILE_SINK is not None:
        return _FILE_SINK
    from lava.magma.core.decorator import implements, requires, tag
    from lava.magma.core.model.py.ports import PyInPort
    from lava.magma.core.model.py.type import LavaPyType
    from lava.magma.core.process.ports.ports import InPort
    from lava.magma.core.process.process import AbstractProcess
    from lava.magma.core.process.variable import Var
    from lava.magma.core.resources import CPU
    from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
    from lava.proc.io.sink import AbstractPyReceiveModel

    class FileRingBuffer(AbstractProcess):
        def __init__(self, *, shape: tuple, buffer: int, path: str) -> None:
            super().__init__(shape=shape, buffer=buffer, path=path)
            self.a_in = InPort(shape=shape)
            self.data = Var(shape=shape + (buffer,), init=np.zeros(shape + (buffer,)))

    @implements(proc=FileRingBuffer, protocol=LoihiProtocol)
    @requires(CPU)
    @tag("fixed_pt")
    class PyFileRingBufferModel(AbstractPyReceiveModel):
        a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32)
        data: np.ndarray = LavaPyType(np.ndarray, np.int32)

        def run_spk(self) -> None:
            super().run_spk()
            if self.time_step % self.data.shape[-1] == 0:     # the end of a run (of input k)
                k = self.time_step // self.data.shape[-1] - 1
                path = Path(self.proc_params["path"])
                path = path.with_name(f"{path.stem}.{k}.npy")
                np.save(path.with_suffix(".tmp.npy"), self.data != 0)
                path.with_suffix(".tmp.npy").replace(path)

    _FILE_SINK = (FileRingBuffer, PyFileRingBufferModel)
    return _FILE_SINK


_FILE_SOURCE: tuple | None = None


def _file_source_classes():
    """A spike source fed from files: input k (time steps k*steps+1 .. (k+1)*steps) reads its
    spikes (``step``, flat ``index``) from ``<dir>/<k:06d>.npz`` when it starts. As for the
    sink, its model goes to the run configuration explicitly."""
    global _FILE_SOURCE
    if _FILE_SOURCE is not None:
        return _FILE_SOURCE
    from lava.magma.core.decorator import implements, requires, tag
    from lava.magma.core.model.py.model import PyLoihiProcessModel
    from lava.magma.core.model.py.ports import PyOutPort
    from lava.magma.core.model.py.type import LavaPyType
    from lava.magma.core.process.ports.ports import OutPort
    from lava.magma.core.process.process import AbstractProcess
    from lava.magma.core.resources import CPU
    from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

    class FileSource(AbstractProcess):
        def __init__(self, *, shape: tuple, steps: int, path: str) -> None:
            super().__init__(shape=shape, steps=steps, path=path)
            self.s_out = OutPort(shape=shape)

    @implements(proc=FileSource, protocol=LoihiProtocol)
    @requires(CPU)
    @tag("fixed_pt")
    class PyFileSourceModel(PyLoihiProcessModel):
        s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32)

        def __init__(self, proc_params=None):
            super().__init__(proc_params)
            self.ptr = self.index = None

        def run_spk(self) -> None:
            steps = int(self.proc_params["steps"])
            k, t = divmod(self.time_step - 1, steps)
            if t == 0:
                with np.load(Path(self.proc_params["path"]) / f"{k:06d}.npz", allow_pickle=False) as z:
                    st, self.index = z["step"].astype(np.int64), z["index"].astype(np.int64)
                self.ptr = np.searchsorted(st, np.arange(steps + 1))     # the steps are sorted
            out = np.zeros(self.proc_params["shape"], dtype=np.int32)
            out[self.index[self.ptr[t]:self.ptr[t + 1]]] = 1
            self.s_out.send(out)

    _FILE_SOURCE = (FileSource, PyFileSourceModel)
    return _FILE_SOURCE


def write_input(path, step: np.ndarray, index: np.ndarray) -> None:
    """One run-time input as the FileSource reads it (``step`` sorted)."""
    order = np.lexsort((index, step))
    np.savez(path, step=np.asarray(step, np.int64)[order], index=np.asarray(index, np.int64)[order])


_LIF_REFRACTORY = None


def lif_refractory_model():
    """The fixed_pt ProcessModel of Lava's ``LIFRefractory``, which lava-nc 0.10 ships in
    floating point only (``PyLifRefractoryModelFloat``).

    It is Lava's own bit-accurate LIF (``AbstractPyLifModelFixed`` and
    ``PyLifModelBitAcc``'s threshold: current, voltage, threshold and reset arithmetic
    inherited, not copied) with the refractory rule of Lava's float
    model: while ``refractory_period_end >= time_step`` the voltage keeps its value (the
    current u integrates as always), and a spike at step T sets the end to
    T + refractory_period. So a neuron that spikes at T integrates again from
    T + refractory_period + 1, PyNN's tau_refrac in steps.
    """
    global _LIF_REFRACTORY
    if _LIF_REFRACTORY is not None:
        return _LIF_REFRACTORY
    from lava.magma.core.decorator import implements, requires, tag
    from lava.magma.core.model.py.ports import PyOutPort
    from lava.magma.core.model.py.type import LavaPyType
    from lava.magma.core.resources import CPU
    from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
    from lava.proc.lif.models import AbstractPyLifModelFixed, PyLifModelBitAcc
    from lava.proc.lif.process import LIFRefractory

    # PyLifModelBitAcc itself cannot be subclassed for another process (Lava's decorator
    # refuses), so its three members are taken over as they are.
    @implements(proc=LIFRefractory, protocol=LoihiProtocol)
    @requires(CPU)
    @tag("bit_accurate_loihi", "fixed_pt")
    class PyLifRefractoryModelBitAcc(AbstractPyLifModelFixed):
        s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
        vth: int = LavaPyType(int, np.int32, precision=17)
        refractory_period_end: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=32)
        scale_threshold = PyLifModelBitAcc.scale_threshold
        spiking_activation = PyLifModelBitAcc.spiking_activation

        def __init__(self, proc_params):
            super().__init__(proc_params)
            self.effective_vth = 0
            self.refractory_period = int(proc_params["refractory_period"])

        def subthr_dynamics(self, activation_in: np.ndarray):
            held = self.refractory_period_end >= self.time_step
            v = self.v.copy()
            super().subthr_dynamics(activation_in)
            self.v[held] = v[held]

        def reset_voltage(self, spike_vector: np.ndarray):
            self.refractory_period_end[spike_vector] = self.time_step + self.refractory_period
            super().reset_voltage(spike_vector)

    _LIF_REFRACTORY = PyLifRefractoryModelBitAcc
    return _LIF_REFRACTORY


def _source_data(meta, arrays, steps: int) -> np.ndarray:
    data = np.zeros((meta["n_src"], steps), dtype=np.int32)
    idx, st = arrays["src.index"], arrays["src.step"]
    keep = st < steps
    data[idx[keep], st[keep]] = 1
    return data


def build_graph(meta: dict, arrays: dict[str, np.ndarray], steps: int, sink_dir=None, input_dir=None,
                made: dict | None = None):
    """The Lava processes of a plan, connected; returns (root process, sinks by group id).

    Groups with a refractory period are Lava's ``LIFRefractory``, whose fixed_pt model
    (:func:`lif_refractory_model`) must then be in the run configuration.

    With ``sink_dir``, each group's sink is a FileRingBuffer writing ``g<id>.<k>.npy`` there
    at the end of run k (its model must then be in the run configuration: see
    :func:`run_plan`). With ``input_dir``, the source is a FileSource reading each run's
    spikes from there. ``made`` (a dict) receives the processes whose state a reset sets
    back: ``lif``, ``conn`` and ``source``.

    Disconnected parts of the network are tied to the root by all-zero Dense
    processes, because Lava compiles only what the process ``run`` is called on reaches.
    """
    from lava.proc.dense.process import DelayDense, Dense
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from lava.proc.lif.process import LIF, LIFRefractory
    from lava.utils.weightutils import SignMode

    validate_plan(meta, arrays)
    lifs, sinks = [], {}
    for g in meta["groups"]:
        k = g["id"]
        kw = dict(shape=(g["size"],), du=int(g["du"]), dv=int(g["dv"]), vth=int(g["vth"]),
                  bias_mant=arrays[f"g{k}.bias_mant"].astype(np.int32),
                  bias_exp=arrays[f"g{k}.bias_exp"].astype(np.int32),
                  u=np.zeros(g["size"], dtype=np.int32), v=arrays[f"g{k}.v_init"].astype(np.int32),
                  name=f"lif{k}")
        if g.get("refrac", 0) > 0:
            lif = LIFRefractory(refractory_period=int(g["refrac"]), **kw)
        else:
            lif = LIF(**kw)
        if sink_dir is None:
            sink = Sink(shape=(g["size"],), buffer=steps)
        else:
            sink = _file_sink_classes()[0](shape=(g["size"],), buffer=steps,
                                           path=str(Path(sink_dir) / f"g{k}.npy"))
        lif.s_out.connect(sink.a_in)
        lifs.append(lif)
        sinks[k] = sink
    src = None
    if meta["n_src"] and input_dir is not None:
        src = _file_source_classes()[0](shape=(meta["n_src"],), steps=steps, path=str(input_dir))
    elif meta["n_src"]:
        src = Source(data=_source_data(meta, arrays, steps))
    conns = []
    pre_port = (lambda p: src.s_out if p == "src" else lifs[p].s_out)
    parent = {i: i for i in range(len(lifs))}
    parent["src"] = "src"

    def find(a):
        while parent[a] != a:
            a = parent[a]
        return a

    for b in meta["blocks"]:
        k = b["id"]
        n_post = meta["groups"][b["post"]]["size"]
        n_pre = meta["n_src"] if b["pre"] == "src" else meta["groups"][b["pre"]]["size"]
        # plans store narrow dtypes (uint8/16 indices, int16 weights, uint8 delays): widen
        rows, cols = arrays[f"b{k}.rows"].astype(np.int64), arrays[f"b{k}.cols"].astype(np.int64)
        mode = SignMode.EXCITATORY if b["sign"] == "exc" else SignMode.INHIBITORY
        kw = dict(weight_exp=int(b["weight_exp"]), num_weight_bits=8, sign_mode=mode, name=f"block{k}")
        delay = b["kind"] == "delay"
        if b.get("sparse"):
            from scipy.sparse import csr_matrix
            from lava.proc.sparse.process import DelaySparse, Sparse
            w = csr_matrix((arrays[f"b{k}.w"].astype(np.int32), (rows, cols)), shape=(n_post, n_pre))
            if delay:
                d = csr_matrix((arrays[f"b{k}.delay"].astype(int), (rows, cols)), shape=(n_post, n_pre))
                conn = DelaySparse(weights=w, delays=d, max_delay=int(d.max()), **kw)
            else:
                conn = Sparse(weights=w, **kw)
        else:
            w = np.zeros((n_post, n_pre), dtype=np.int32)
            w[rows, cols] = arrays[f"b{k}.w"].astype(np.int32)
            if delay:
                d = np.zeros((n_post, n_pre), dtype=int)
                d[rows, cols] = arrays[f"b{k}.delay"].astype(int)
                conn = DelayDense(weights=w, delays=d, max_delay=int(d.max()), **kw)
            else:
                conn = Dense(weights=w, **kw)
        pre_port(b["pre"]).connect(conn.s_in)
        conn.a_out.connect(lifs[b["post"]].a_in)
        conns.append(conn)
        parent[find(b["pre"])] = find(b["post"])
    root_key = "src" if src is not None else 0
    root = src if src is not None else (lifs[0] if lifs else None)
    for i, lif in enumerate(lifs):
        if find(i) != find(root_key):
            n_pre = meta["n_src"] if root_key == "src" else meta["groups"][0]["size"]
            tie = Dense(weights=np.zeros((lif.a_in.shape[0], n_pre), dtype=np.int32),
                        sign_mode=SignMode.EXCITATORY, name=f"tie{i}")
            pre_port(root_key).connect(tie.s_in)
            tie.a_out.connect(lif.a_in)
            parent[find(i)] = find(root_key)
    if made is not None:
        made.update(lif=list(zip(meta["groups"], lifs)), conn=conns, source=src)
    return root, sinks


def run_plan(meta: dict, arrays: dict[str, np.ndarray], steps: int, hw: bool = False,
             log=None, file_sinks: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Run a plan for ``steps``; returns (step, flat neuron index) of every spike, sorted.

    ``file_sinks=False`` uses Lava's plain RingBuffer sinks and reads them back through
    the runtime (``Var.get``), which is slow for large rasters but involves no model of ours.
    """
    return _run(meta, arrays, steps, hw, log, file_sinks)[0]


def run_inputs(meta: dict, arrays: dict[str, np.ndarray], steps: int, input_dir, n: int, hw: bool = False,
               log=None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Run a plan once per input file of ``input_dir`` (``000000.npz`` .. ``n - 1``, see
    :func:`write_input`), compiled once, its state set back between inputs; (step, flat neuron)
    of every spike of each run."""
    check_inputs(meta, steps, input_dir, n)
    return _run(meta, arrays, steps, hw, log, True, input_dir, n)


def check_inputs(meta: dict, steps: int, input_dir, n: int) -> None:
    """Refuse an input file the FileSource could not take (in the FileSource's own process a
    bad index would end that process, and Lava would then wait for it forever)."""
    for k in range(n):
        path = Path(input_dir) / f"{k:06d}.npz"
        try:
            with np.load(path, allow_pickle=False) as z:
                st, ix = z["step"], z["index"]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
            raise PlanError(f"{path}: not an input file ({type(e).__name__})") from None
        if st.shape != ix.shape or st.ndim != 1:
            raise PlanError(f"{path}: step and index must be two 1-D arrays of one length")
        _int_array(f"{path}: step", st, 0, steps - 1)
        _int_array(f"{path}: index", ix, 0, max(meta["n_src"] - 1, 0))
        if st.size and (np.diff(st.astype(np.int64)) < 0).any():
            raise PlanError(f"{path}: steps are not sorted")


def _reset(made: dict, arrays: dict[str, np.ndarray]) -> None:
    """Set every process's state back to the network's initial state (the runtime is paused)."""
    for g, lif in made["lif"]:
        lif.u.set(np.zeros(g["size"], dtype=np.int32))
        lif.v.set(arrays[f"g{g['id']}.v_init"].astype(np.int32))
        if hasattr(lif, "refractory_period_end"):      # LIFRefractory: no refractory period carried over
            lif.refractory_period_end.set(np.zeros(g["size"], dtype=np.int32))
    for conn in made["conn"]:                          # activations waiting for the next step (and delays)
        conn.a_buff.set(np.zeros(conn.a_buff.shape, dtype=np.int32))


def _run(meta: dict, arrays: dict[str, np.ndarray], steps: int, hw: bool, log, file_sinks: bool,
         input_dir=None, n: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
    validate_plan(meta, arrays)
    if steps <= 0 or not meta["groups"]:
        return [(np.zeros(0, np.int64), np.zeros(0, np.int64))] * n
    from lava.magma.core.run_conditions import RunSteps
    import tempfile
    if hw:
        try:
            import lava.proc.lif.ncmodels  # noqa: F401  (ships with lava-loihi)
        except ImportError:
            raise PlanError("running on Loihi 2 needs lava-loihi (Intel's INRC package), which "
                            "is not installed") from None
    with tempfile.TemporaryDirectory(prefix="snncc-lava-sinks-") as sink_dir:
        t0 = time.perf_counter()
        made: dict = {}
        root, sinks = build_graph(meta, arrays, steps, sink_dir=sink_dir if file_sinks else None,
                                  input_dir=input_dir, made=made)
        # Lava looks exceptions up by process instance.
        models = {sink: _file_sink_classes()[1] for sink in sinks.values()} if file_sinks else {}
        if input_dir is not None and made["source"] is not None:
            models[made["source"]] = _file_source_classes()[1]
        if not hw:    # on Loihi 2, lava-loihi's own LIFRefractory model runs instead
            models.update({lif: lif_refractory_model() for g, lif in made["lif"] if g.get("refrac", 0) > 0})
        models = models or None
        if hw:
            from lava.magma.core.run_configs import Loihi2HwCfg
            cfg = Loihi2HwCfg(exception_proc_model_map=models)
        else:
            from lava.magma.core.run_configs import Loihi2SimCfg
            cfg = Loihi2SimCfg(select_tag="fixed_pt", exception_proc_model_map=models)
        reset_s = 0.0
        try:
            # One step first: Lava compiles the graph and starts its processes on the first
            # run call, so the second measures stepping alone; time steps continue.
            root.run(condition=RunSteps(num_steps=1), run_cfg=cfg)
            t1 = time.perf_counter()
            if steps > 1:
                root.run(condition=RunSteps(num_steps=steps - 1), run_cfg=cfg)
            for _ in range(1, n):                      # the next inputs, each from the initial state
                r0 = time.perf_counter()
                _reset(made, arrays)
                reset_s += time.perf_counter() - r0
                root.run(condition=RunSteps(num_steps=steps), run_cfg=cfg)
            t2 = time.perf_counter()
            out = []
            for k in range(n):
                out_s, out_i = [], []
                for g in meta["groups"]:
                    f = Path(sink_dir) / f"g{g['id']}.{k}.npy"
                    data = np.load(f) if f.exists() else np.asarray(sinks[g["id"]].data.get()) != 0
                    nrn, st = np.nonzero(data)
                    out_s.append(st.astype(np.int64))
                    out_i.append(arrays[f"g{g['id']}.neurons"][nrn].astype(np.int64))
                s, i = np.concatenate(out_s), np.concatenate(out_i)
                order = np.lexsort((i, s))
                out.append((s[order], i[order]))
            t3 = time.perf_counter()
        finally:
            root.stop()
    if log:
        log("lava-timing: " + json.dumps({"startup_s": t1 - t0, "run_s": t2 - t1, "steps": steps, "inputs": n,
                                          "reset_s": reset_s, "readback_s": t3 - t2,
                                          "stop_s": time.perf_counter() - t3}))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--plan", default=str(Path(__file__).with_name("lava_plan.npz")))
    ap.add_argument("--steps", type=int, help="steps to run (default: the network's)")
    ap.add_argument("--out", default="spikes_lava.npz", help="output: step and flat neuron of each spike")
    ap.add_argument("--hw", action="store_true", help="run on Loihi 2 (Loihi2HwCfg, needs lava-loihi)")
    ap.add_argument("--var-readback", action="store_true",
                    help="read Lava's RingBuffer sinks back with Var.get (slow) instead of sink files")
    ap.add_argument("--inputs", metavar="DIR", help="run once per input file DIR/000000.npz, 000001.npz, ... "
                    "(arrays step and index), compiled once, reset between inputs; --out then holds "
                    "<k>.step and <k>.neuron per input")
    args = ap.parse_args(argv)
    log = (lambda m: print(m, file=sys.stderr))
    try:
        meta, arrays = load_plan(args.plan)
        steps = meta["steps"] if args.steps is None else args.steps
        if args.inputs is None:
            s, i = run_plan(meta, arrays, steps, hw=args.hw, log=log, file_sinks=not args.var_readback)
            out = {"step": s, "neuron": i}
        else:
            n = 0
            while (Path(args.inputs) / f"{n:06d}.npz").is_file():
                n += 1
            if n == 0:
                raise PlanError(f"{args.inputs}: no input files (000000.npz, ...)")
            out = {}
            for k, (s, i) in enumerate(run_inputs(meta, arrays, steps, args.inputs, n, hw=args.hw, log=log)):
                out[f"{k}.step"], out[f"{k}.neuron"] = s, i
    except PlanError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    np.savez(args.out, steps=np.array(steps), **out)
    print(f"{sum(len(v) for k, v in out.items() if k.endswith('step'))} spikes in {steps} steps -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
