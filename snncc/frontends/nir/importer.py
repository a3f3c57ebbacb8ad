"""The NIR importer: walks a flattened graph and builds the float-IR Network.

Spiking nodes (Input and the neuron kinds) become sources and populations; every path of
linear nodes between two of them becomes one projection, its matrices pushed through the
nodes on the way (:mod:`.linear`); neuron nodes are translated by :mod:`.neurons` under the
exporter convention (:mod:`.conventions`). Every NIR edge into a neuron costs one step (the
IR's minimal synaptic delay, as on every target); a ``Delay`` node adds ``round(delay/dt)``
steps on top.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from ... import resources
from ...errors import Loc, SnnccError, did_you_mean
from ...fmt import count
from ...ir import MODEL_PARAMS, STDP, Network, Population, Probe, Projection, SpikeSource
from ...ir.names import DERIVED_NAME_CHARS, check_name
from . import linear, neurons
from .conventions import CONVENTIONS, DEFAULT_DT_S, infer_convention
from .graph import (LINEAR, META, NEURONS, SUPPORTED, _check_finite, _flatten_graph, _json, _meta, _node_shape,
                    _str)
from .reader import _nir, _read

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


# ------------------------------------------------------------------------------ the importer

class _Importer:
    """One import: the convention and step resolved from the graph and the options, then
    :meth:`run` walks the graph; ``at`` names the node being translated for error messages."""

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
        nodes, edges = self._checked_graph()
        self.nodes = nodes
        self.succ: dict[str, list[str]] = {k: [] for k in nodes}
        for a, b in edges:
            self.succ[a].append(b)
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.outputs: set[str] = set()
        spiking = [k for k, n in nodes.items() if type(n).__name__ in ("Input",) + NEURONS]
        srcs = self._sources(spiking)
        contrib = self._contributions(spiking)
        bias = self._biases()
        pops = {k: self.population(k, nodes[k], bias.get(k))
                for k in spiking if type(nodes[k]).__name__ != "Input"}
        projections = self.projections(contrib, pops, srcs)
        return self.assemble(pops, srcs, projections)

    def _checked_graph(self) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """The graph flattened, without snncc's stand-in input, every node a kind snncc
        compiles with finite parameters, every given input and every edge end a node."""
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
        return nodes, edges

    def _sources(self, spiking: list[str]) -> dict[str, SpikeSource]:
        """Each spiking node's shape, its size claimed before anything is allocated; the
        Input nodes as spike sources."""
        srcs = {}
        ledger = resources.Ledger()
        for k in spiking:
            self.at = k
            n = self.nodes[k]
            shape = _node_shape(n)
            self.shapes[k] = shape
            size = int(np.prod(shape, dtype=np.float64))   # float: a hostile shape must not wrap
            ledger.claim(size * resources.BYTES_PER_NEURON,
                         f"NIR node '{k}' ({type(n).__name__}, shape {shape}: {count(size)} neurons)", self.where)
            if type(n).__name__ == "Input":
                srcs[k] = self.source(k, n)
        return srcs

    def _contributions(self, spiking: list[str]) -> dict[tuple[str, str, str], dict[int, sp.csr_matrix]]:
        """contributions[(pre, post, label)][delay] = matrix (post_size x pre_size): every
        spiking node's identity pushed along its out-edges to the neurons they reach."""
        nodes = self.nodes
        contrib: dict[tuple[str, str, str], dict[int, sp.csr_matrix]] = {}
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
        return contrib

    def _biases(self) -> dict[str, np.ndarray]:
        """The constant input each neuron node receives from Affine/conv biases upstream."""
        bias: dict[str, np.ndarray] = {}
        for k, n in self.nodes.items():
            if type(n).__name__ in ("Affine", "Conv1d", "Conv2d"):
                b = np.asarray(n.bias, dtype=np.float64)
                if b.size and np.any(b != 0):
                    self.propagate_bias(k, n, bias)
        return bias

    def apply(self, k: str, node, terms: dict[int, sp.csr_matrix], shape):
        """Push a linear map through node ``k``: (new terms, new shape)."""
        self.at = k
        return linear.apply(self, k, node, terms, shape)

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
        lab = labels + (k,) if kind in linear.WEIGHTED else labels
        meta = _meta(node)
        if META + "projection" in meta and self.exact_meta:
            lab = (_str(meta[META + "projection"]),)
        for d in self.succ[k]:
            self.propagate(src, d, new, new_shape, lab, contrib, path + (k,))

    def propagate_bias(self, k, node, bias):
        """A constant (an Affine or conv bias) flows on through linear nodes to neurons."""
        b = np.asarray(node.bias, dtype=np.float64).ravel()
        if type(node).__name__ != "Affine":  # conv bias: one per output channel
            b = np.repeat(b, int(np.prod(self._out_shape_after(k)[1:])))
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
        return neurons.translate(k, node, kind, shape, bias, self.conv, self.dt_s, self.dt, self.where)

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
