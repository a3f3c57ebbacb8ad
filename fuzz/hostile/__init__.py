"""The hostile-input corpus of issue 15 and its runner.

``tests/hostile/corpus/`` holds one directory per case (input files and a ``case.yaml``
manifest: the defect class it attacks, what it attacks, the expected outcome). The runner
(``python -m fuzz.hostile``) runs every case on every target as subprocesses under a time
and a memory limit and counts what issue 15 forbids: code executed (every injection
payload tries to create a marker file), hangs, tracebacks, exit 3, unexpected exit codes,
refusals that do not name the object/value/limit, leaked warnings, files left at -o after
a failure, and silent miscompiles (``snncc verify --against-float``, snncc/fidelity.py).
"""
from .corpus import CLASSES, CORPUS, TARGETS, Case, load_corpus
from .runner import CATEGORIES, Options, RunResult, run_all, run_case, summary, table

__all__ = ["CATEGORIES", "CLASSES", "CORPUS", "Case", "Options", "RunResult", "TARGETS", "load_corpus",
           "run_all", "run_case", "summary", "table"]
