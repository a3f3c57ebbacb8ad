"""Shared pytest set-up."""
from __future__ import annotations

import os

# Long steps print progress lines on stderr after two seconds, so on a loaded machine any test
# of an exact stderr could see one: they are off for the whole session (child processes
# included) unless a test turns them on - tests/test_cli_output.py does, to check them.
os.environ["SNNCC_PROGRESS"] = "0"

# PyNN scripts run in a forked child by default. A forked child that ran a numba parallel loop
# was ended by numba's OpenMP layer with SIGTERM once this process had started numba's thread pool
# (stop 26's "killed by SIGTERM after Lava ran"); snncc now spawns after the pool started
# (pynn_process.numba_threads_started, tested in tests/test_pynn_hostile.py). The session still
# spawns, so that no test depends on what ran before it; the default (fork) is tested where it is set.
os.environ.setdefault("SNNCC_PYNN_START", "spawn")


def pytest_terminal_summary(terminalreporter):
    """How much of the documentation ran (tests/test_docs.py), so that it cannot fall to
    nothing unnoticed."""
    import sys
    mod = sys.modules.get("docsnippets")
    if mod is None:
        return
    c = mod.COUNTS
    terminalreporter.write_line(
        f"doc snippets: {c['blocks']} blocks executed ({c['commands']} commands), {c['illustrative']} "
        f"illustrative (not run), {c['inline']} inline commands checked")
