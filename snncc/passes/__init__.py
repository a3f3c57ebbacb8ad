"""Lowering passes: one pass per module, and the pipeline that runs them."""
from .base import Pass, Pipeline, PipelineResult, Report
from .discretise import Discretise
from .validate import Validate

__all__ = ["Discretise", "Pass", "Pipeline", "PipelineResult", "Report", "Validate"]
