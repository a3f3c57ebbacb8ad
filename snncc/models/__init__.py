"""Network generators for standard benchmark models, as float-stage :class:`~snncc.ir.Network`s.

* :func:`cuba` - the Vogels & Abbott (2005) CUBA benchmark as in Brian2's example
  (4000 LIF neurons, 2 % connectivity, self-sustained).
* :func:`brunel` - Brunel (2000) sparse E/I network of delta-synapse LIF neurons
  (12,500 neurons, 15.6 M synapses at ``scale=1``).
* :func:`potjans_diesmann` - the Potjans & Diesmann (2014) cortical microcircuit
  (8 populations, 77,169 neurons, ~0.3 billion synapses at ``scale=1``).

Generation is vectorised numpy with int32 indices, so the full microcircuit builds
in one pass within a few GB.
"""
from .brunel import brunel
from .cuba import cuba
from .microcircuit import PD14, potjans_diesmann

__all__ = ["PD14", "brunel", "cuba", "potjans_diesmann"]
