"""``python -m fuzz.hostile``: run the hostile corpus, print the tables, write a JSON summary.

    python -m fuzz.hostile                                   # every case on every target
    python -m fuzz.hostile --targets fpga --cases 'inj_*'    # a selection
    python -m fuzz.hostile --fast                            # the subset `make test` runs

Exit status 1 when a run has a finding in a case not marked ``known``.
"""
from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from .corpus import CORPUS, TARGETS, load_corpus
from .runner import Options, markdown, run_all, summary, table


def _stop(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--targets", default=",".join(TARGETS), help="comma-separated targets (default: all)")
    ap.add_argument("--cases", help="comma-separated glob patterns of case names")
    ap.add_argument("--fast", action="store_true", help="only the fast subset (each case's 'fast' targets)")
    ap.add_argument("--jobs", type=int, default=1, help="runs in parallel (default 1)")
    ap.add_argument("--timeout", type=float, default=90.0, help="seconds per command (default 90)")
    ap.add_argument("--memory", type=int, default=4096, help="address-space limit per command in MiB")
    ap.add_argument("--no-post", action="store_true", help="skip the follow-up commands after a compile")
    ap.add_argument("--spinnaker-run", action="store_true",
                    help="run every spinnaker build's run.py on Brian2 (default: only injection cases)")
    ap.add_argument("--json", default="hostile-summary.json", help="where to write the JSON summary")
    ap.add_argument("--markdown", help="also write the tables as markdown (docs/reliability.md) to this file")
    ap.add_argument("--workdir", help="scratch directory (default: a temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep each run's scratch directory")
    ap.add_argument("--corpus", default=str(CORPUS), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    targets = tuple(t for t in a.targets.split(",") if t)
    bad = [t for t in targets if t not in TARGETS]
    if bad:
        ap.error(f"unknown target(s) {bad}; known: {', '.join(TARGETS)}")
    cases = load_corpus(Path(a.corpus), a.cases)
    signal.signal(signal.SIGTERM, _stop)      # a kill of the runner stops the command it runs
    tmp = tempfile.mkdtemp(prefix="snncc-hostile-", dir=a.workdir)
    try:
        opt = Options(workroot=Path(tmp), timeout=a.timeout, mem_mb=a.memory, keep=a.keep, post=not a.no_post,
                      spinnaker_run=a.spinnaker_run, fast=a.fast, log=lambda s: print(s, flush=True))
        results = run_all(cases, targets, opt, jobs=a.jobs, fast=a.fast)
    finally:
        if a.keep:
            print(f"scratch kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    s = summary(results, targets)
    s["command"] = "python -m fuzz.hostile " + " ".join(argv if argv is not None else sys.argv[1:])
    Path(a.json).write_text(json.dumps(s, indent=1, sort_keys=True) + "\n")
    print()
    print(table(s, targets))
    print(f"\nJSON summary: {a.json}")
    if a.markdown:
        Path(a.markdown).write_text(markdown(s, targets) + "\n")
    return 1 if s["failed_new"] else 0


if __name__ == "__main__":
    sys.exit(main())
