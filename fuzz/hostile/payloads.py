"""Hostile strings and extreme values shared by the corpus generator and the fuzzers.

Every injection payload, if any code ever runs it, creates a marker file: the path in
``$SNNCC_HOSTILE_MARKER`` (the runner sets one per run), else ``/tmp/snncc-hostile-marker``.
The payloads avoid ``/`` so that they also work as file names.
"""
from __future__ import annotations

import math

MARKER_ENV = "SNNCC_HOSTILE_MARKER"
FALLBACK_MARKER = "/tmp/snncc-hostile-marker"
#: a value the runner puts in the environment; no output may ever show it
SECRET_ENV = "SNNCC_HOSTILE_SECRET"

#: one Python expression that creates the marker file (no '/', no quotes of either kind
#: unbalanced, so it survives being put inside any of the breakouts below)
CODE = ("__import__('pathlib').Path(__import__('os').environ.get('" + MARKER_ENV + "', "
        "chr(47).join(['', 'tmp', 'snncc-hostile-marker']))).touch()")

#: names that try to break out of every way a string can be pasted into Python, Verilog,
#: C++, JSON, a config file or a terminal; each runs CODE when pasted unescaped
INJECTIONS = {
    "docstring": f'x"""\n{CODE}\n"""',
    "docstring_single": f"x'''\n{CODE}\n'''",
    "double_quote": f'x" + {CODE} + "',
    "single_quote": f"x' + {CODE} + '",
    "format_braces": "{" + CODE + "}",
    "newline": f"x\n{CODE}\n#",
    "carriage_return": f'x"""\r{CODE}\r"""',
    "backslash": f'x\\\n{CODE}\n#',
    "comment_close": f"x */ {CODE} /* \n{CODE}\n",
    "json_break": 'x", "target": "../../etc", "x": "',
}

#: names that are odd but harmless data: every one must survive into reports unchanged
ODD_NAMES = {
    "unicode": "Ünïcødé-τ_m ≥ 𝛕 ☃ 日本",
    "rich_markup": "[bold red]ALARM[/bold red] [link=https://example.invalid]x[/link]",
    "long": "n" * 5000,
    "spaces": "  leading and trailing  ",
    "empty": "",
    "dots": "../../..",
    "percent": "%s %d %(x)s {0} {x}",
}

#: extreme numbers for any numeric field
EXTREME = [math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, -5e-324, 0.0, -0.0, 2.0 ** 63, 1e16,
           1e-300, 2 ** 31, -(2 ** 31) - 1, 10 ** 30]
