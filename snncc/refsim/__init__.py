"""The reference simulator: a generic event engine plus one numerics kernel per target.

``simulate(net)`` runs a network (float, step or fixed stage) and returns a :class:`Raster`;
a target's bit-exact arithmetic is a :class:`Kernel` (docs/numerics.md).
"""
from .engine import kernel_for, simulate
from .kernel import EXC, INH, Kernel, OverflowInKernel, StateVar, saturate, wrap
from .raster import Raster
from .sink import RasterSummary, RasterWriter
from .wiring import Wiring

__all__ = ["EXC", "INH", "Kernel", "OverflowInKernel", "Raster", "RasterSummary", "RasterWriter", "StateVar",
           "Wiring", "kernel_for", "saturate", "simulate", "wrap"]
