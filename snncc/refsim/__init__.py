"""The reference simulator: a generic event engine plus one numerics kernel per target."""
from .engine import Wiring, kernel_for, simulate
from .kernel import EXC, INH, Kernel, OverflowInKernel, StateVar, saturate, wrap
from .raster import Raster

__all__ = ["EXC", "INH", "Kernel", "OverflowInKernel", "Raster", "StateVar", "Wiring", "kernel_for",
           "saturate", "simulate", "wrap"]
