"""``make demo``: a target's whole path end to end (``python -m snncc.demo [MODEL] ...``).

The demo itself belongs to the target that has one (the fpga target's compiles an example,
uploads it to the simulated board and checks the raster read back against the reference
simulator: :mod:`snncc_fpga.demo`); this entry finds it through the target registry, so
the core imports no backend.
"""
from __future__ import annotations

import sys

from .errors import SnnccError

#: the target whose demo ``make demo`` runs
TARGET = "fpga"


def main(argv: list[str] | None = None) -> int:
    from . import targets
    try:
        demo = targets.get(TARGET).demo
    except SnnccError as e:
        print(f"demo: error: {e.render()}", file=sys.stderr)
        return e.exit_code
    return demo(argv)


if __name__ == "__main__":
    sys.exit(main())
