"""What a long step is doing, on stderr: ``with phase("sPyNNaker mapping check"): ...``.

A step that ends within :data:`SHOW_AFTER` seconds prints nothing. One that takes longer
shows, on a terminal, a transient rich line (spinner, what, a bar when the total is known,
elapsed time) and, anywhere else (a log file, a pipe, CI), one plain line when it has run
for SHOW_AFTER seconds; either way a closing line says how long it took::

    snncc: sPyNNaker mapping check ...
    snncc: sPyNNaker mapping check: done in 16.4 s

The library is silent unless :func:`enable` was called: the ``snncc`` command enables it,
so do scripts that want the same lines (``snncc.progress.enable()``). ``SNNCC_PROGRESS=0``
silences it, ``=1`` enables it; ``SNNCC_PROGRESS_AFTER=0`` shows every phase, however
short. Any code may open a phase (passes, runners, backends); it costs a timer thread and
nothing else when disabled.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from contextlib import contextmanager
from typing import Iterator, TextIO

#: seconds a step may take before it says what it is doing
SHOW_AFTER = 2.0

_enabled: bool | None = None
#: the phase whose rich line is on the terminal (rich shows one at a time; a phase inside
#: it prints plain lines, which rich keeps above its line)
_live: "Phase | None" = None


def enable(on: bool = True) -> bool:
    """Turn progress lines on (or off); returns the previous setting."""
    global _enabled
    before = enabled()
    _enabled = on
    return before


def _show_after() -> float:
    """:data:`SHOW_AFTER`, or ``SNNCC_PROGRESS_AFTER`` seconds when that is set (tests and
    logs that want every phase's lines)."""
    try:
        return max(0.0, float(os.environ["SNNCC_PROGRESS_AFTER"]))
    except (KeyError, ValueError):
        return SHOW_AFTER


def enabled() -> bool:
    env = os.environ.get("SNNCC_PROGRESS")
    if env in ("0", "1"):
        return env == "1"
    return bool(_enabled)


class Phase:
    """One step's progress; :func:`phase` makes one. ``update(done, total)`` moves its bar."""

    def __init__(self, what: str, total: int | None = None, stream: TextIO | None = None,
                 tty: bool | None = None, after: float | None = None, show: bool | None = None):
        self.what, self.total, self.done = what, total, 0
        self.stream = stream if stream is not None else sys.stderr
        self.tty = _isatty(self.stream) if tty is None else tty
        self.after = _show_after() if after is None else after
        self.show = enabled() if show is None else show
        self.shown = False
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._rich = None
        self._task = None
        self.t0 = time.perf_counter()

    # --- life -------------------------------------------------------------------------
    def start(self) -> "Phase":
        self.t0 = time.perf_counter()
        if self.show:
            self._timer = threading.Timer(self.after, self._announce)
            self._timer.daemon = True
            self._timer.start()
        return self

    def update(self, done: int | None = None, total: int | None = None) -> None:
        with self._lock:
            if total is not None:
                self.total = total
            self.done = self.done + 1 if done is None else done
            if self._rich is not None:
                self._rich.update(self._task, completed=self.done, total=self.total)

    def finish(self, ok: bool = True) -> float:
        seconds = time.perf_counter() - self.t0
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            if self._rich is not None:
                self._rich.stop()
                self._rich = None
                _set_live(self, None)
            if self.show and ok and (self.shown or seconds >= self.after):
                self._line(f"{self.what}: done in {_seconds(seconds)}")
            self.shown = True      # a late timer must not announce a finished step
        return seconds

    # --- output -----------------------------------------------------------------------
    def _announce(self) -> None:
        with self._lock:
            if self.shown:
                return
            self.shown = True
            if self.tty and _set_live(None, self):
                self._start_rich()
            else:
                self._line(f"{self.what} ...")

    def _start_rich(self) -> None:
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                                   TimeElapsedColumn)
        cols = [SpinnerColumn(), TextColumn("snncc: {task.description}")]
        if self.total:
            cols += [BarColumn(), MofNCompleteColumn()]
        cols.append(TimeElapsedColumn())
        self._rich = Progress(*cols, console=Console(file=self.stream), transient=True)
        self._task = self._rich.add_task(self.what, total=self.total, completed=self.done)
        # the step started ``after`` seconds ago: count from then
        self._rich.tasks[0].start_time = self._rich.get_time() - (time.perf_counter() - self.t0)
        self._rich.start()

    def _line(self, text: str) -> None:
        try:
            print(f"snncc: {text}", file=self.stream, flush=True)
        except (OSError, ValueError):    # a closed stream: progress is never worth an error
            pass


@contextmanager
def phase(what: str, total: int | None = None, **kw) -> Iterator[Phase]:
    """A long step: silent if it ends within SHOW_AFTER seconds, else a line saying what it does
    and one saying how long it took (nothing more if it fails: its error says the rest)."""
    p = Phase(what, total, **kw).start()
    try:
        yield p
    except BaseException:
        p.finish(ok=False)
        raise
    p.finish()


_live_lock = threading.Lock()


def _set_live(old: "Phase | None", new: "Phase | None") -> bool:
    """Make ``new`` the live phase if ``old`` is (compare and swap); True if it did."""
    global _live
    with _live_lock:
        if _live is not old:
            return False
        _live = new
        return True


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _seconds(s: float) -> str:
    return f"{s:.1f} s" if s < 120 else f"{int(s // 60)} min {s % 60:.0f} s"
