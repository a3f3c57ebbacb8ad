"""The graph IR: nodes per lowering stage, the Network container, (de)serialisation."""
from .network import STAGES, Network
from .nodes import (
    MODEL_PARAMS, MODELS, RECEPTORS, STDP, FixedPopulation, FixedProjection, Population, Probe,
    Projection, SpikeSource, StepPopulation, StepProjection, StepSource, frozen_array,
)
from .serialize import load, save

__all__ = [
    "MODELS", "MODEL_PARAMS", "RECEPTORS", "STAGES", "STDP", "FixedPopulation", "FixedProjection",
    "Network", "Population", "Probe", "Projection", "SpikeSource", "StepPopulation",
    "StepProjection", "StepSource", "frozen_array", "load", "save",
]
