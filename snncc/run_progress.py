"""Progress of a long run on stderr, without a terminal library.

On a terminal: one line, rewritten at most ten times a second, with the steps done, the
steps per second, the spikes so far and the time left. Otherwise (a log file, a pipe,
CI): one plain line per phase that took at least ``min_seconds``.
"""
from __future__ import annotations

import sys
import time


def _si(x: float) -> str:
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= div:
            return f"{x / div:.3g}{unit}"
    return f"{x:.3g}"


class RunReport:
    """The engine's ``report`` (``phase`` and ``steps``) and a ``progress(done)`` callable for
    target runners."""

    def __init__(self, total: int, stream=None, tty: bool | None = None, min_seconds: float = 1.0):
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.min_seconds = min_seconds
        self.t0 = time.perf_counter()
        self.t_steps = None
        self.shown = 0.0
        self.width = 0
        self.spikes = 0

    def __call__(self, done: int) -> None:
        self.steps(done, self.total, None)

    def steps(self, done: int, total: int, spikes: int | None) -> None:
        now = time.perf_counter()
        if self.t_steps is None:
            self.t_steps = now
        if spikes is not None:
            self.spikes = spikes
        if not self.tty or (now - self.shown < 0.1 and done < total):
            return
        self.shown = now
        took = now - self.t_steps
        rate = done / took if took > 0 else 0.0
        left = (total - done) / rate if rate > 0 else 0.0
        pct = 100.0 * done / total if total else 100.0
        line = f"simulating {pct:3.0f}%  {done}/{total} steps  {_si(rate)} steps/s"
        if spikes is not None:
            line += f"  {self.spikes:,} spikes"
        line += f"  {left:.1f} s left" if done < total else ""
        self.stream.write("\r" + line.ljust(self.width))
        self.stream.flush()
        self.width = len(line)

    def phase(self, name: str, seconds: float) -> None:
        """A phase ended: ``setup``, ``simulate`` or ``write``."""
        self._clear()
        if self.tty or seconds < self.min_seconds:
            return
        text = f"{name}: {seconds:.2f} s"
        if name == "simulate" and seconds > 0:
            text += f" ({_si(self.total / seconds)} steps/s, {self.spikes:,} spikes)"
        print(text, file=self.stream, flush=True)

    def close(self) -> None:
        self._clear()

    def _clear(self) -> None:
        if self.tty and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
            self.width = 0
