"""The YAML model format (docs/yaml-format.md) -> float-stage :class:`Network`."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ... import resources
from ...errors import Loc, SnnccError, did_you_mean, figure, register_model_file
from ...ir import MODEL_PARAMS, MODELS, RECEPTORS, STDP, Network, Population, Projection
from ...ir.names import check_name
from ...ir.nodes import V_INIT_DEFAULT
from ...numerics import MAX_STEPS, rounds_to_zero
from . import schema
from .connectors import End, connect
from .schema import Fields
from .sources import source
from .tree import Node, parse
from .values import Context, check_range, values

#: PyNN cell type -> IR model
CELL_TYPES = {pynn: model for model, pynn in MODELS.items()}
TOP_KEYS = ("network", "populations", "sources", "projections")
NETWORK_KEYS = ("name", "dt", "duration", "seed")
POPULATION_KEYS = ("cell_type", "size", "parameters", "initial_values", "record")
PROJECTION_KEYS = ("pre", "post", "receptor_type", "connector", "weight", "delay", "plasticity")
RECORDABLE = ("spikes", "v")
#: neuron indices are int32 in the IR's synapse arrays and the backends
MAX_SIZE = 2**31 - 1
#: parameter -> (lowest allowed, strictly greater?), PyNN units
PHYSICAL = {"cm": (0.0, True), "tau_m": (0.0, True), "tau_syn_E": (0.0, True),
            "tau_syn_I": (0.0, True), "tau_refrac": (0.0, False)}
STDP_KEYS = ("type", "tau_plus", "tau_minus", "A_plus", "A_minus", "w_min", "w_max", "weight_dependence")


def load(path: str | Path, allow_external_files: bool = False) -> Network:
    """Read a YAML model file into a float-stage network.

    Data files (``{file: ...}``) are read relative to the model's folder and only from
    it and the folders below it, unless ``allow_external_files``."""
    path = Path(path)
    file = str(path)
    register_model_file(path)
    try:   # read at most the limit (a symlink to /dev/zero has no size to stat)
        with open(path, "rb") as fh:
            data = fh.read(resources.YAML_MAX_BYTES + 1)
        if len(data) > resources.YAML_MAX_BYTES:
            raise SnnccError(f"{file}: the model file is larger than {resources.nbytes(resources.YAML_MAX_BYTES)}"
                             f", the most snncc reads as YAML text", hint=_BIG_HINT)
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SnnccError(f"{file}: not a text file ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise SnnccError(f"{file}: cannot read the model file ({e.strerror})") from None
    _check_items(text, file)
    root = parse(text, file)
    if root is None:
        raise SnnccError("the model file is empty", Loc(file, 1, 1),
                         hint="a model needs at least 'network' (with 'duration') and 'populations'")
    try:
        return build(root, Context(file, path.parent, allow_external=allow_external_files))
    except MemoryError as e:   # a size the checks did not foresee
        err = resources.memory_error(e)
        err.loc = Loc(file)
        raise err from None


_BIG_HINT = ("put long lists (spike times, connection lists, per-neuron values) in .npy or .csv files and "
             "name them in the model: {file: times.npy} (docs/yaml-format.md)")


def _check_items(text: str, file: str) -> None:
    """Refuse a file with more lines and commas than :data:`resources.YAML_MAX_ITEMS` before
    PyYAML spends minutes on it (each value takes at least a comma or a line)."""
    raw = np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    items = int(np.count_nonzero(raw == 0x0A)) + int(np.count_nonzero(raw == 0x2C))
    if items > resources.YAML_MAX_ITEMS:
        raise SnnccError(f"{file}: the model file holds {items} lines and list items; snncc reads at most "
                         f"{resources.YAML_MAX_ITEMS} from YAML text", hint=_BIG_HINT)


def build(root: Node, ctx: Context) -> Network:
    top = Fields(root, TOP_KEYS, required=("network", "populations"), what="the model file")
    net_node = top.req("network")
    nf = Fields(net_node, NETWORK_KEYS, required=("duration",))
    dt = nf.number("dt", 1.0)
    if dt <= 0:
        raise SnnccError(f"network.dt: the time step must be > 0 ms, got {dt:g}", nf.req("dt").loc)
    duration = nf.number("duration")
    if duration <= 0:
        raise SnnccError(f"network.duration: must be > 0 ms, got {duration:g}", nf.req("duration").loc)
    ratio = duration / dt   # may be inf (dt = 5e-324): checked before int()
    if not ratio < MAX_STEPS + 0.5:   # checked before sources materialise a spike train per step
        raise SnnccError(f"network.duration: {duration:g} ms is {ratio:.6g} steps of {dt:g} ms; snncc "
                         f"runs at most {MAX_STEPS} steps", nf.req("duration").loc,
                         hint="shorten the duration or use a larger dt")
    steps = int(round(ratio))
    if steps < 1:
        raise SnnccError(f"network.duration: {duration:g} ms is less than one step (dt = {dt:g} ms)",
                         nf.req("duration").loc)
    name = nf.string("name", Path(ctx.file).stem)
    if nf.get("name") is not None:
        check_name(name, "network", nf.req("name").loc)
    seed = nf.integer("seed", 0, minimum=0)
    ctx = Context(ctx.file, ctx.base_dir, seed, ctx.allow_external, ctx.ledger)

    names: dict[str, Node] = {}

    def claim(key: str, node: Node, what: str) -> str:
        nm = schema.name(key, node, what)
        if nm in names:
            raise SnnccError(f"{node.path}: the name '{nm}' is already used by {names[nm].path}",
                             node.key_loc, hint="names of populations, sources and projections must be unique")
        names[nm] = node
        return nm

    pops = []
    pop_node = top.req("populations")
    if not pop_node.is_map:
        raise schema.type_error(pop_node, "a mapping of population names to populations")
    if not pop_node.value:
        raise SnnccError("populations: no populations defined", pop_node.where,
                         hint="a network needs at least one population")
    for key, node in pop_node.value.items():
        pops.append(population(claim(key, node, "population"), node, ctx))

    srcs = []
    if _given(top, "sources"):
        src_node = top.req("sources")
        if not src_node.is_map:
            raise schema.type_error(src_node, "a mapping of source names to spike sources")
        for key, node in src_node.value.items():
            srcs.append(source(claim(key, node, "source"), node, dt, steps, ctx))

    prjs = []
    if _given(top, "projections"):
        prj_node = top.req("projections")
        if not prj_node.is_map:
            raise schema.type_error(prj_node, "a mapping of projection names to projections")
        ends = {p.name: (p, True) for p in pops} | {s.name: (s, False) for s in srcs}
        for key, node in prj_node.value.items():
            prjs.append(projection(claim(key, node, "projection"), node, ends, dt, ctx))

    net = Network(name=name, dt=dt, steps=steps, populations=pops, sources=srcs, projections=prjs,
                  loc=net_node.where)
    net.check()
    return net


# ------------------------------------------------------------------------- populations

def population(name: str, node: Node, ctx: Context) -> Population:
    f = Fields(node, POPULATION_KEYS, required=("cell_type", "size"))
    ct = f.req("cell_type")
    cell = schema.string(ct)
    if cell not in CELL_TYPES:
        raise SnnccError(f"{ct.path}: unknown cell type '{cell}'{did_you_mean(cell, CELL_TYPES)}", ct.loc,
                         hint="snncc supports " + ", ".join(CELL_TYPES))
    model = CELL_TYPES[cell]
    size = f.integer("size", minimum=1)
    if size > MAX_SIZE:
        raise SnnccError(f"{f.req('size').path}: {figure(size)} neurons exceeds the largest population snncc "
                         f"indexes ({MAX_SIZE})", f.req("size").loc, hint="split it into smaller populations")
    ctx.ledger.claim(size * resources.BYTES_PER_NEURON, f"population '{name}' ({size} neurons)",
                     f.req("size").loc)
    spec = MODEL_PARAMS[model]
    given: dict[str, Node] = {}
    if _given(f, "parameters"):
        given = Fields(f.req("parameters"), tuple(spec), what=f"{node.path}.parameters ({cell})").node.value
    params = {}
    for key, (default, unit) in spec.items():
        if key in given:
            arr = values(given[key], size, ctx)
            if key in PHYSICAL:
                lo, strict = PHYSICAL[key]
                check_range(arr, given[key], lo, strict, unit, "neuron")
            params[key] = arr
        else:
            params[key] = np.full(size, default)
    low = params["v_thresh"] <= params["v_reset"]
    if low.any():
        k = int(np.flatnonzero(low)[0])
        at = given.get("v_thresh") or given.get("v_reset")
        varies = any(n.is_map or n.is_list for n in (given.get("v_thresh"), given.get("v_reset")) if n)
        neuron = f" for neuron {k}" if varies else ""
        raise SnnccError(f"{at.path}: v_thresh ({params['v_thresh'][k]:g} mV) must be above v_reset "
                         f"({params['v_reset'][k]:g} mV){neuron}", at.loc)
    v_init = params[V_INIT_DEFAULT[model]].copy()
    if _given(f, "initial_values"):
        iv = Fields(f.req("initial_values"), ("v",))
        if iv.get("v") is not None:
            v_init = values(iv.req("v"), size, ctx)
    record = ("spikes",)
    if _given(f, "record"):
        record = tuple(dict.fromkeys(
            schema.one_of(x, RECORDABLE, "recordable") for x in schema.seq(f.req("record"))))
    return Population(name, size, model, params, v_init, record, node.where)


def _given(f: Fields, key: str) -> bool:
    """The key is present with a value (``parameters:`` left empty means none)."""
    n = f.get(key)
    return n is not None and n.value is not None


# ------------------------------------------------------------------------- projections

def projection(name: str, node: Node, ends: dict, dt: float, ctx: Context) -> Projection:
    f = Fields(node, PROJECTION_KEYS, required=("pre", "post", "connector"))
    pre, pre_is_pop = _end(f.req("pre"), ends)
    post, post_is_pop = _end(f.req("post"), ends)
    if not post_is_pop:
        pn = f.req("post")
        raise SnnccError(f"{pn.path}: '{post.name}' is a spike source; a projection must end on a population",
                         pn.loc)
    receptor = f.choice("receptor_type", RECEPTORS, "excitatory")
    syn = connect(f.req("connector"), End(pre.name, pre.size), End(post.name, post.size),
                  pre.name == post.name, ctx)
    n = syn.pre.size
    weight = _column(f, "weight", syn.weight, syn.columns_from, n, ctx, required=True)
    w, w_node = weight
    if receptor == "excitatory" and (w < 0).any():
        k = int(np.flatnonzero(w < 0)[0])
        which = "" if n == 1 or not (w_node.is_map or w_node.is_list) else f" (synapse {k})"
        raise SnnccError(f"{w_node.path}: negative weight {w[k]:g}{which} on an excitatory projection",
                         w_node.loc, hint="use receptor_type: inhibitory for inhibitory synapses "
                         "(write the weight as a magnitude or negative)")
    if receptor == "inhibitory":
        w = -np.abs(w)
    d, d_node = _column(f, "delay", syn.delay, syn.columns_from, n, ctx, default=dt)
    if d.size:
        k = int(np.argmin(d))
        if d[k] <= 0:
            raise SnnccError(f"{d_node.path}: delay {d[k]:g} ms must be > 0; delays are at least one "
                             f"time step ({dt:g} ms)", d_node.loc)
        if rounds_to_zero(d[k], dt):   # rounded as discretise rounds: dt/2 gives 0 steps
            raise SnnccError(f"{d_node.path}: delay {d[k]:g} ms rounds to 0 steps at dt = {dt:g} ms; "
                             f"delays must be at least one step", d_node.loc,
                             hint=f"use a delay of at least {dt:g} ms or a smaller dt")
    plasticity = _stdp(f.get("plasticity")) if f.get("plasticity") is not None else None
    return Projection(name, pre.name, post.name, syn.pre, syn.post, w, d, receptor, plasticity, node.where)


def _end(node: Node, ends: dict):
    nm = schema.string(node)
    if nm not in ends:
        raise SnnccError(f"{node.path}: unknown population '{nm}'{did_you_mean(nm, ends)}", node.loc,
                         hint="defined: " + ", ".join(ends) if ends else None)
    return ends[nm]


def _column(f: Fields, key: str, from_list, list_node: Node | None, n: int, ctx: Context,
            required: bool = False, default: float | None = None):
    """(values, node to blame) for weight/delay: a list/file column or the key's value."""
    node = f.get(key)
    if from_list is not None:
        if node is not None:
            raise SnnccError(f"{node.path}: the connector's rows already give each synapse's {key}",
                             node.where, hint=f"remove '{key}' or the {key} column")
        return from_list, list_node
    if node is None:
        if required:
            f.missing(key)
        return np.full(n, default, dtype=np.float64), f.node
    return values(node, n, ctx), node


def _stdp(node: Node) -> STDP:
    f = Fields(node, STDP_KEYS, required=("type",))
    schema.one_of(f.req("type"), ("stdp",), "plasticity rule")
    kw = {k: f.number(k) for k in STDP_KEYS[1:-1] if k in f}
    if "weight_dependence" in f:
        kw["weight_dependence"] = f.choice("weight_dependence", ("additive", "multiplicative"))
    for k in ("tau_plus", "tau_minus"):
        if k in kw and kw[k] <= 0:
            raise SnnccError(f"{node.path}.{k}: must be > 0 ms, got {kw[k]:g}", f.req(k).loc)
    return STDP(**kw)
