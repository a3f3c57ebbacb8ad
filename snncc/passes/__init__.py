"""Lowering passes: one pass per module, and the pipeline that runs them."""
from .base import Pass, Pipeline, PipelineResult, Report
from .delays import Delays
from .discretise import Discretise
from .partition import Partition
from .pipeline import STANDARD_OPTIONS, standard_pipeline
from .place import Place
from .quantise import Quantise, quantise_weights
from .validate import Validate

__all__ = ["Delays", "Discretise", "Partition", "Pass", "Pipeline", "PipelineResult", "Place", "Quantise",
           "Report", "STANDARD_OPTIONS", "Validate", "quantise_weights", "standard_pipeline"]
