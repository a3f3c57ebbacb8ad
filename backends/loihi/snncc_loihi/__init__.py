"""snncc backend for Intel Loihi 2 through Lava (distribution ``snncc-loihi``)."""
from .limits import LIMITS

__all__ = ["LIMITS"]
