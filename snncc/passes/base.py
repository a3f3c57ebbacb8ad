"""Passes and the pipeline that runs them.

A pass is a frozen dataclass (its options are its fields) with a ``name``, the
facts it ``requires`` and ``provides``, and a pure :meth:`Pass.run`
``(network, target) -> (network, Report)``. The pipeline checks each pass's
requirements against what earlier passes provided, verifies the graph after every
pass, and can time passes and dump the IR after any of them.

Tables computed from the IR that several passes share (the incoming-synapse table of
partition and place) live in the pipeline's :class:`Analyses`, as in MLIR's analysis
manager: a pass that declares ``uses_analyses`` gets the pipeline's cache as
``run(net, target, analyses=...)``; nothing is cached between compiles.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import InternalError, SnnccError
from ..ir import Network, save
from ..progress import phase

if TYPE_CHECKING:
    from ..targets import Target


@dataclass
class Report:
    """What a pass did: key figures, tables of rows, and how long it took.

    ``warnings`` are what a user must hear about even on success (an approximation the
    target forced); ``snncc compile`` prints them to stderr."""

    pass_name: str
    summary: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


class Analyses:
    """Results computed from a network that the passes of one pipeline run share.

    An entry is valid while the network's ``nodes`` it was computed from are the same
    objects (IR nodes are immutable, so the same nodes mean the same synapses) and its
    ``facts`` are equal. Holding the nodes also keeps their ids from being reused."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[tuple, Any, Any]] = {}

    def get(self, name: str, compute, nodes: tuple, facts: Any = None) -> Any:
        """The entry ``name`` for ``nodes`` and ``facts``, from ``compute()`` when there is none."""
        hit = self._entries.get(name)
        if hit is not None and len(hit[0]) == len(nodes) and all(
                a is b for a, b in zip(hit[0], nodes)) and hit[1] == facts:
            return hit[2]
        self.release(name)      # before computing: the old table's memory is not held twice
        value = compute()
        self._entries[name] = (tuple(nodes), facts, value)
        return value

    def release(self, name: str) -> None:
        """Drop an entry (the last pass that needs it calls this)."""
        self._entries.pop(name, None)

    def clear(self) -> None:
        self._entries.clear()


@dataclass(frozen=True)
class Pass:
    name: ClassVar[str]
    requires: ClassVar[tuple[str, ...]] = ()
    provides: ClassVar[tuple[str, ...]] = ()
    #: True: :meth:`run` takes the pipeline's :class:`Analyses` as ``analyses=``
    uses_analyses: ClassVar[bool] = False

    def run(self, net: Network, target: "Target") -> tuple[Network, Report]:  # pragma: no cover
        raise NotImplementedError

    def options(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class PipelineResult:
    network: Network
    reports: list[Report]
    facts: set[str]


class Pipeline:
    """Runs passes in order with verification, timing and IR dumps."""

    def __init__(self, passes: list[Pass], *, dump_after: tuple[str, ...] = (),
                 dump_dir: Path | None = None, on_pass=None, dump_base: Path | None = None):
        self.passes = list(passes)
        self.dump_after = set(dump_after)
        self.dump_dir = dump_dir
        self.dump_base = dump_base  # locations in dumps relative to this folder (the model's)
        self.on_pass = on_pass  # callback(pass_name, seconds) for --time-passes
        names = {p.name for p in self.passes}
        unknown = self.dump_after - names
        if unknown:
            raise SnnccError(f"--dump-ir-after: no pass named '{sorted(unknown)[0]}' in this pipeline "
                             f"(passes: {', '.join(p.name for p in self.passes)})")

    def run(self, net: Network, target: "Target") -> PipelineResult:
        analyses = Analyses()
        try:
            return self._run(net, target, analyses)
        finally:
            analyses.clear()     # what the passes shared lives one compile

    def _run(self, net: Network, target: "Target", analyses: Analyses) -> PipelineResult:
        facts = {net.stage}
        reports = []
        for p in self.passes:
            missing = [r for r in p.requires if r not in facts]
            if missing:
                raise InternalError(f"pass '{p.name}' requires {', '.join(missing)}, which no "
                                    f"earlier pass of the {target.name} pipeline provides")
            t0 = time.perf_counter()
            try:
                with phase(f"{p.name} pass"):
                    net, report = (p.run(net, target, analyses=analyses) if p.uses_analyses
                                   else p.run(net, target))
                    net.check()
            except SnnccError as e:
                e.reports = reports  # what ran before the failure, for the written report
                raise
            report.seconds = time.perf_counter() - t0
            facts.update(p.provides)
            facts.add(net.stage)
            reports.append(report)
            if self.on_pass:
                self.on_pass(p.name, report.seconds)
            if p.name in self.dump_after and self.dump_dir is not None:
                save(net, Path(self.dump_dir) / f"ir-after-{p.name}", base=self.dump_base)
        return PipelineResult(net, reports, facts)
