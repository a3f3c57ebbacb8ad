"""The standard lowering pipeline, composed from what a target's limits require.

A target's ``pipeline(options)`` can simply return ``standard_pipeline(self, options)``
and add ``STANDARD_OPTIONS`` to its ``options`` so ``snncc compile -O key=value``
reaches the passes.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import SnnccError
from .base import Pass
from .delays import Delays
from .discretise import Discretise
from .partition import Partition
from .place import Place
from .quantise import Quantise
from .validate import Validate

if TYPE_CHECKING:
    from ..targets import Target

#: ``-O`` names the standard passes accept, with their help text
STANDARD_OPTIONS: dict[str, str] = {
    "per_channel": "quantise: one weight scale per post neuron instead of per population (true/false)",
    "clip_percentile": "quantise: scale to this percentile of |weight| and clip above it (e.g. 99.9)",
    "rounding": "quantise: nearest or stochastic",
    "seed": "quantise: seed of stochastic rounding",
    "relays": "delays: realise over-long delays with relay neurons (true) or refuse (false)",
    "partition": "partition: greedy (default) or contiguous (even split, for comparison)",
}

_PASS_OF = {"per_channel": Quantise, "clip_percentile": Quantise, "rounding": Quantise, "seed": Quantise,
            "relays": Delays, "partition": Partition}


def _kwargs(cls, options: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in options.items():
        if _PASS_OF.get(key) is cls:
            out["method" if key == "partition" else key] = value
    return out


def standard_pipeline(target: "Target", options: dict[str, Any] | None = None) -> list[Pass]:
    """[Validate, Discretise, Delays, Partition, Place, Quantise], each only where
    ``target`` needs it: Delays with ``limits.max_delay_steps``, Partition with a
    per-core limit, Place with cores per chip, Quantise with a ``weight_format``."""
    options = dict(options or {})
    lim = target.limits
    passes: list[Pass] = [Validate(), Discretise()]
    if lim.max_delay_steps is not None:
        passes.append(Delays(**_kwargs(Delays, options)))
    if any(v is not None for v in (lim.neurons_per_core, lim.fan_in_per_core, lim.synapses_per_core)):
        passes.append(Partition(**_kwargs(Partition, options)))
        if lim.cores_per_chip is not None:
            passes.append(Place())
    if getattr(target, "weight_format", None) is not None:
        passes.append(Quantise(**_kwargs(Quantise, options)))
    used = {type(p) for p in passes}
    for key in options:
        cls = _PASS_OF.get(key)
        if cls is not None and cls not in used:
            raise SnnccError(f"option '{key}' applies to the {cls.name} pass, which the {target.name} "
                             "pipeline does not run")
    return passes
