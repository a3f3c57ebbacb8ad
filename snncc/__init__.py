"""snncc - a compiler for spiking neural networks on neuromorphic hardware."""
from .errors import Loc, SnnccError

__version__ = "0.1.0"
__all__ = ["Loc", "SnnccError", "__version__"]
