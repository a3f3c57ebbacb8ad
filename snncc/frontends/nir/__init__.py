"""NIR frontend: a NIR graph (HDF5 file or in-memory ``nir.NIRGraph``) to the float IR.

One module per job:

- :mod:`.reader`: ``nir.read`` of a file, in a child process under time and memory limits;
- :mod:`.graph`: the node kinds snncc compiles, snncc's metadata, nested graphs inlined,
  parameters as per-neuron arrays;
- :mod:`.conventions`: how each exporter hid its step ``dt`` (the table is there and in
  docs/nir.md), and which one wrote a file;
- :mod:`.linear`: Affine/Linear/Scale/Flatten/conv/pool/Delay nodes, a table from kind to handler;
- :mod:`.neurons`: LIF/LI/IF/Threshold/CubaLIF/CubaLI nodes, a table from kind to handler;
- :mod:`.importer`: the graph walk that builds the Network (:func:`from_graph`, :func:`load`).
"""
from .conventions import CONVENTIONS, DEFAULT_DT_S, infer_convention
from .graph import LINEAR, META, NEURONS, NEVER, SUPPORTED
from .importer import _MALFORMED, _Importer, from_graph, load
from .reader import READ_TIMEOUT_S, _nir, _read

__all__ = ["CONVENTIONS", "DEFAULT_DT_S", "LINEAR", "META", "NEURONS", "NEVER", "READ_TIMEOUT_S", "SUPPORTED",
           "from_graph", "infer_convention", "load"]
