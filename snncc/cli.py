"""The ``snncc`` command line: compile | run | upload | verify | report | targets.

Exit codes: 0 ok, 1 verification failed, 2 bad input (with a message, never a traceback).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

from . import __version__
from .errors import SnnccError, printable

EXAMPLES = {
    "compile": """
        snncc compile examples/cuba.yaml --target reference -o build/cuba
        snncc compile examples/synfire.yaml --target fpga -o build/synfire
        snncc compile examples/tiny.yaml --target fpga --bitstream --board icebreaker -o build/tiny
        snncc compile examples/cuba.yaml --target reference -o build/cuba --time-passes --dump-ir-after discretise
        snncc compile examples/pynn/synfire.py --target fpga -o build/synfire --script-timeout 60""",
    "run": """
        snncc run examples/tiny.yaml --steps 200 -o spikes.npz --plot raster.png
        snncc run build/synfire --port sim          (on the target: simulated FPGA board, Lava, ...)
        snncc run build/synfire --refsim            (the target's bit-exact kernel in the reference simulator)""",
    "upload": """
        snncc upload build/synfire --port sim
        snncc upload build/synfire --port /dev/ttyUSB1 --baud 1000000""",
    "verify": """
        snncc verify build/synfire                 (run on the target, compare with its kernel)
        snncc verify expected.npz actual.npz        (compare two rasters)""",
    "report": """
        snncc report build/cuba
        snncc report build/cuba --json""",
    "targets": """
        snncc targets
        snncc targets --json""",
}


def _parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="snncc", description="Compile spiking neural networks for neuromorphic hardware.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  snncc compile examples/cuba.yaml --target reference -o build/cuba\n"
               "  snncc run build/cuba --plot raster.png\n\n"
               "exit codes: 0 ok, 1 verification failed, 2 bad input")
    top.add_argument("--version", action="version", version=f"snncc {__version__}")
    sub = top.add_subparsers(dest="command", metavar="COMMAND")

    def cmd(name, help_, note=""):
        p = sub.add_parser(name, help=help_, description=help_ + ("\n" + note if note else ""),
                           formatter_class=argparse.RawDescriptionHelpFormatter,
                           epilog="examples:" + textwrap.dedent(EXAMPLES[name]))
        p.add_argument("--json", action="store_true", help="print a JSON result for scripts")
        p.add_argument("--memory-limit", metavar="SIZE", help="memory snncc may plan to use, e.g. 16G "
                       "(default: 80%% of RAM; also SNNCC_MEMORY_LIMIT); bigger models are refused")
        return p

    p = cmd("compile", "compile a model (YAML, NIR, PyNN script, IR) for a target into a build directory",
            SCRIPT_NOTE)
    p.add_argument("model", help="model file: .yaml, .nir/.h5, .py (PyNN script) or an IR directory")
    p.add_argument("--target", "-t", required=True, help="target name (see `snncc targets`)")
    p.add_argument("-o", "--output", required=True,
                   help="build directory to write (replaced as a whole; a failed compile leaves none there)")
    p.add_argument("-O", "--option", action="append", default=[], metavar="KEY=VALUE",
                   help="target option (see `snncc targets`)")
    p.add_argument("--bitstream", action="store_true", help="fpga: also build an FPGA bitstream")
    p.add_argument("--board", help="fpga: board to build the bitstream for (icebreaker)")
    p.add_argument("--dt", type=float, help="time step in ms for NIR models")
    p.add_argument("--nir-convention", choices=["snntorch", "rockpool", "sinabs", "norse", "exact"],
                   help="how the NIR file's exporter hid dt")
    _external_files_arg(p)
    _script_args(p)
    p.add_argument("--time-passes", action="store_true", help="print how long each pass took")
    p.add_argument("--dump-ir-after", action="append", default=[], metavar="PASS",
                   help="save the IR after PASS into BUILD/ir-after-PASS")

    p = cmd("run", "run a model or build and write its spike raster", SCRIPT_NOTE + "\n" + BUILD_NOTE)
    p.add_argument("model", help="model file or build directory")
    p.add_argument("--steps", type=int, help="steps to run (default: the model's run length)")
    p.add_argument("-o", "--output", help="write the raster (.npz, see docs/raster-format.md)")
    p.add_argument("--plot", metavar="PNG", help="draw a raster plot")
    p.add_argument("--refsim", action="store_true",
                   help="run a build in the reference simulator with its target's kernel")
    p.add_argument("--strict", action="store_true", help="integer overflow is an error, not a wrap")
    _external_files_arg(p)
    _script_args(p)
    _device_args(p)

    p = cmd("upload", "upload a build to a board")
    p.add_argument("build", help="build directory")
    _device_args(p)

    p = cmd("verify", "check a target's result against its bit-exact kernel, or compare two rasters",
            BUILD_NOTE)
    p.add_argument("build", help="build directory, or a raster .npz (expected)")
    p.add_argument("actual", nargs="?", help="raster .npz to compare with (actual)")
    p.add_argument("--steps", type=int, help="steps to run (default: the model's run length)")
    _device_args(p)

    p = cmd("report", "print a build's report (passes, mapping, resources)")
    p.add_argument("build", help="build directory, or the <outdir>.report.json of a failed compile")

    cmd("targets", "list installed targets and their limits")
    return top


#: said by `snncc compile --help` and `snncc run --help`: a .py model is code
SCRIPT_NOTE = """
A .py model is a PyNN script, and snncc runs it: compiling (or running) a script
executes whatever code it holds, exactly as running it with PyNN would. Compile only
scripts you would run. It runs in a child process under --script-timeout and
--memory-limit; a script that fails, hangs or ends its process is an error (exit 2)."""
BUILD_NOTE = """
Running a spinnaker build (snncc run BUILD, snncc verify BUILD) executes the build's
generated PyNN script, pynn/run.py, with the simulator -O simulator=... names: run
only builds you trust, as you would any Python program."""


def _script_args(p):
    p.add_argument("--script-timeout", type=float, metavar="SECONDS",
                   help="PyNN script: seconds it may run before snncc stops it (default 600)")


def _external_files_arg(p):
    p.add_argument("--allow-external-files", action="store_true",
                   help="YAML models: let {file: ...} read data files outside the model's folder "
                        "(refused by default; see docs/yaml-format.md)")


def _frontend_options(args) -> dict[str, Any]:
    out: dict[str, Any] = {"allow_external_files": True} if getattr(args, "allow_external_files", False) else {}
    for key in ("script_timeout",):    # PyNN scripts
        if getattr(args, key, None) is not None:
            out[key] = getattr(args, key)
    return out


def _device_args(p):
    p.add_argument("--port", help="serial port of the board, or 'sim' for the simulated board")
    p.add_argument("--baud", type=int, help="UART baud rate")
    p.add_argument("--timeout", type=float, help="seconds to wait for the device or SDK")
    p.add_argument("-O", "--option", action="append", default=[], metavar="KEY=VALUE",
                   help="target run option, e.g. -O simulator=brian2 for a spinnaker build")


def _parse_options(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise SnnccError(f"-O {pair}: expected KEY=VALUE")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _device_options(args) -> dict[str, Any]:
    timeout = getattr(args, "timeout", None)
    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
        raise SnnccError(f"--timeout {timeout}: must be a positive number of seconds")
    out = _parse_options(getattr(args, "option", None) or [])
    out.update({k: getattr(args, k) for k in ("port", "baud", "timeout") if getattr(args, k, None) is not None})
    return out


def _print(obj, args, text: str | None = None):
    if getattr(args, "json", False):
        print(json.dumps(obj, indent=1, sort_keys=True, default=str))
    elif text is not None:
        print(text)


# ------------------------------------------------------------------------------- commands

def cmd_compile(args) -> int:
    from .compiler import compile_model
    options = _parse_options(args.option)
    if args.bitstream:
        options["bitstream"] = True
    if args.board:
        options["board"] = args.board
    frontend = {k: v for k, v in (("dt", args.dt), ("convention", args.nir_convention)) if v is not None}
    frontend.update(_frontend_options(args))
    timings: list[tuple[str, float]] = []
    build = compile_model(args.model, args.target, args.output, options,
                          dump_after=tuple(args.dump_ir_after),
                          on_pass=lambda n, s: timings.append((n, s)), frontend_options=frontend)
    rep = build.report()
    if args.time_passes and not args.json:
        for name, sec in timings:
            print(f"  {name:<14} {sec * 1000:9.1f} ms")
        print(f"  {'total':<14} {sum(s for _, s in timings) * 1000:9.1f} ms")
    net = rep.get("network", {})
    _print({"build": str(build.path), "target": build.target, "network": net,
            "pass_seconds": dict(timings)}, args,
           f"compiled {args.model} for {build.target}: {net.get('neurons')} neurons, "
           f"{net.get('synapses')} synapses -> {build.path}")
    return 0


def _load_runnable(path: str, args=None):
    from .build import is_build, load_build
    if is_build(path):
        return load_build(path), None
    from .frontends import load_model
    return None, load_model(path, **_frontend_options(args))


def _write(path: str, what: str, write) -> None:
    """``write(path)``; an output the user named but that cannot be written is a clean error."""
    try:
        write(path)
    except OSError as e:
        raise SnnccError(f"{printable(path)}: cannot write the {what}: {e.strerror or e}",
                         hint="choose a path in a folder you can write to") from None
    except ValueError as e:     # matplotlib: an extension it cannot draw
        raise SnnccError(f"{printable(path)}: cannot write the {what}: {e}") from None


def _progress(total: int, quiet: bool):
    """A rich progress bar on a TTY for long runs; a no-op otherwise."""
    if quiet or not sys.stderr.isatty() or total < 2000:
        return None, None
    from rich.progress import Progress
    prog = Progress(transient=True)
    task = prog.add_task("simulating", total=total)
    prog.start()
    return prog, (lambda done: prog.update(task, completed=done))


def cmd_run(args) -> int:
    from .refsim import simulate
    from .refsim.engine import kernel_for
    build, net = _load_runnable(args.model, args)
    if build is not None:
        from . import targets
        target = targets.get(build.target)
        steps = args.steps
        total = steps or build.network().steps
        prog, cb = _progress(total, args.json)
        try:
            if args.refsim or build.target == "reference":
                lowered = build.network()
                raster = simulate(lowered, steps=steps, kernel=kernel_for(lowered, args.strict), progress=cb)
            else:
                raster = target.run(build, steps, {**_device_options(args), "progress": cb})
        finally:
            if prog:
                prog.stop()
    else:
        prog, cb = _progress(args.steps or net.steps, args.json)
        try:
            raster = simulate(net, steps=args.steps, strict=args.strict, progress=cb)
        finally:
            if prog:
                prog.stop()
    if args.output:
        _write(args.output, "raster", raster.save)
    if args.plot:
        from .plot import raster_plot
        _write(args.plot, "raster plot", lambda path: raster_plot(raster, path))
    rates = {n: raster.rate(n) for n in raster.sizes}
    if args.json:
        _print({"source": raster.source, "steps": raster.steps, "dt_ms": raster.dt,
                "spikes": raster.n_spikes, "rates_hz": rates, "output": args.output, "plot": args.plot},
               args)
    else:
        print(f"ran {raster.steps} steps of {raster.dt:g} ms on {raster.source}: {raster.n_spikes} spikes")
        for n, r in rates.items():
            print(f"  {n:<20} {raster.sizes[n]:>7} neurons {r:10.2f} Hz")
        if args.output:
            print(f"raster written to {args.output}")
        if args.plot:
            print(f"raster plot written to {args.plot}")
    return 0


def cmd_upload(args) -> int:
    from . import targets
    from .build import load_build
    build = load_build(args.build)
    result = targets.get(build.target).upload(build, _device_options(args))
    _print(result, args, result.get("message", "uploaded"))
    return 0


def cmd_verify(args) -> int:
    from .refsim import Raster, simulate
    from .verify import compare
    if args.actual is not None:
        expected, actual = Raster.load(args.build), Raster.load(args.actual)
        names = (args.build, args.actual)
    else:
        from . import targets
        from .build import load_build
        build = load_build(args.build)
        target = targets.get(build.target)
        net = build.network()
        expected = simulate(net, steps=args.steps)
        actual = target.run(build, args.steps, _device_options(args))
        names = (f"{build.target} kernel", actual.source or build.target)
    cmp = compare(expected, actual)
    _print(cmp.to_json(), args, cmp.describe(*names))
    return 0 if cmp.equal else 1


def cmd_report(args) -> int:
    from .build import load_build, read_json
    from .report import check_report, print_report
    if Path(args.build).is_file() and args.build.endswith(".json"):  # a failed compile's report
        rep = read_json(Path(args.build), "report")
        check_report(rep, args.build)
    else:
        build = load_build(args.build)
        rep = build.report()
        check_report(rep, str(build.path / "report.json"))
    if args.json:
        _print(rep, args)
    else:
        print_report(rep)
    return 0


def cmd_targets(args) -> int:
    from . import targets
    rows = []
    for name, dist in targets.available().items():
        try:
            t = targets.get(name)
            rows.append({"name": name, "distribution": dist, "description": t.description,
                         "limits": t.limits.to_json(), "options": t.options,
                         "variants": {k: {"description": d, "limits": lim.to_json()}
                                      for k, (d, lim) in t.variants.items()}})
        except SnnccError as e:
            rows.append({"name": name, "distribution": dist, "error": str(e)})
    if args.json:
        _print(rows, args)
        return 0
    for r in rows:
        print(f"{r['name']}  ({r['distribution']})")
        if "error" in r:
            print(f"    unavailable: {r['error']}")
            continue
        print(f"    {r['description']}")
        lim = r["limits"]
        print("    limits: " + (", ".join(f"{k}={v}" for k, v in lim.items()) if lim else "none"))
        for k, v in r["variants"].items():
            lim = {key: val for key, val in v["limits"].items() if key != "extra"}
            print(f"    {k}: {v['description']}; " + ", ".join(f"{a}={b}" for a, b in lim.items()))
        for k, v in r["options"].items():
            print(f"    -O {k}=...  {v}")
    return 0


COMMANDS = {"compile": cmd_compile, "run": cmd_run, "upload": cmd_upload, "verify": cmd_verify,
            "report": cmd_report, "targets": cmd_targets}


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        from .resources import set_memory_limit
        set_memory_limit(getattr(args, "memory_limit", None))   # None: the default (RAM, env)
        return COMMANDS[args.command](args)
    except MemoryError as e:   # a size no check foresaw: still a clean refusal, with the figure
        from .resources import memory_error
        print(f"snncc: error: {memory_error(e).render()}", file=sys.stderr)
        return 2
    except SnnccError as e:
        # names and paths in a message come from files: never let them drive the terminal
        text = f"snncc: error: {e.render()}" if e.loc is None else e.render()
        print(printable(text, keep="\n\t"), file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("snncc: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug in snncc, not the user's input
        if os.environ.get("SNNCC_DEBUG"):
            raise
        print(f"snncc: internal error: {type(e).__name__}: {printable(str(e))}\n"
              "This is a bug in snncc; rerun with SNNCC_DEBUG=1 for the traceback and report it.",
              file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
