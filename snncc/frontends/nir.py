"""NIR frontend: a NIR graph (HDF5 file or in-memory ``nir.NIRGraph``) to the float IR.

NIR describes continuous-time dynamics; the frameworks that write it each simulate
in discrete time and hide their step ``dt`` in the parameters differently. A
*convention* says how to turn a node's parameters back into the per-step update its
exporter ran (docs/nir.md has the table):

============  =================  ===============================================  ==========
convention    membrane decay     jump of v per unit weighted input spike (LIF)     default dt
============  =================  ===============================================  ==========
snntorch      1 - dt/tau         r*dt/tau  (snnTorch writes r = tau/dt: jump w)    0.1 ms
norse         1 - dt/tau         r*dt/tau  (norse writes r = 1)                    1 ms
rockpool      exp(-dt/tau)       r*dt/(tau*exp(-dt/tau))  (r = tau*e^(-dt/tau)/dt)  1 ms
sinabs        exp(-dt/tau)       r*(1 - exp(-dt/tau))  (r = 1)                      1 ms
exact         exp(-dt/tau)       r/tau: NIR's Dirac spikes integrated exactly       1 ms
============  =================  ===============================================  ==========

The IR population is then built so that snncc's own discretisation reproduces that
update exactly: the IR time constant is ``-dt/ln(decay)`` and weights carry the jump.
NIR fires on ``v > v_threshold``, the IR on ``v >= v_thresh``: the threshold moves up
by one ulp, which makes the two identical in float64.

Every NIR edge into a neuron costs one step (the IR's minimal synaptic delay, as on
every target); a ``Delay`` node adds ``round(delay/dt)`` steps on top.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from .. import detmath, resources
from ..errors import Loc, MissingDependency, SnnccError, did_you_mean
from ..fmt import count, num
from ..ir import MODEL_PARAMS, STDP, Network, Population, Probe, Projection, SpikeSource
from ..ir.names import DERIVED_NAME_CHARS, check_name
from ..numerics import gain as _gain
from ..numerics import MAX_STEPS
from .nir_ops import conv_matrix, flatten_shape, pool_matrix

CONVENTIONS = ("snntorch", "rockpool", "sinabs", "norse", "exact")
#: each convention's default dt in seconds (the exporter's own default)
DEFAULT_DT_S = {"snntorch": 1e-4, "norse": 1e-3, "rockpool": 1e-3, "sinabs": 1e-3, "exact": 1e-3}
#: metadata prefix of what only snncc writes (exact IR parameters, names, stimulus)
META = "snncc_"

NEURONS = ("LIF", "CubaLIF", "IF", "LI", "CubaLI", "Threshold")
LINEAR = ("Affine", "Linear", "Scale", "Conv1d", "Conv2d", "SumPool2d", "AvgPool2d", "Flatten", "Delay")
SUPPORTED = ("Input", "Output", "NIRGraph") + NEURONS + LINEAR
#: a finite stand-in for "never fires" (LI/CubaLI readouts); validate wants finite values
NEVER = float(np.finfo(np.float64).max)


def _nir():
    try:
        import nir
    except ImportError:
        raise MissingDependency("reading NIR needs the Python package 'nir', which is not installed: "
                                "pip install 'snncc[nir]' (or pip install nir==1.0.8)") from None
    return nir


# ------------------------------------------------------------------------------ entry points

#: seconds a NIR file may take to read before it is declared damaged (HDF5 can loop
#: forever in C on a damaged file, where no Python signal reaches it); bigger files get
#: 1 s more per 20 MB. The environment variable SNNCC_NIR_READ_TIMEOUT overrides it.
READ_TIMEOUT_S = 10.0
#: what a malformed graph can raise inside nir, h5py or the translation
_MALFORMED = (ValueError, TypeError, IndexError, KeyError, OverflowError, RuntimeError, AttributeError,
              ZeroDivisionError, FloatingPointError, AssertionError, OSError, LookupError)


def load(path: str | Path, dt: float | None = None, convention: str | None = None) -> Network:
    """Read a NIR HDF5 file. ``dt`` in ms; ``convention`` one of :data:`CONVENTIONS`
    (default: inferred from the file, see :func:`infer_convention`)."""
    _nir()
    path = Path(path)
    graph = _read(path)
    net = from_graph(graph, dt=dt, convention=convention, name=path.stem, file=str(path))
    imp = net.attrs.get("nir_import")
    if imp is not None:  # say which convention was used, and why, where the user sees it
        print(f"snncc: {path}: NIR convention '{imp['convention']}', dt {imp['dt_ms']:g} ms ({imp['why']})",
              file=sys.stderr)
    return net


def _read_timeout(path: Path) -> float:
    env = os.environ.get("SNNCC_NIR_READ_TIMEOUT")
    if env:
        try:
            return float(env)
        except ValueError:
            raise SnnccError(f"SNNCC_NIR_READ_TIMEOUT={env!r} is not a number of seconds") from None
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    return READ_TIMEOUT_S + size / 20e6


def _read_in_child(path: str, conn, memory: int | None = None) -> None:
    """Child process: read the graph and send ("ok", graph), ("memory", text) or ("error", text)
    back. ``memory``: bytes the child may map beyond what it has (RLIMIT_AS), so that a file
    whose arrays do not fit fails here with a MemoryError instead of eating the computer."""
    try:
        if memory is not None:
            _limit_address_space(memory)
        import nir
        graph = nir.read(path)
        conn.send(("ok", graph))
    except MemoryError as e:
        conn.send(("memory", str(e) or "MemoryError"))
    except BaseException as e:  # noqa: BLE001 - everything goes back to the parent as text
        conn.send(("error", f"{type(e).__name__}: {e}"))
    finally:
        conn.close()


def _limit_address_space(extra: int) -> None:
    try:
        import resource
        with open("/proc/self/statm") as fh:
            mapped = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        want = mapped + extra
        if hard != resource.RLIM_INFINITY:
            want = min(want, hard)
        if soft == resource.RLIM_INFINITY or want < soft:
            resource.setrlimit(resource.RLIMIT_AS, (want, hard))
    except (ImportError, OSError, ValueError):
        pass   # no /proc or no rlimits: the parent's limit still applies


def _read(path: Path):
    """``nir.read`` in a child process with a time limit (fork where there is one: a few ms)."""
    if not path.is_file():
        raise SnnccError(f"{path}: no such NIR file", hint="check the path")
    size = path.stat().st_size
    resources.require(size, f"{path}: the NIR file ({resources.nbytes(size)})")
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    limit = _read_timeout(path)
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_read_in_child, args=(str(path), send, resources.memory_limit()[0]))
    proc.start()
    send.close()
    try:
        if not recv.poll(limit):
            raise SnnccError(f"{path}: could not read the NIR file within {limit:.3g} s: the file looks damaged",
                             hint="HDF5 went into a loop reading it; if the file is just very large, set "
                                  "SNNCC_NIR_READ_TIMEOUT to more seconds")
        try:
            status, value = recv.recv()
        except (EOFError, OSError):
            proc.join(5)
            raise SnnccError(f"{path}: reading the NIR file crashed its reader process (exit code "
                             f"{proc.exitcode}): the file looks damaged",
                             hint="NIR files are HDF5, written by nir.write()") from None
    finally:
        recv.close()
        if proc.is_alive():
            proc.kill()
        proc.join()
    if status == "memory":
        limit_b, source = resources.memory_limit()
        raise SnnccError(f"{path}: the NIR file's arrays do not fit in memory ({value}); snncc's limit is "
                         f"{resources.nbytes(limit_b)} ({source})", hint=resources.HINT)
    if status != "ok":
        raise SnnccError(f"{path}: not a readable NIR file ({value})",
                         hint="NIR files are HDF5, written by nir.write()")
    return value


def from_graph(graph, dt: float | None = None, convention: str | None = None, name: str = "nir",
               file: str | None = None, inputs: dict[str, tuple[Any, Any]] | None = None,
               steps: int | None = None) -> Network:
    """An in-memory ``nir.NIRGraph`` as a float-IR Network.

    ``inputs`` maps Input node names to ``(steps, indices)`` spike arrays (integer steps);
    ``steps`` is the run length (default: the file's, else 100).
    """
    imp = None
    try:
        imp = _Importer(graph, dt, convention, name, file, inputs or {}, steps)
        return imp.run()
    except SnnccError as e:
        if e.loc is None and file:   # name the file the problem is in
            e.loc = Loc(file=file)
        raise
    except _MALFORMED as e:
        # a graph nir accepted but whose values make no sense (wrong types, shapes, sizes)
        at = getattr(imp, "at", None)
        node = f"NIR node '{at}' ({type(imp.nodes[at]).__name__}): " \
            if at is not None and at in getattr(imp, "nodes", {}) else ""
        raise SnnccError(f"{node}malformed NIR graph ({type(e).__name__}: {e})",
                         Loc(file=file) if file else None,
                         hint="check the node's parameters against the NIR specification") from None


def infer_convention(graph) -> tuple[str, float | None, str]:
    """(convention, dt in seconds or None, why) from a graph's metadata and parameters."""
    meta = _meta(graph)
    if META + "dt" in meta:
        return "exact", float(meta[META + "dt"]) / 1000.0, "written by snncc (exact NIR semantics)"
    for key in ("framework", "source", "exporter", "generator", "library"):
        v = str(meta.get(key, "")).lower()
        for conv in CONVENTIONS:
            if conv in v:
                dt = meta.get("dt")
                return conv, float(dt) if dt is not None else None, f"metadata {key} = '{v}'"
    taus, rs = [], []
    for _, node in _walk(graph):
        kind = type(node).__name__
        if kind in ("LIF", "LI", "CubaLIF", "CubaLI"):
            try:
                tau = np.asarray(node.tau if kind in ("LIF", "LI") else node.tau_mem, float).ravel()
                r = np.asarray(node.r, float).ravel()
            except (TypeError, ValueError, AttributeError):
                continue    # malformed: the translation names it
            if tau.size == r.size:    # else malformed: the translation names it
                taus.append(tau)
                rs.append(r)
    if taus:
        tau, r = np.concatenate(taus), np.concatenate(rs)
        if np.allclose(r, tau / 1e-4, rtol=1e-5):
            return "snntorch", 1e-4, "r = tau/dt with dt = 1e-4 s on every neuron (snnTorch's export)"
        if np.allclose(r, tau * np.exp(-1e-3 / tau) / 1e-3, rtol=1e-5):
            return "rockpool", 1e-3, "r = tau*exp(-dt/tau)/dt with dt = 1e-3 s (Rockpool's export)"
        if np.allclose(r, 1.0):
            return "norse", None, "r = 1 on every neuron (norse's export; sinabs files look alike: " \
                                  "pass --nir-convention sinabs for those)"
    return "exact", None, "no exporter signature found: NIR's own continuous-time semantics"


# ------------------------------------------------------------------------------ helpers

def _meta(node) -> dict:
    m = getattr(node, "metadata", None)
    return m if isinstance(m, dict) else {}


def _str(v) -> str:
    if isinstance(v, np.ndarray):
        v = v.item() if v.ndim == 0 else v.tolist()
    if isinstance(v, bytes):
        return v.decode("utf8")
    return str(v)


def _json(v):
    return json.loads(_str(v))


def _walk(graph, prefix: str = ""):
    for k, n in graph.nodes.items():
        if type(n).__name__ == "NIRGraph":
            yield from _walk(n, f"{prefix}{k}.")
        else:
            yield prefix + k, n


def _flatten_graph(graph) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Inline nested graphs: node names become ``outer.inner``; edges into a subgraph go
    to its Input nodes and edges out of it leave from its Output nodes."""
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    subs: dict[str, tuple[list[str], list[str]]] = {}
    for k, n in graph.nodes.items():
        if type(n).__name__ == "NIRGraph":
            inner_nodes, inner_edges = _flatten_graph(n)
            ins = [f"{k}.{i}" for i, m in n.nodes.items() if type(m).__name__ == "Input"]
            outs = [f"{k}.{o}" for o, m in n.nodes.items() if type(m).__name__ == "Output"]
            for ik, iv in inner_nodes.items():
                nodes[f"{k}.{ik}"] = iv
            edges += [(f"{k}.{a}", f"{k}.{b}") for a, b in inner_edges]
            subs[k] = (ins, outs)
        else:
            nodes[k] = n
    for a, b in graph.edges:
        srcs = subs[a][1] if a in subs else [a]
        dsts = subs[b][0] if b in subs else [b]
        for s in srcs:
            for d in dsts:
                edges.append((s, d))
    # Inlined Input/Output of a subgraph are pass-through: rewire around them.
    inner_io = {x for ins, outs in subs.values() for x in ins + outs}
    for x in sorted(inner_io):
        ins = [a for a, b in edges if b == x]
        outs = [b for a, b in edges if a == x]
        edges = [(a, b) for a, b in edges if x not in (a, b)] + [(a, b) for a in ins for b in outs]
        nodes.pop(x, None)
    return nodes, edges


#: fields of a NIR node that hold no parameter values
_NOT_PARAMS = ("input_type", "output_type", "metadata")


def _check_finite(name: str, node, where: Loc | None) -> None:
    """Refuse a NaN or infinite parameter anywhere in a node (a NaN weight would otherwise
    vanish from the synapses: it is neither positive nor negative)."""
    for attr, value in vars(node).items():
        if attr in _NOT_PARAMS or isinstance(value, (str, bytes)):
            continue
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            continue      # not numeric (padding = "same", ...): the translation checks it
        bad = ~np.isfinite(arr)
        if bad.any():
            pos = np.unravel_index(int(np.flatnonzero(bad)[0]), arr.shape) if arr.ndim else ()
            at = f"{attr}[{', '.join(str(int(i)) for i in pos)}]" if pos else attr
            raise SnnccError(f"NIR node '{name}' ({type(node).__name__}): {at} is {num(arr[pos] if pos else arr)}; "
                             "snncc needs finite numbers", where,
                             hint="fix the exporting model, or replace the value before nir.write")


def _arr(node, attr, shape=None, name: str = "?") -> np.ndarray:
    a = np.asarray(getattr(node, attr), dtype=np.float64)
    if shape is not None and a.shape != tuple(shape):
        try:
            a = np.broadcast_to(a, shape)
        except ValueError:
            raise SnnccError(f"NIR node '{name}' ({type(node).__name__}): parameter {attr} has shape "
                             f"{a.shape}, which does not fit the node's {tuple(shape)} neurons",
                             hint="give one value per neuron (or a single value for all)") from None
    return a.ravel()


def _node_shape(node) -> tuple[int, ...] | None:
    kind = type(node).__name__
    if kind == "Input":
        return tuple(int(x) for x in np.atleast_1d(node.input_type["input"]))
    if kind in NEURONS:
        return tuple(int(x) for x in np.atleast_1d(node.input_type["input"]))
    return None


# ------------------------------------------------------------------------------ the importer

class _Importer:
    def __init__(self, graph, dt, convention, name, file, inputs, steps):
        _nir()
        self.at: str | None = None          # the node being translated, for error messages
        self.nodes: dict[str, Any] = {}
        self.graph = graph
        self.file = file
        self.inputs = inputs
        self.meta = _meta(graph)
        self.snncc = META + "dt" in self.meta
        conv, dt_s, why = infer_convention(graph)
        if convention is not None:
            if convention not in CONVENTIONS:
                raise SnnccError(f"unknown NIR convention '{convention}' (known: {', '.join(CONVENTIONS)})")
            if convention != conv:
                why = "given with --nir-convention"
                dt_s = None
            conv = convention
        if dt is not None:
            if not (np.isfinite(dt) and dt > 0):
                raise SnnccError(f"--dt {dt}: the time step must be a positive number of ms")
            dt_s = dt / 1000.0
            why += "; dt given with --dt"
        elif dt_s is None:
            dt_s = DEFAULT_DT_S[conv]
            why += f"; dt = {DEFAULT_DT_S[conv] * 1e3:g} ms, the {conv} default"
        self.conv, self.dt_s, self.why = conv, float(dt_s), why
        self.dt = self.dt_s * 1000.0
        self.exact_meta = self.snncc and conv == "exact"
        self.scale: dict[str, np.ndarray] = {}
        self.name = _str(self.meta[META + "name"]) if self.exact_meta and META + "name" in self.meta else name
        if steps is None:
            steps = int(self.meta[META + "steps"]) if META + "steps" in self.meta else 100
        self.steps = int(steps)

    @property
    def where(self) -> Loc | None:
        """Location of an import error: the file (the message names the node)."""
        return Loc(file=self.file) if self.file else None

    def loc(self, node_name: str, kind: str) -> Loc:
        return Loc(file=self.file, origin=f"NIR node '{node_name}' ({kind})")

    # --- graph walk -------------------------------------------------------------------
    def run(self) -> Network:
        nodes, edges = _flatten_graph(self.graph)
        # what snncc's exporter adds to a network without spike sources (NIR needs an Input)
        stand_in = {k for k, n in nodes.items() if META + "stand_in" in _meta(n)}
        nodes = {k: n for k, n in nodes.items() if k not in stand_in}
        edges = [(a, b) for a, b in edges if a not in stand_in and b not in stand_in]
        for k in nodes:   # names become population and projection names: printable text only
            check_name(k, "NIR node", self.where, DERIVED_NAME_CHARS)
        self.nodes = nodes
        for k, n in nodes.items():
            kind = type(n).__name__
            if kind not in SUPPORTED:
                raise SnnccError(
                    f"NIR node '{k}' has type {kind}, which snncc cannot compile", self.where,
                    hint=f"supported node types: {', '.join(SUPPORTED)}")
            _check_finite(k, n, self.where)
        given = [k for k in self.inputs if k not in nodes or type(nodes[k]).__name__ != "Input"]
        if given:     # a misspelt input name would silently leave the network without stimulus
            names = [k for k, n in nodes.items() if type(n).__name__ == "Input"]
            raise SnnccError(f"inputs: the graph has no Input node '{given[0]}'"
                             f"{did_you_mean(given[0], names)}", self.where,
                             hint=f"its Input nodes: {', '.join(names) or 'none'}")
        for a, b in edges:
            for x in (a, b):
                if x not in nodes:
                    raise SnnccError(f"NIR edge ({a} -> {b}) names an unknown node '{x}'")
        self.succ: dict[str, list[str]] = {k: [] for k in nodes}
        for a, b in edges:
            self.succ[a].append(b)
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.outputs: set[str] = set()

        spiking = [k for k, n in nodes.items() if type(n).__name__ in ("Input",) + NEURONS]
        pops, srcs = {}, {}
        ledger = resources.Ledger()
        for k in spiking:
            self.at = k
            n = nodes[k]
            shape = _node_shape(n)
            self.shapes[k] = shape
            size = int(np.prod(shape, dtype=np.float64))   # float: a hostile shape must not wrap
            ledger.claim(size * resources.BYTES_PER_NEURON,
                         f"NIR node '{k}' ({type(n).__name__}, shape {shape}: {count(size)} neurons)", self.where)
            if type(n).__name__ == "Input":
                srcs[k] = self.source(k, n)
        # contributions[(pre, post, label)][delay] = matrix (post_size x pre_size)
        contrib: dict[tuple[str, str, str], dict[int, sp.csr_matrix]] = {}
        bias: dict[str, np.ndarray] = {}
        for k in spiking:
            size = int(np.prod(self.shapes[k]))
            if type(nodes[k]).__name__ in ("LI", "CubaLI") and self.succ[k]:
                for d in self.succ[k]:
                    if type(nodes[d]).__name__ != "Output":
                        kind = type(nodes[k]).__name__
                        raise SnnccError(
                            f"NIR node '{k}' ({kind}) feeds '{d}': a non-spiking integrator can only be a "
                            "readout (feed an Output)", self.where,
                            hint="snncc routes spikes between neurons; put a spiking LIF/CubaLIF there")
            ident = {1: sp.identity(size, format="csr")}
            for d in self.succ[k]:
                self.propagate(k, d, ident, self.shapes[k], (), contrib, (k,))
        for k, n in nodes.items():
            if type(n).__name__ in ("Affine", "Conv1d", "Conv2d"):
                b = np.asarray(n.bias, dtype=np.float64)
                if b.size and np.any(b != 0):
                    self.propagate_bias(k, n, bias)
        for k in spiking:
            if type(nodes[k]).__name__ != "Input":
                pops[k] = self.population(k, nodes[k], bias.get(k))
        projections = self.projections(contrib, pops, srcs)
        return self.assemble(pops, srcs, projections)

    def apply(self, k: str, node, terms: dict[int, sp.csr_matrix], shape):
        """Push a linear map through node ``k``: (new terms, new shape)."""
        self.at = k
        kind = type(node).__name__
        if kind in ("Affine", "Linear"):
            w = sp.csr_matrix(np.asarray(node.weight, dtype=np.float64))
            size = int(np.prod(shape))
            if w.shape[1] != size:
                raise SnnccError(f"NIR node '{k}' ({kind}): weight has {w.shape[1]} inputs but receives "
                                 f"{size} values (shape {shape})", self.where)
            return {d: w @ m for d, m in terms.items()}, (w.shape[0],)
        if kind == "Scale":
            s = np.broadcast_to(np.asarray(node.scale, dtype=np.float64), shape).ravel()
            return {d: sp.diags(s) @ m for d, m in terms.items()}, shape
        if kind == "Flatten":
            return terms, flatten_shape(shape, node.start_dim, node.end_dim)
        if kind in ("Conv1d", "Conv2d", "SumPool2d", "AvgPool2d"):
            try:
                if kind.startswith("Conv"):
                    in_shape = shape
                    if len(shape) == 1:  # flat input: take the node's own spatial shape
                        in_shape = (node.weight.shape[1] * int(node.groups),
                                    *np.atleast_1d(node.input_shape).astype(int))
                    m, out = conv_matrix(node.weight, in_shape, node.stride, node.padding,
                                         node.dilation, node.groups)
                else:
                    m, out = pool_matrix(node.kernel_size, node.stride, node.padding, shape,
                                         average=kind == "AvgPool2d")
            except (ValueError, TypeError, IndexError) as e:
                raise SnnccError(f"NIR node '{k}' ({kind}) on an input of shape {shape}: {e}",
                                 self.where) from None
            if m.shape[1] != int(np.prod(shape)):
                raise SnnccError(f"NIR node '{k}' ({kind}) expects {m.shape[1]} inputs, receives "
                                 f"{int(np.prod(shape))} (shape {shape})", self.where)
            return {d: m @ t for d, t in terms.items()}, out
        if kind == "Delay":
            dly = np.broadcast_to(np.asarray(node.delay, dtype=np.float64), shape).ravel()
            with np.errstate(all="ignore"):
                exact = np.rint(dly / self.dt_s)
            if (dly < 0).any():
                j = int(np.flatnonzero(dly < 0)[0])
                raise SnnccError(f"NIR node '{k}' (Delay): delay[{j}] = {num(dly[j])} s is negative", self.where)
            long = ~(exact <= MAX_STEPS)
            if long.any():
                j = int(np.flatnonzero(long)[0])
                raise SnnccError(f"NIR node '{k}' (Delay): delay[{j}] = {num(dly[j])} s is {num(exact[j])} steps of "
                                 f"{num(self.dt)} ms; snncc delays at most {MAX_STEPS} steps", self.where,
                                 hint="use a shorter delay or a larger --dt")
            steps = exact.astype(np.int64)
            out: dict[int, sp.csr_matrix] = {}
            for d, m in terms.items():
                for s in np.unique(steps):
                    rows = sp.diags((steps == s).astype(np.float64))
                    part = (rows @ m).tocsr()
                    part.eliminate_zeros()
                    if part.nnz:
                        out[d + int(s)] = out[d + int(s)] + part if d + int(s) in out else part
            return out, shape
        raise AssertionError(kind)

    def propagate(self, src, k, terms, shape, labels, contrib, path):
        node = self.nodes[k]
        kind = type(node).__name__
        if kind == "Output":
            self.outputs.add(src)
            return
        if kind == "Input":
            raise SnnccError(f"NIR edge into Input node '{k}'", self.where)
        if kind in NEURONS:
            size = int(np.prod(self.shapes[k]))
            for d, m in terms.items():
                if m.shape[0] != size:
                    raise SnnccError(
                        f"NIR node '{k}' ({kind}) has {size} neurons but receives {m.shape[0]} values "
                        f"from '{src}'", self.where)
            label = labels[0] if len(labels) == 1 else f"{src}->{k}"
            slot = contrib.setdefault((src, k, label), {})
            for d, m in terms.items():
                slot[d] = slot[d] + m if d in slot else m
            return
        if k in path:
            raise SnnccError(f"NIR graph has a cycle through '{k}' with no neuron on it",
                             self.where, hint="every recurrent loop must pass through a neuron node")
        new, new_shape = self.apply(k, node, terms, shape)
        lab = labels + (k,) if kind in ("Affine", "Linear", "Conv1d", "Conv2d") else labels
        meta = _meta(node)
        if META + "projection" in meta and self.exact_meta:
            lab = (_str(meta[META + "projection"]),)
        for d in self.succ[k]:
            self.propagate(src, d, new, new_shape, lab, contrib, path + (k,))

    def propagate_bias(self, k, node, bias):
        """A constant (an Affine or conv bias) flows on through linear nodes to neurons."""
        b = np.asarray(node.bias, dtype=np.float64).ravel()
        if type(node).__name__ != "Affine":  # conv bias: one per output channel
            b = np.repeat(b, int(np.prod(self._conv_out_shape(k)[1:])))
        stack = [(d, b, self._out_shape_after(k)) for d in self.succ[k]]
        while stack:
            d, v, shape = stack.pop()
            node_d = self.nodes[d]
            kind = type(node_d).__name__
            if kind in NEURONS:
                bias[d] = bias.get(d, 0.0) + v
            elif kind in LINEAR:
                terms, shp = self.apply(d, node_d, {0: sp.csr_matrix(v[:, None])}, shape)
                v2 = sum(m.toarray().ravel() for m in terms.values())
                stack += [(e, v2, shp) for e in self.succ[d]]

    def _conv_out_shape(self, k):
        return self._out_shape_after(k)

    def _out_shape_after(self, k):
        """Output shape of a linear node, found by walking back to a spiking node."""
        if k in self.shapes:
            return self.shapes[k]
        preds = [a for a, bs in self.succ.items() if k in bs]
        if not preds:
            raise SnnccError(f"NIR node '{k}' has no input", self.loc(k, type(self.nodes[k]).__name__))
        shape = self._out_shape_after(preds[0])
        size = int(np.prod(shape))
        _, out = self.apply(k, self.nodes[k], {0: sp.csr_matrix((size, 1))}, shape)
        self.shapes[k] = out
        return out

    # --- nodes ------------------------------------------------------------------------
    def source(self, k, node) -> SpikeSource:
        self.at = k
        size = int(np.prod(self.shapes[k]))
        meta = _meta(node)
        loc = self.loc(k, "Input")
        record: tuple[str, ...] = ()
        if k in self.inputs:
            st, idx = (np.asarray(x) for x in self.inputs[k])
            times = st.astype(np.float64) * self.dt
        elif self.exact_meta and META + "times" in meta:
            times = np.asarray(meta[META + "times"], dtype=np.float64).ravel()
            idx = np.asarray(meta[META + "index"], dtype=np.int64).ravel()
        else:
            times, idx = np.zeros(0), np.zeros(0, np.int64)
        # a NIR Input node is an input port (snncc run --input); a graph snncc exported says
        # which of its sources were ports (older exports did not: ports then too)
        port = True
        if self.exact_meta:
            record = tuple(x for x in _str(meta.get(META + "record", "")).split(",") if x)
            if META + "loc" in meta:
                loc = Loc.from_json(_json(meta[META + "loc"]))
            if META + "input_port" in meta:
                port = bool(int(np.asarray(meta[META + "input_port"]).ravel()[0]))
        if idx.size and (idx.min() < 0 or idx.max() >= size):
            raise SnnccError(f"input '{k}': spike index {int(idx.max())} out of range for {size} neurons",
                             loc)
        return SpikeSource(k, size, idx, times, record, loc, input_port=port)

    def population(self, k, node, bias) -> Population:
        self.at = k
        kind = type(node).__name__
        shape = self.shapes[k]
        n = int(np.prod(shape))
        loc = self.loc(k, kind)
        meta = _meta(node)
        if self.exact_meta and META + "model" in meta:
            model = _str(meta[META + "model"])
            params = {p: np.asarray(meta[META + "p_" + p], dtype=np.float64).ravel()
                      for p in MODEL_PARAMS[model]}
            record = tuple(x for x in _str(meta.get(META + "record", "spikes")).split(",") if x)
            if META + "loc" in meta:
                loc = Loc.from_json(_json(meta[META + "loc"]))
            pop = Population(k, n, model, params, np.asarray(meta[META + "v_init"], dtype=np.float64).ravel(),
                             record, loc)
            self.scale[k] = np.ones(n)
            return pop
        model, params, scale, record = self.translate(k, node, kind, shape, bias)
        self.scale[k] = scale
        v_init = params.pop("_v_init")
        return Population(k, n, model, params, v_init, record, loc)

    def translate(self, k, node, kind, shape, bias):
        """(model, params, weight scale per neuron, record) of a NIR neuron under the convention."""
        dt_s, dt, conv = self.dt_s, self.dt, self.conv
        n = int(np.prod(shape))
        euler = conv in ("snntorch", "norse")
        loc = self.where
        ones = np.ones(n)

        def decay(tau):
            tau = np.asarray(tau, dtype=np.float64)
            a = 1.0 - dt_s / tau if euler else detmath.exp(-dt_s / tau)
            if (a < 0).any() or not np.all(np.isfinite(a)):
                j = int(np.flatnonzero((a < 0) | ~np.isfinite(a))[0])
                raise SnnccError(f"NIR node '{k}' ({kind}): tau = {tau[j]:g} s is shorter than dt = "
                                 f"{dt_s:g} s, so the {conv} update 1 - dt/tau is negative", loc,
                                 hint="give a smaller --dt or another --nir-convention")
            return a

        def tau_ir(a):
            with np.errstate(divide="ignore"):
                return np.where(a > 0, -dt / detmath.log(np.where(a > 0, a, 0.5)), 1e-12)

        def jump(r, tau, a):
            if conv in ("snntorch", "norse"):
                return r * dt_s / tau
            if conv == "rockpool":
                return r * dt_s / (tau * a)
            if conv == "sinabs":
                return r * (1.0 - a)
            return r / tau

        b = np.zeros(n) if bias is None else np.asarray(bias, dtype=np.float64).ravel()
        if b.size not in (1, n):
            raise SnnccError(f"NIR node '{k}' ({kind}) has {n} neurons but receives a bias of {b.size} "
                             f"values (bias shape {b.shape}, neurons {tuple(shape)})", loc,
                             hint="the Affine/conv bias must have one value per output")
        refrac = np.zeros(n)
        if kind in ("LIF", "LI"):
            tau = _arr(node, "tau", shape, k)
            r = _arr(node, "r", shape, k)
            v_leak = _arr(node, "v_leak", shape, k)
            if kind == "LIF":
                thr = np.nextafter(_arr(node, "v_threshold", shape, k), np.inf)
                reset = _arr(node, "v_reset", shape, k)
            else:
                thr, reset = np.full(n, NEVER), v_leak.copy()
            a = decay(tau)
            s = jump(r, tau, a)
            if np.all(a == 1.0):  # no leak: a plain integrate-and-fire neuron
                p = {"cm": ones, "tau_refrac": refrac, "v_reset": reset, "v_thresh": thr,
                     "i_offset": s * b / dt, "_v_init": v_leak}
                return "if", p, s, self.record(k, kind)
            # A constant input b: a continuous current (exact) settles v at v_leak + r*b;
            # in the discrete conventions it is an input of b every step.
            v_rest = v_leak + (r * b if conv == "exact" else s * b / (1.0 - a))
            p = {"cm": ones, "tau_m": tau_ir(a), "tau_refrac": refrac, "v_rest": v_rest, "v_reset": reset,
                 "v_thresh": thr, "i_offset": np.zeros(n), "_v_init": v_leak}
            return "lif_delta", p, s, self.record(k, kind)
        if kind == "IF":
            r = _arr(node, "r", shape, k)
            s = r * dt_s if euler else r
            per_step = r * b * dt_s if conv == "exact" else s * b   # v gained per step from b
            p = {"cm": ones, "tau_refrac": refrac, "v_reset": _arr(node, "v_reset", shape, k),
                 "v_thresh": np.nextafter(_arr(node, "v_threshold", shape, k), np.inf),
                 "i_offset": per_step / dt, "_v_init": _arr(node, "v_reset", shape, k)}
            return "if", p, s, self.record(k, kind)
        if kind == "Threshold":  # memoryless: v = input, no leak carried over
            p = {"cm": ones, "tau_m": np.full(n, 1e-12), "tau_refrac": refrac, "v_rest": b,
                 "v_reset": np.zeros(n), "v_thresh": np.nextafter(_arr(node, "threshold", shape, k), np.inf),
                 "i_offset": np.zeros(n), "_v_init": np.zeros(n)}
            return "lif_delta", p, ones, self.record(k, kind)
        # CubaLIF / CubaLI
        tm = _arr(node, "tau_mem", shape, k)
        ts = _arr(node, "tau_syn", shape, k)
        r = _arr(node, "r", shape, k)
        w_in = _arr(node, "w_in", shape, k)
        v_leak = _arr(node, "v_leak", shape, k)
        if kind == "CubaLIF":
            thr = np.nextafter(_arr(node, "v_threshold", shape, k), np.inf)
            reset = _arr(node, "v_reset", shape, k)
        else:
            thr, reset = np.full(n, NEVER), v_leak.copy()
        a, bta = decay(tm), decay(ts)
        if (a == 1.0).any() or (bta == 0).any() or (a == 0).any():
            raise SnnccError(f"NIR node '{k}' ({kind}): time constants give a membrane decay of "
                             f"{a.min():g}..{a.max():g} and synaptic decay {bta.min():g}..{bta.max():g} per "
                             "step; snncc needs both inside (0, 1)", loc)
        tau_m, tau_s = tau_ir(a), tau_ir(bta)
        if conv == "exact":
            tau_m, tau_s = tm * 1000.0, ts * 1000.0
            cm = tau_m / r
            s_i = w_in / ts
        else:
            if conv in ("snntorch", "norse"):
                s_i, g = w_in * dt_s / ts, r * dt_s / tm
            elif conv == "rockpool":
                s_i, g = w_in * dt_s / (ts * bta), r * dt_s / (tm * a)
            else:  # sinabs
                s_i, g = w_in, r * (1.0 - a)
            cm = _gain(dt, tau_m, tau_s, np.ones(n)) / g
        # A constant input b: I settles at w_in*b (exact), or at s_i*b/(1-decay_syn) when it
        # is added every step (discrete conventions); i_offset is that current.
        i_off = w_in * b if conv == "exact" else s_i * b / (1.0 - bta)
        p = {"cm": cm, "tau_m": tau_m, "tau_refrac": refrac, "tau_syn_E": tau_s, "tau_syn_I": tau_s.copy(),
             "v_rest": v_leak, "v_reset": reset, "v_thresh": thr, "i_offset": i_off, "_v_init": v_leak}
        return "lif", p, s_i, self.record(k, kind)

    def record(self, k, kind) -> tuple[str, ...]:
        return ("spikes", "v") if kind in ("LI", "CubaLI") else ("spikes",)

    # --- projections ------------------------------------------------------------------
    def projections(self, contrib, pops, srcs) -> list[Projection]:
        out = []
        meta_by_label: dict[str, dict] = {}
        if self.exact_meta:
            for k, n in self.nodes.items():
                m = _meta(n)
                if META + "pre_idx" in m:
                    meta_by_label[_str(m[META + "projection"])] = m
        for (pre, post, label), terms in contrib.items():
            self.at = label if label in self.nodes else post
            scale = self.scale[post]
            loc = self.loc(label, "projection") if label in self.nodes else \
                Loc(file=self.file, origin=f"NIR edges {pre} -> {post}")
            m = meta_by_label.get(label)
            if m is not None and self._meta_matches(m, terms):
                w = np.asarray(m[META + "weight"], dtype=np.float64).ravel()
                pi = np.asarray(m[META + "pre_idx"]).ravel()
                qi = np.asarray(m[META + "post_idx"]).ravel()
                dl = np.asarray(m[META + "delay"], dtype=np.float64).ravel()
                if META + "loc" in m:
                    loc = Loc.from_json(_json(m[META + "loc"]))
                plast = _json(m.get(META + "plasticity", "null"))
                out.append(Projection(label, pre, post, pi, qi, w, dl, _str(m[META + "receptor"]),
                                      STDP(**plast) if plast else None, loc))
                continue
            if not terms:   # every path from pre to post was cut: no synapse to make
                continue
            rows, cols, vals, dels = [], [], [], []
            for d in sorted(terms):
                c = terms[d].tocoo()
                keep = c.data != 0
                rows.append(c.row[keep])
                cols.append(c.col[keep])
                vals.append(c.data[keep] * scale[c.row[keep]])
                dels.append(np.full(int(keep.sum()), d * self.dt))
            qi, pi, w, dl = (np.concatenate(x) for x in (rows, cols, vals, dels))
            pos, neg = w > 0, w < 0
            parts = [("excitatory", pos), ("inhibitory", neg)]
            parts = [(rec, mk) for rec, mk in parts if mk.any()] or [("excitatory", pos)]
            for rec, mk in parts:
                name = label if len(parts) == 1 or rec == "excitatory" else f"{label}_inh"
                out.append(Projection(name, pre, post, pi[mk], qi[mk], w[mk], dl[mk], rec, None, loc))
        seen: dict[str, int] = {}
        for prj in out:
            seen[prj.name] = seen.get(prj.name, 0) + 1
        return [prj if seen[prj.name] == 1 else
                Projection(f"{prj.name}:{prj.pre}", prj.pre, prj.post, prj.pre_idx, prj.post_idx,
                           prj.weight, prj.delay, prj.receptor, prj.plasticity, prj.loc) for prj in out]

    def _meta_matches(self, m, terms) -> bool:
        """snncc's exact synapse list is used only if it still agrees with the NIR weights."""
        try:
            w = np.asarray(m[META + "weight"], dtype=np.float64).ravel()
            pi = np.asarray(m[META + "pre_idx"]).ravel()
            qi = np.asarray(m[META + "post_idx"]).ravel()
            dl = np.rint(np.asarray(m[META + "delay"], dtype=np.float64).ravel() / self.dt).astype(int)
        except (KeyError, ValueError):
            return False
        for d, mat in terms.items():
            sel = dl == d
            ref = sp.csr_matrix((w[sel], (qi[sel], pi[sel])), shape=mat.shape)
            if abs(ref - mat).max() > 1e-12 * max(1.0, abs(mat).max()):
                return False
        return set(np.unique(dl).tolist()) <= set(terms)

    def assemble(self, pops, srcs, prjs) -> Network:
        meta = self.meta
        probes: list[Probe] = []
        attrs: dict[str, Any] = {}
        order = None
        if self.exact_meta:
            order = _json(meta[META + "order"]) if META + "order" in meta else None
            attrs = _json(meta[META + "attrs"]) if META + "attrs" in meta else {}
            for p in _json(meta.get(META + "probes", "[]")):
                probes.append(Probe(p["target"], p["variable"],
                                    None if p.get("index") is None else np.asarray(p["index"]),
                                    Loc.from_json(p.get("loc"))))
        else:
            attrs = {"nir_import": {"convention": self.conv, "dt_ms": self.dt, "why": self.why,
                                    "outputs": sorted(self.outputs)}}

        def ordered(items: dict | list, key: str):
            seq = list(items.values()) if isinstance(items, dict) else list(items)
            if order and key in order:
                rank = {nm: i for i, nm in enumerate(order[key])}
                seq.sort(key=lambda x: rank.get(x.name, len(rank)))
            return seq
        loc = Loc.from_json(_json(meta[META + "loc"])) if self.exact_meta and META + "loc" in meta \
            else Loc(file=self.file) if self.file else Loc(origin="NIR graph")
        net = Network(self.name, self.dt, self.steps, ordered(pops, "populations"), ordered(srcs, "sources"),
                      ordered(prjs, "projections"), tuple(probes), "float", None, attrs, loc)
        net.check()
        return net
