"""Shared pytest hooks."""
from __future__ import annotations


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
