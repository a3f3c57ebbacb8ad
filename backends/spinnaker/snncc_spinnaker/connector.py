"""snncc's synapses handed to sPyNNaker 7.4.1 per post core, at the cost of a copy.

A spinnaker build copies this file beside its ``run.py`` (as ``spynnaker_blocks.py``);
the script imports it only when it runs on sPyNNaker, so the build stays a standalone
PyNN program and this module needs nothing of snncc.

``SlicedConnector`` implements sPyNNaker's host-generation interface
(``AbstractGenerateConnectorOnHost``) over synapse arrays that snncc's emitter wrote
sorted by (post core, pre neuron): the synapses of one post core are one contiguous
range, handed over as they are. sPyNNaker's own FromListConnector re-filters the
whole list for every (pre core, post core).

``install`` replaces sPyNNaker's ``synapse_io._get_row_data`` for static
synapses by a vectorised equivalent. The original turns a block into rows with
``data[row_indices == i]`` for every row i (SynapseDynamicsStatic via
AbstractSDRAMSynapseDynamics.convert_per_connection_data_to_rows): time proportional to
rows x synapses per post core, and then three Python loops over the rows. The
replacement writes the same words into the same places (tests compare the bytes with
the original's) and leaves every other case (plastic synapses, padded rows) to it.

``install`` also replaces ``Struct.__get_data_for_slice``, which writes a core's neuron
parameters: for a parameter set per neuron (snncc's initial voltages are exact values,
not a RandomDistribution) it walks the ids one by one comparing neighbours with
``numpy.array_equal``, about 20 us per neuron and field. The replacement encodes each
distinct value once with sPyNNaker's own ``convert_to`` and scatters the results: the
same bytes (tests compare them), for scalar values only.

``install`` also corrects where sPyNNaker's host writer puts the rows of
synapses that go through a delay extension (delays beyond the post core's ring buffer).
``synapse_io.get_synapses`` numbers them ``core * M * S + (stage - 1) * M + neuron`` with
M the *post* population's neurons per core; the machine finds a delayed spike's row
from the master population table, whose entry for the delay extension says M is the
*pre* population's neurons per core, and from the key the delay extension sends,
``(stage - 1) * n + neuron`` on a core of n neurons (delay_extension.c; sPyNNaker 7.4.1
gives a delay core exactly n x stages keys, which only this numbering fills). The two agree
only when pre and post have the same neurons per core and every pre core is full;
otherwise the rows land where no spike looks (``snncc verify`` finds them). The
replacement numbers them as the machine reads them.

``drop_virtual_connection_holders``: on a virtual board sPyNNaker decodes every
generated row back into a list, in case the script asks ``Projection.get`` after the
run; the script never does, and snncc reads the generated data itself.
"""
from __future__ import annotations

import numpy as np

from spynnaker._version import __version__ as SPYNNAKER_VERSION
from spynnaker.pyNN.data import SpynnakerDataView
from spynnaker.pyNN.models.neural_projections.connectors import (
    AbstractConnector, AbstractGenerateConnectorOnHost)
from spynnaker.pyNN.models.neuron import synapse_io, synaptic_matrix_app
from spynnaker.pyNN.models.neuron.synapse_dynamics import SynapseDynamicsStatic
from spynnaker.pyNN.utilities import struct as _struct
from spynnaker.pyNN.utilities.utility_calls import convert_to, get_n_bits

#: the sPyNNaker release whose row format and generation code this module was written from
SUPPORTED_VERSION = "1!7.4.1"
_HEADER_WORDS = 3          # synapse_io._N_HEADER_WORDS: plastic size, fixed size, fixed-plastic size


class SlicedConnector(AbstractConnector, AbstractGenerateConnectorOnHost):
    """A projection's synapses, sorted by (post core, pre neuron).

    ``pre``, ``post``: neuron indices; ``q``: sPyNNaker's 16-bit weight magnitudes,
    ``q * unit`` the signed weight (nA, or sPyNNaker's charge for IF_curr_delta; ``unit``
    is a power of two, so sPyNNaker's scaling gives back ``q`` exactly); ``delay``: whole
    time steps (>= 1); ``offsets``: where the synapses of post core k begin
    (``offsets[k]``) when the post population is split into cores of ``post_npc``
    neurons, ``offsets[-1] == len(pre)``. The arrays may be memory-mapped: blocks are
    copied out one post core at a time.
    """

    __slots__ = ("_pre", "_post", "_q", "_unit", "_delay", "_offsets", "_npc", "_stats", "_by_post")

    def __init__(self, pre, post, q, unit: float, delay, offsets, post_npc: int):
        super().__init__(safe=True)
        self._pre = pre
        self._post = post
        self._q = q
        self._unit = float(unit)
        self._delay = delay
        self._offsets = np.asarray(offsets, np.int64)
        self._npc = int(post_npc)
        self._stats: dict = {}
        self._by_post = None      # order by post neuron, made only if sPyNNaker splits otherwise

    def __repr__(self) -> str:
        return f"SlicedConnector(n_connections={len(self._pre)})"

    # ---------------------------------------------------------------- statistics

    def _stat(self, name: str):
        if name not in self._stats:
            w = np.asarray(self._q, np.float64) * abs(self._unit)
            d = np.asarray(self._delay)
            n = w.size
            self._stats.update({
                "w_mean": float(w.mean()) if n else 0.0, "w_max": float(w.max()) if n else 0.0,
                "w_var": float(w.var()) if n else 0.0,
                "d_min": int(d.min()) if n else 1, "d_max": int(d.max()) if n else 1,
                "d_var": float(np.var(d.astype(np.float64))) if n else 0.0})
        return self._stats[name]

    @staticmethod
    def _dt() -> float:
        return SpynnakerDataView.get_simulation_time_step_ms()

    def get_delay_maximum(self, synapse_info) -> float:
        return self._stat("d_max") * self._dt()

    def get_delay_minimum(self, synapse_info) -> float:
        return self._stat("d_min") * self._dt()

    def get_delay_variance(self, delays, synapse_info) -> float:
        return self._stat("d_var") * self._dt() ** 2

    def get_weight_mean(self, weights, synapse_info) -> float:
        return self._stat("w_mean")

    def get_weight_maximum(self, synapse_info) -> float:
        return self._stat("w_max")

    def get_weight_variance(self, weights, synapse_info) -> float:
        return self._stat("w_var")

    def get_n_connections_to_post_vertex_maximum(self, synapse_info) -> int:
        if len(self._post) == 0:
            return 0
        return int(np.bincount(np.asarray(self._post, np.int64)).max())

    def get_n_connections_from_pre_vertex_maximum(self, n_post_atoms, synapse_info, min_delay=None,
                                                  max_delay=None) -> int:
        """The longest row: most synapses from one pre neuron onto one core of
        ``n_post_atoms`` post neurons, counting delays in [min_delay, max_delay] ms."""
        if len(self._pre) == 0:
            return 0
        pre = np.asarray(self._pre, np.int64)
        core = np.asarray(self._post, np.int64) // int(n_post_atoms)
        if min_delay is not None and max_delay is not None:
            # compared in ms as FromListConnector compares its rounded delays
            d_ms = np.asarray(self._delay, np.float64) * self._dt()
            keep = (d_ms >= min_delay) & (d_ms <= max_delay)
            if not keep.all():
                pre, core = pre[keep], core[keep]
            if pre.size == 0:
                return 0
        key = pre * (int(core.max()) + 1) + core
        return int(np.bincount(key).max())

    # ---------------------------------------------------------------- machine graph

    def get_connected_vertices(self, s_info, source_vertex, target_vertex):
        """Per target core, the source cores with at least one synapse onto its neurons.
        Cores are matched by the neurons they hold (their slices), as FromListConnector
        does: where sPyNNaker gives one slice several synapse cores, each of them is
        listed with every source of the slice, and sPyNNaker's splitter chooses."""
        targets = list(target_vertex.splitter.get_in_coming_vertices(s_info.partition_id))
        sources = list(source_vertex.splitter.get_out_going_vertices(s_info.partition_id))
        pre_lo = np.unique([m.vertex_slice.lo_atom for m in sources])
        post_lo = np.unique([m.vertex_slice.lo_atom for m in targets])
        pre_slice = np.searchsorted(pre_lo, np.asarray(self._pre, np.int64), side="right") - 1
        post_slice = np.searchsorted(post_lo, np.asarray(self._post, np.int64), side="right") - 1
        pairs = np.unique(post_slice * len(pre_lo) + pre_slice)
        connected: dict[int, set] = {}
        for t, s in zip((pairs // len(pre_lo)).tolist(), (pairs % len(pre_lo)).tolist()):
            connected.setdefault(int(post_lo[t]), set()).add(int(pre_lo[s]))
        return [(m, [v for v in sources
                     if v.vertex_slice.lo_atom in connected.get(m.vertex_slice.lo_atom, ())])
                for m in targets]

    # ---------------------------------------------------------------- synapses

    def _range(self, lo: int, hi: int, n_post: int):
        """Indices of the synapses onto post neurons lo..hi: one contiguous range when
        sPyNNaker split the population as snncc did, else an index array."""
        k = lo // self._npc
        if lo % self._npc == 0 and k < len(self._offsets) - 1 and hi == min(lo + self._npc, n_post) - 1:
            return slice(int(self._offsets[k]), int(self._offsets[k + 1]))
        if self._by_post is None:      # sPyNNaker split differently: one sort, then ranges
            self._by_post = np.argsort(np.asarray(self._post), kind="stable")
        post_sorted = np.asarray(self._post)[self._by_post]
        a, b = np.searchsorted(post_sorted, [lo, hi + 1])
        return np.sort(self._by_post[a:b])

    def create_synaptic_block(self, post_slices, post_vertex_slice, synapse_type, synapse_info):
        sel = self._range(post_vertex_slice.lo_atom, post_vertex_slice.hi_atom,
                          synapse_info.n_post_neurons)
        pre = self._pre[sel]
        block = np.empty(len(pre), dtype=self.NUMPY_SYNAPSES_DTYPE)
        block["source"] = synapse_info.pre_vertex.get_key_ordered_indices(pre)
        block["target"] = np.asarray(self._post[sel], np.int64) - post_vertex_slice.lo_atom
        block["weight"] = self._q[sel] * self._unit
        block["delay"] = np.asarray(self._delay[sel], np.float64) * self._dt()
        block["synapse_type"] = synapse_type
        return block


# -------------------------------------------------------------------- fast static rows

def static_rows(connections, row_indices, n_rows, n_synapse_types, max_row_n_synapses, max_row_n_words,
                max_atoms_per_core):
    """What synapse_io._get_row_data returns for SynapseDynamicsStatic without padding:
    ``n_rows`` rows of ``3 + max_row_n_words`` words - header (0, n synapses, 0), the
    synapse words in block order, zeros - as one flat uint32 array. Rows outside
    [0, n_rows) are dropped and rows longer than ``max_row_n_synapses`` cut, as there."""
    n_neuron_id_bits = get_n_bits(max_atoms_per_core)
    neuron_id_mask = (1 << n_neuron_id_bits) - 1
    n_synapse_type_bits = get_n_bits(n_synapse_types)
    # the expression of SynapseDynamicsStatic.get_static_synaptic_data, unchanged
    words = (
        ((np.rint(np.abs(connections["weight"])).astype(np.uint32) & 0xFFFF) << 16) |
        (connections["delay"].astype(np.uint32) << (n_neuron_id_bits + n_synapse_type_bits)) |
        (connections["synapse_type"].astype(np.uint32) << n_neuron_id_bits) |
        (connections["target"] & neuron_id_mask))
    stride = _HEADER_WORDS + int(max_row_n_words)
    out = np.zeros((int(n_rows), stride), dtype=np.uint32)
    rows = np.asarray(row_indices).astype(np.int64)
    keep = (rows >= 0) & (rows < n_rows)
    if not keep.all():
        rows, words = rows[keep], words[keep]
    if rows.size:
        if rows.size > 1 and not np.all(rows[1:] >= rows[:-1]):
            order = np.argsort(rows, kind="stable")
            rows, words = rows[order], words[order]
        counts = np.bincount(rows, minlength=n_rows)
        starts = np.cumsum(counts) - counts
        pos = np.arange(rows.size, dtype=np.int64) - starts[rows]
        fits = pos < max_row_n_synapses
        if not fits.all():
            rows, words, pos = rows[fits], words[fits], pos[fits]
        out[:, 1] = np.minimum(counts, max_row_n_synapses)
        out[rows, _HEADER_WORDS + pos] = words
    return out.reshape(-1)


def get_synapses(connections, synapse_info, n_delay_stages, n_synapse_types, weight_scales, app_edge,
                 max_row_info, gen_undelayed, gen_delayed, max_atoms_per_core):
    """sPyNNaker 7.4.1's synapse_io.get_synapses with the delayed rows numbered as the
    machine reads them (see the module docstring); everything else as there."""
    max_delay = app_edge.post_vertex.splitter.max_support_delay()
    connections["delay"] = np.rint(connections["delay"] * SpynnakerDataView.get_simulation_time_step_per_ms())
    if not synapse_info.synapse_type_from_dynamics:
        connections["weight"] = connections["weight"] * weight_scales[synapse_info.synapse_type]
    undelayed_mask = connections["delay"] <= max_delay
    undelayed = connections[np.where(undelayed_mask)]
    delayed = connections[np.where(~undelayed_mask)]
    dynamics = synapse_info.synapse_dynamics
    row_data = np.zeros(0, dtype=np.uint32)
    if gen_undelayed and max_row_info.undelayed_max_n_synapses:
        row_data = synapse_io._get_row_data(
            undelayed, undelayed["source"], app_edge.pre_vertex.n_atoms, n_synapse_types, dynamics,
            max_row_info.undelayed_max_n_synapses, max_row_info.undelayed_max_words, max_atoms_per_core)
    delayed_row_data = np.zeros(0, dtype=np.uint32)
    if gen_delayed and max_row_info.delayed_max_n_synapses:
        stages = np.floor(np.round(delayed["delay"] - 1.0) / max_delay).astype(np.uint32)
        pre = app_edge.pre_vertex
        m_pre = min(pre.get_max_atoms_per_core(), pre.n_atoms)
        source = delayed["source"].astype(np.int64)
        core = source // m_pre
        local = source - core * m_pre
        atoms_in_core = np.minimum(m_pre, pre.n_atoms - core * m_pre)
        rows = core * (m_pre * n_delay_stages) + (stages.astype(np.int64) - 1) * atoms_in_core + local
        delayed["delay"] -= max_delay * stages
        delayed_row_data = synapse_io._get_row_data(
            delayed, rows, pre.n_atoms * n_delay_stages, n_synapse_types, dynamics,
            max_row_info.delayed_max_n_synapses, max_row_info.delayed_max_words, max_atoms_per_core)
    return row_data, delayed_row_data


# -------------------------------------------------------------------- fast neuron data

def slice_values(all_vals, lo: int, n: int, data_type):
    """``convert_to(value, data_type)`` for neurons lo..lo+n-1 of a ranged list, each
    distinct value converted once; None where a value is not a finite number."""
    values = np.asarray(list(all_vals.iter_by_slice(lo, lo + n)))
    if values.dtype.kind not in "iuf" or values.shape != (n,):     # bools, objects, distributions
        return None
    arr = values.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        return None
    distinct, where = np.unique(arr, return_inverse=True)
    encoded = np.array([convert_to(float(v), data_type) for v in distinct])
    return encoded[where]


def _install_fast_neuron_data() -> None:
    name = "_Struct__get_data_for_slice"
    original = getattr(_struct.Struct, name)
    if getattr(original, "snncc_original", None) is not None:
        return

    def get_data_for_slice(self, data, all_vals, field, data_type, vertex_slice):
        ids = vertex_slice.get_raster_ids()
        lo, n = vertex_slice.lo_atom, vertex_slice.n_atoms
        encoded = None
        if len(ids) == n and n and ids[0] == lo and ids[-1] == lo + n - 1:
            encoded = slice_values(all_vals, lo, n, data_type)
        if encoded is None:
            return original(self, data, all_vals, field, data_type, vertex_slice)
        data[field][:n] = encoded

    get_data_for_slice.snncc_original = original
    setattr(_struct.Struct, name, get_data_for_slice)


def install(fast_rows: bool = True, machine_delay_rows: bool = True) -> bool:
    """Route sPyNNaker's static row building through ``static_rows`` and its neuron
    parameters through ``slice_values`` (``fast_rows``: the same bytes, sooner) and its
    placement of delay-extension rows through ``get_synapses`` (``machine_delay_rows``);
    False, leaving sPyNNaker's own code, on any release but the one this module was
    written from."""
    if SPYNNAKER_VERSION != SUPPORTED_VERSION:
        return False
    if fast_rows:
        _install_fast_neuron_data()
    if machine_delay_rows and getattr(synaptic_matrix_app.get_synapses, "snncc_original", None) is None:
        get_synapses.snncc_original = synaptic_matrix_app.get_synapses
        synaptic_matrix_app.get_synapses = get_synapses
    if fast_rows and getattr(synapse_io._get_row_data, "snncc_original", None) is None:
        original = synapse_io._get_row_data

        def _get_row_data(connections, row_indices, n_rows, n_synapse_types, synapse_dynamics,
                          max_row_n_synapses, max_row_n_words, max_atoms_per_core):
            if (type(synapse_dynamics) is not SynapseDynamicsStatic
                    or synapse_dynamics.pad_to_length is not None):
                return original(connections, row_indices, n_rows, n_synapse_types, synapse_dynamics,
                                max_row_n_synapses, max_row_n_words, max_atoms_per_core)
            return static_rows(connections, row_indices, n_rows, n_synapse_types, max_row_n_synapses,
                               max_row_n_words, max_atoms_per_core)

        _get_row_data.snncc_original = original
        synapse_io._get_row_data = _get_row_data
    return True


def uninstall() -> None:
    """sPyNNaker's own functions back."""
    name = "_Struct__get_data_for_slice"
    original = getattr(getattr(_struct.Struct, name), "snncc_original", None)
    if original is not None:
        setattr(_struct.Struct, name, original)
    original = getattr(synapse_io._get_row_data, "snncc_original", None)
    if original is not None:
        synapse_io._get_row_data = original
    original = getattr(synaptic_matrix_app.get_synapses, "snncc_original", None)
    if original is not None:
        synaptic_matrix_app.get_synapses = original


def drop_virtual_connection_holders(projection) -> None:
    """Stop sPyNNaker keeping a decoded copy of ``projection``'s rows on a virtual board
    (kept for ``Projection.get``, which snncc's script never calls; on a machine there is
    none to drop)."""
    projection._synapse_information.finish_connection_holders()
