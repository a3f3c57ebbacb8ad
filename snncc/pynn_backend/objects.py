"""Population, PopulationView, Assembly, Projection and Recorder on PyNN's common classes.

Nothing is simulated while a script builds its network: populations keep their
evaluated parameters, projections keep their synapses as arrays (the connectors fill
them exactly as on any PyNN backend, so ``Projection.get`` returns what NEST would
hold for the same RNG seeds). When a script asks for data after ``run`` the captured
network is run once in snncc's reference simulator.
"""
from __future__ import annotations

import numpy as np
from pyNN import common, errors, recording
from pyNN.parameters import ParameterSpace, simplify
from pyNN.space import Space
from pyNN.standardmodels import StandardCellType

from .. import resources
from ..errors import Loc
from ..fmt import count
from . import simulator
from .simulator import state

#: bytes one neuron of a PyNN script costs here: PyNN makes a Python ID object per cell
PYNN_BYTES_PER_NEURON = 4 * resources.BYTES_PER_NEURON


def _claim_synapses(prj, connector) -> None:
    """Refuse a connector whose synapses would pass the memory limit, before PyNN draws them
    (PyNN's own connectors; others are left to the limit of the process)."""
    pairs = prj.pre.size * prj.post.size
    kind = type(connector).__name__
    n = {"AllToAllConnector": lambda: pairs,
         "OneToOneConnector": lambda: prj.pre.size,
         "FixedProbabilityConnector": lambda: float(connector.p_connect) * pairs,
         "FixedNumberPreConnector": lambda: float(connector.n) * prj.post.size,
         "FixedNumberPostConnector": lambda: float(connector.n) * prj.pre.size,
         "FixedTotalNumberConnector": lambda: float(connector.n)}.get(kind)
    if n is None:
        return
    try:
        synapses = n()
    except (AttributeError, TypeError, ValueError):   # a distribution as n: PyNN decides
        return
    resources.require(synapses * resources.BYTES_PER_SYNAPSE,
                      f"{kind} from {count(prj.pre.size)} to {count(prj.post.size)} neurons "
                      f"({count(synapses)} synapses)", Loc(*prj.loc) if prj.loc[0] else None,
                      hint="use fewer or sparser connections, or smaller populations; " + resources.RAISE_HINT)


class Assembly(common.Assembly):
    _simulator = simulator

    @property
    def receptor_types(self):
        """The receptor types every population has, in the order of the first one's
        cell type. PyNN returns them in set order, which changes with PYTHONHASHSEED, and
        a projection without ``receptor_type`` takes the first (the second for negative
        weights): the same script would connect to another receptor from run to run."""
        rts = list(self.populations[0].celltype.receptor_types)
        for p in self.populations[1:]:
            rts = [r for r in rts if r in p.celltype.receptor_types]
        return rts


class PopulationView(common.PopulationView):
    _assembly_class = Assembly
    _simulator = simulator

    def _get_parameters(self, *names):
        ps = self.parent._get_parameters(*names)
        return ParameterSpace({k: simplify(np.asarray(v.evaluate(simplify=False))[self.mask])
                               if hasattr(v, "evaluate") else v for k, v in ps.items()}, shape=(self.size,))

    def _set_parameters(self, parameter_space):
        for name, value in parameter_space.items():
            try:
                self.parent._parameters[name][self.mask] = value.evaluate(simplify=True)
            except ValueError:
                raise errors.InvalidParameterValueError(f"{name} should not be of type {type(value)}")

    def _set_initial_value_array(self, variable, initial_values):
        arr = self.parent._initial.setdefault(variable, np.full(self.parent.size, np.nan))
        arr[self.mask] = initial_values.evaluate(simplify=False)

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)


class Population(common.Population):
    __doc__ = common.Population.__doc__
    _simulator = simulator
    _assembly_class = Assembly

    def __init__(self, *args, **kwargs):
        self.loc = state.caller()
        self._initial: dict[str, np.ndarray] = {}
        common.Population.__init__(self, *args, **kwargs)
        state.populations.append(self)

    @property
    def _recorder_class(self):
        return Recorder

    def _create_cells(self):
        resources.require(self.size * PYNN_BYTES_PER_NEURON, f"a PyNN Population of {count(self.size)} neurons",
                          Loc(*self.loc) if self.loc[0] else None)
        ids = np.arange(state.id_counter, state.id_counter + self.size)
        self.all_cells = np.array([simulator.ID(i) for i in ids], dtype=simulator.ID)
        self._mask_local = np.ones(self.size, dtype=bool)
        ps = self.celltype.native_parameters if isinstance(self.celltype, StandardCellType) \
            else self.celltype.parameter_space
        ps.shape = (self.size,)
        ps.evaluate(mask=self._mask_local, simplify=False)
        self._parameters = ps.as_dict()
        for i in self.all_cells:
            i.parent = self
        state.id_counter += self.size

    def _set_initial_value_array(self, variable, initial_values):
        values = np.array(initial_values.evaluate(simplify=False), dtype=float)
        self._initial[variable] = values.reshape(self.size)

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)

    def _get_parameters(self, *names):
        return ParameterSpace({n: simplify(self._parameters[n]) for n in names}, shape=(self.size,))

    def _set_parameters(self, parameter_space):
        parameter_space.evaluate(simplify=False, mask=self._mask_local)
        for name, value in parameter_space.items():
            self._parameters[name] = value

    def parameter_arrays(self) -> dict[str, np.ndarray]:
        """Every parameter as a float array of length ``size`` (spike_times stay Sequences)."""
        out = {}
        for k, v in self._parameters.items():
            a = np.asarray(v, dtype=object if k == "spike_times" else float)
            out[k] = np.broadcast_to(a, (self.size,)) if a.ndim == 0 else a
        return out


def root_indices(obj, local: np.ndarray) -> list[tuple["Population", np.ndarray, np.ndarray]]:
    """Map indices into a Population, view or Assembly to (root population, root index,
    positions in ``local`` that land there)."""
    local = np.asarray(local, dtype=np.int64)
    if isinstance(obj, Population):
        return [(obj, local, np.arange(local.size))]
    if isinstance(obj, common.PopulationView):
        parent_idx = np.arange(obj.parent.size)[obj.mask][local]
        return [(p, i, pos) for p, i, pos in root_indices(obj.parent, parent_idx)]
    if isinstance(obj, common.Assembly):
        out, off = [], 0
        for p in obj.populations:
            sel = np.flatnonzero((local >= off) & (local < off + p.size))
            for root, i, pos in root_indices(p, local[sel] - off):
                out.append((root, i, sel[pos]))
            off += p.size
        return out
    raise TypeError(type(obj))


class Projection(common.Projection):
    __doc__ = common.Projection.__doc__
    _simulator = simulator

    def __init__(self, presynaptic_population, postsynaptic_population, connector, synapse_type=None,
                 source=None, receptor_type=None, space=Space(), label=None):
        self.loc = state.caller()
        self._pre_idx: list[np.ndarray] = []
        self._post_idx: list[np.ndarray] = []
        self._attrs: dict[str, list[np.ndarray]] = {}
        common.Projection.__init__(self, presynaptic_population, postsynaptic_population, connector,
                                   synapse_type, source, receptor_type, space, label)
        _claim_synapses(self, connector)
        connector.connect(self)
        state.projections.append(self)

    def __len__(self):
        return int(sum(a.size for a in self._pre_idx))

    def set(self, **attributes):
        raise NotImplementedError("Projection.set() after creation is not captured by snncc; "
                                  "give the values in the synapse type instead")

    def _convergent_connect(self, presynaptic_indices, postsynaptic_index, location_selector=None,
                            **connection_parameters):
        if location_selector is not None:
            raise NotImplementedError("snncc has no multicompartment neurons")
        pre = np.arange(self.pre.size)[presynaptic_indices]
        pre = np.atleast_1d(pre).astype(np.int64)
        self._pre_idx.append(pre)
        self._post_idx.append(np.full(pre.size, int(postsynaptic_index), dtype=np.int64))
        for name, value in connection_parameters.items():
            v = np.asarray(value, dtype=float)
            self._attrs.setdefault(name, []).append(np.broadcast_to(v, pre.shape).astype(float))

    def arrays(self) -> dict[str, np.ndarray]:
        """pre, post (indices into self.pre / self.post) and every synapse attribute."""
        cat = (lambda xs, dt=float: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt))
        out = {"pre": cat(self._pre_idx, np.int64), "post": cat(self._post_idx, np.int64)}
        for k, v in self._attrs.items():
            out[k] = cat(v)
        return out

    def _get_attributes_as_list(self, names):
        a = self.arrays()
        key = {"presynaptic_index": "pre", "postsynaptic_index": "post"}
        cols = [a[key.get(n, n)] for n in names]
        return [tuple(c[k].item() for c in cols) for k in range(a["pre"].size)]

    def _get_attributes_as_arrays(self, names, multiple_synapses="sum"):
        op = common.Projection.MULTI_SYNAPSE_OPERATIONS[multiple_synapses]
        a = self.arrays()
        out = []
        for n in names:
            n = n[:-1] if n.endswith("s") and n not in a else n
            m = np.full((self.pre.size, self.post.size), np.nan)
            for i, j, v in zip(a["pre"], a["post"], a[n]):
                m[i, j] = v if np.isnan(m[i, j]) else op(m[i, j], v)
            out.append(m)
        return out


class Recorder(recording.Recorder):
    """Serves recorded data from one reference-simulator run of the captured network."""

    _simulator = simulator

    def _record(self, variable, new_ids, sampling_interval=None):
        pass

    def _raster(self):
        if state.results is None:
            from .capture import network_from_state
            from ..refsim import simulate
            from dataclasses import replace
            net = network_from_state(state)
            extra = {}
            for pr in net.probes:  # partly recorded variables are simulated for the whole population
                extra.setdefault(pr.target, set()).add(pr.variable)
            run = net.with_(populations=[replace(p, record=tuple(p.record) + tuple(
                sorted(extra.get(p.name, set()) - set(p.record)))) for p in net.populations])
            state.results = (net, simulate(run))
        return state.results

    def _where(self, ids):
        p = self.population
        root = p.grandparent if hasattr(p, "grandparent") else p
        return root, np.array([root.id_to_index(i) for i in ids], dtype=np.int64)

    def _get_spiketimes(self, ids, clear=False):
        net, r = self._raster()
        single = not hasattr(ids, "__len__")
        id_list = [ids] if single else list(ids)
        root, idx = self._where(id_list)
        steps, index = r.spikes.get(root.label, (np.zeros(0, np.int64), np.zeros(0, np.int64)))
        out = {i: steps[index == k] * r.dt for i, k in zip(id_list, idx)}
        return out[ids] if single else out

    def _get_all_signals(self, variable, ids, clear=False):
        net, r = self._raster()
        root, idx = self._where(list(ids))
        key = f"{root.label}.{variable.name if hasattr(variable, 'name') else variable}"
        trace = r.states.get(key)
        if trace is None:
            return np.zeros((int(round(state.t / state.dt)) + 1, len(idx))), None
        v0 = np.asarray(net.node(root.label).v_init)[idx][None, :]
        return np.vstack([v0, trace[:, idx]]), None

    def _local_count(self, variable, filter_ids=None):
        ids = list(self.filter_recorded(variable, filter_ids))
        times = self._get_spiketimes(ids) if ids else {}
        return {int(i): len(times[i]) for i in ids}

    def _clear_simulator(self):
        pass

    def _reset(self):
        pass
