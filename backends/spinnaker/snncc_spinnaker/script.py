"""The build's PyNN script as snncc runs it: snncc's installed copy, on the build's data.

A spinnaker build holds ``run.py`` and ``spynnaker_blocks.py`` (copies of this package's
template.py and connector.py) so that a user can run it with PyNN alone. snncc itself never
executes those copies: a build directory is data - it may come from someone else or have been
edited - so ``snncc run``, the sPyNNaker pass and the machine-data check load the template
installed with snncc and point it at the build's network files.

Stdlib only: the children that run a script load this file by path before anything else.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
TEMPLATE, CONNECTOR = PACKAGE / "template.py", PACKAGE / "connector.py"


def load_script(pynn_dir, name: str = "snncc_pynn_run"):
    """The installed template as a module whose network files are ``pynn_dir``'s."""
    spec = importlib.util.spec_from_file_location(name, TEMPLATE)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    mod.HERE = str(Path(pynn_dir).resolve())
    mod.GLUE = str(CONNECTOR)
    return mod
