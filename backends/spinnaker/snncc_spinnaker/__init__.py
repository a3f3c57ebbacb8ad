"""snncc backend for SpiNNaker: sPyNNaker 7.4.1 through a generated PyNN script.

Registered as target ``spinnaker`` (entry-point group ``snncc.targets``); see docs/spinnaker.md.
"""
from .limits import LIMITS

__all__ = ["LIMITS"]
