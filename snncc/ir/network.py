"""The network container shared by every IR stage."""
from __future__ import annotations

import weakref
from dataclasses import dataclass, field, replace
from typing import Any, Iterator, Mapping

import numpy as np

from ..errors import Loc, SnnccError
from .names import DERIVED_NAME_CHARS, MAX_NAME_CHARS, check_name
from .nodes import (
    FixedPopulation, FixedProjection, Population, Probe, Projection, SpikeSource,
    StepPopulation, StepProjection, StepSource,
)

#: stage name -> (population types, source types, projection types)
STAGES = {
    "float": ((Population,), (SpikeSource,), (Projection,)),
    "step": ((StepPopulation,), (StepSource,), (StepProjection,)),
    "fixed": ((FixedPopulation,), (StepSource,), (FixedProjection,)),
}


class IndexRanges:
    """(min, max) of read-only index arrays already checked, by id, with a weak reference that
    tells a live array from a new one at a reused address. IR arrays are frozen, so their range
    cannot change. Each network holds one (``Network.index_ranges``), shared with the networks
    passes derive from it, so each array is scanned once a compile."""

    def __init__(self) -> None:
        self._seen: dict[int, tuple[weakref.ref, int, int]] = {}

    def __call__(self, idx: np.ndarray) -> tuple[int, int]:
        if idx.size == 0:
            return 0, -1
        hit = self._seen.get(id(idx))
        if hit is not None and hit[0]() is idx:
            return hit[1], hit[2]
        lo, hi = index_range(idx)
        if not idx.flags.writeable:
            self._seen[id(idx)] = (weakref.ref(idx), lo, hi)
        return lo, hi


def index_range(idx: np.ndarray) -> tuple[int, int]:
    """(min, max) of an integer index array, (0, -1) when empty."""
    if idx.size == 0:
        return 0, -1
    return int(idx.min()), int(idx.max())


def _n(k: int, word: str) -> str:
    return f"{k} {word}{'' if k == 1 else 's'}"


@dataclass(frozen=True)
class Network:
    """A spiking network at one stage of lowering.

    ``dt`` is the time step in ms; ``steps`` the run length in steps (``duration`` in
    ms for the float stage is ``steps * dt``). ``target`` names the target a fixed
    network was lowered for. ``attrs`` holds JSON-serialisable pass results that do
    not change the graph (partition, placement, quantisation scales).
    """

    name: str
    dt: float
    steps: int
    populations: tuple = ()
    sources: tuple = ()
    projections: tuple = ()
    probes: tuple[Probe, ...] = ()
    stage: str = "float"
    target: str | None = None
    attrs: Mapping[str, Any] = field(default_factory=dict)
    loc: Loc = field(default_factory=Loc)
    #: the index ranges :meth:`check` has scanned, shared by every network derived from this one
    #: with :meth:`with_` (its arrays are the same frozen arrays): a network checked by its
    #: frontend and after every pass scans each array once. Not data: never saved or compared.
    index_ranges: "IndexRanges" = field(default_factory=lambda: IndexRanges(), repr=False, compare=False,
                                        metadata={"memo": True})

    def __post_init__(self):
        object.__setattr__(self, "populations", tuple(self.populations))
        object.__setattr__(self, "sources", tuple(self.sources))
        object.__setattr__(self, "projections", tuple(self.projections))
        object.__setattr__(self, "probes", tuple(self.probes))

    def __repr__(self) -> str:
        relays = self.n_relay_neurons
        neurons = f"{self.n_neurons - relays} neurons" + (f" + {relays} relay neurons" if relays else "")
        target = f" for {self.target}" if self.target else ""
        return (f"Network({self.name!r}, {self.stage} stage{target}, dt={self.dt:g} ms, {self.steps} steps: "
                f"{_n(len(self.populations), 'population')} ({neurons}), {_n(len(self.sources), 'source')}, "
                f"{_n(len(self.projections), 'projection')} ({self.n_synapses} synapses))")

    # --- lookup -----------------------------------------------------------------
    def node(self, name: str):
        for n in self.nodes():
            if n.name == name:
                return n
        raise KeyError(name)

    def nodes(self) -> Iterator:
        yield from self.populations
        yield from self.sources

    def size_of(self, name: str) -> int:
        return self.node(name).size

    @property
    def input_ports(self) -> tuple:
        """The sources whose spikes are given at run time, in network order."""
        return tuple(s for s in self.sources if getattr(s, "input_port", False))

    @property
    def n_neurons(self) -> int:
        return sum(p.size for p in self.populations)

    @property
    def relay_populations(self) -> tuple[str, ...]:
        """Names of the populations the ``delays`` pass added to realise long delays: the
        compiler's, not the user's; ``snncc run`` and ``verify`` leave them out."""
        names = (self.attrs.get("delays") or {}).get("relay_populations") or ()
        return tuple(n for n in names if isinstance(n, str))

    @property
    def n_relay_neurons(self) -> int:
        relays = set(self.relay_populations)
        return sum(p.size for p in self.populations if p.name in relays)

    @property
    def n_synapses(self) -> int:
        return sum(p.n_synapses for p in self.projections)

    def offsets(self) -> tuple[dict[str, int], int, int]:
        """Global neuron numbering: (first index of each population and source,
        number of neurons, neurons plus source neurons). Populations come first, in
        network order, then sources - the order every engine and image uses."""
        offsets, off = {}, 0
        for p in self.populations:
            offsets[p.name] = off
            off += p.size
        n_neurons = off
        for s in self.sources:
            offsets[s.name] = off
            off += s.size
        return offsets, n_neurons, off

    def with_(self, **changes) -> "Network":
        return replace(self, **changes)

    def check_finite(self) -> None:
        """Refuse NaN or infinity anywhere in the network's float values (parameters, weights,
        delays, spike times, plasticity constants), naming the node, the value and its index.
        Frontends and the IR loader call it: a NaN must never reach a pass that could drop it."""
        from ..fmt import num
        if not np.isfinite(self.dt):
            raise SnnccError(f"network '{self.name}': dt is {num(self.dt)}; snncc needs finite numbers",
                             self.loc)
        kinds = (("population", self.populations), ("source", self.sources), ("projection", self.projections))
        for kind, group in kinds:
            for n in group:
                arrays = {}
                for attr in ("params", "coef"):
                    arrays.update({k: v for k, v in (getattr(n, attr, None) or {}).items()})
                for attr in ("v_init", "times", "weight", "delay"):
                    if getattr(n, attr, None) is not None:
                        arrays[attr] = getattr(n, attr)
                rule = getattr(n, "plasticity", None)
                if rule is not None:
                    arrays.update({k: np.asarray(getattr(rule, k)) for k in
                                   ("tau_plus", "tau_minus", "A_plus", "A_minus", "w_min", "w_max")})
                for key, arr in arrays.items():
                    a = np.asarray(arr)
                    if a.dtype.kind != "f":
                        continue
                    bad = ~np.isfinite(a)
                    if bad.any():
                        k = int(np.flatnonzero(bad.ravel())[0]) if a.ndim else 0
                        item = {"population": "neuron", "source": "spike", "projection": "synapse"}[kind]
                        at = f" of {item} {k}" if a.ndim else ""
                        raise SnnccError(f"{kind} '{n.name}': {key}{at} is {num(a.ravel()[k])}; snncc needs "
                                         "finite numbers", n.loc)

    def check(self) -> None:
        """Structural invariants every stage keeps; raises SnnccError naming the node."""
        index_range_of = self.index_ranges
        pop_t, src_t, prj_t = STAGES[self.stage]
        limit = MAX_NAME_CHARS if self.stage == "float" else DERIVED_NAME_CHARS
        check_name(self.name, "network", self.loc, limit)
        seen: set[str] = set()
        for what, group in (("population", self.populations), ("spike source", self.sources),
                            ("projection", self.projections)):
            for n in group:
                check_name(n.name, what, n.loc, limit)
        for n in list(self.populations) + list(self.sources) + list(self.projections):
            if n.name in seen:
                raise SnnccError(f"duplicate name '{n.name}'", n.loc)
            seen.add(n.name)
        for group, types in ((self.populations, pop_t), (self.sources, src_t), (self.projections, prj_t)):
            for n in group:
                if not isinstance(n, types):
                    raise SnnccError(
                        f"internal: {type(n).__name__} '{n.name}' in a {self.stage}-stage network", n.loc)
        sizes = {n.name: n.size for n in self.nodes()}
        for prj in self.projections:
            for end, idx in (("pre", prj.pre_idx), ("post", prj.post_idx)):
                ref = getattr(prj, end)
                if ref not in sizes:
                    raise SnnccError(f"projection '{prj.name}': unknown {end} population '{ref}'", prj.loc)
                lo, hi = index_range_of(idx)
                if idx.size and (lo < 0 or hi >= sizes[ref]):
                    raise SnnccError(
                        f"projection '{prj.name}': {end} index {hi if hi >= sizes[ref] else lo} out of range for "
                        f"'{ref}' of size {sizes[ref]}", prj.loc)
            if prj.post not in {p.name for p in self.populations}:
                raise SnnccError(f"projection '{prj.name}': post '{prj.post}' is a spike source", prj.loc)
            n = prj.pre_idx.shape[0]
            if not (prj.post_idx.shape[0] == prj.weight.shape[0] == prj.delay.shape[0] == n):
                raise SnnccError(f"projection '{prj.name}': synapse arrays differ in length", prj.loc)
        for pr in self.probes:
            if pr.target not in sizes:
                raise SnnccError(f"probe of '{pr.variable}': unknown population '{pr.target}'", pr.loc)
