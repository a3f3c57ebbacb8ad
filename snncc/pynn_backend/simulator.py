"""State of the snncc PyNN backend: what a script builds, captured instead of simulated.

Like ``pyNN.mock`` this module provides the ``simulator`` object PyNN's common classes
expect (``ID``, ``state``). ``state`` additionally remembers every population and
projection in creation order with the script line that created it, and the total
simulated time, which :mod:`snncc.frontends.pynn` turns into the IR.
"""
from __future__ import annotations

import math
import os
import sys

from pyNN import common

name = "snncc"

_HERE = os.path.dirname(os.path.abspath(__file__))
_SNNCC = os.path.dirname(_HERE)


class ID(int, common.IDMixin):
    def __init__(self, n):
        int.__init__(n)
        common.IDMixin.__init__(self)


class State(common.control.BaseState):
    def __init__(self):
        common.control.BaseState.__init__(self)
        self.mpi_rank = 0
        self.num_processes = 1
        self.script: str | None = None
        self.dt = 0.1
        self.clear()

    def run(self, simtime):
        self.run_until(self.t + simtime)

    def run_until(self, tstop):
        self.run_loc = self.caller()
        if not math.isfinite(tstop):
            from ..errors import Loc, SnnccError
            raise SnnccError(f"run() to t = {tstop} ms: the time must be a finite number of ms", Loc(*self.run_loc))
        self.t = tstop
        self.running = True
        self.results = None

    def clear(self):
        self.recorders = set()
        self.id_counter = 0
        self.segment_counter = -1
        self.populations: list = []
        self.projections: list = []
        self.results = None      # (Network, Raster) once a script asks for data
        self.run_loc = None      # (file, line) of the last run()/run_until()
        self.reset()

    def reset(self):
        self.running = False
        self.t = 0
        self.t_start = 0
        self.segment_counter += 1
        self.results = None

    def caller(self) -> tuple[str | None, int | None]:
        """(file, line) of the user code that called into PyNN: the compiled script if
        it is on the stack, else the innermost frame outside PyNN and snncc."""
        f = sys._getframe(1)
        fallback = None
        while f is not None:
            fn = os.path.abspath(f.f_code.co_filename)
            if self.script is not None and fn == self.script:
                return fn, f.f_lineno
            if fallback is None and not (fn.startswith(_SNNCC) or "pyNN" in fn.split(os.sep)):
                fallback = (fn, f.f_lineno)
            f = f.f_back
        return fallback or (None, None)


state = State()
