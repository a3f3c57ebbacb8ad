"""The ``snncc`` command line: compile | run | upload | verify | encode | report | targets.

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
        snncc run build/synfire --refsim            (the target's bit-exact kernel in the reference simulator)
        snncc run build/digits --input spikes.npz -o out.npz     (input spikes for the input ports)
        snncc run build/digits --input batch/ -o out/            (a batch: one upload, a raster per input)
        snncc run build/digits --input image.npy --encode rate --seed 1   (values coded as spikes)
        snncc run build/synfire --port sim --realtime --duration 2 -o spikes.npz   (free-running board)
        snncc run build/stdp --port sim --save-weights build/stdp-trained   (keep the weights learned on chip)""",
    "upload": """
        snncc upload build/synfire --port sim
        snncc upload build/synfire --port /dev/ttyUSB1 --baud 1000000""",
    "verify": """
        snncc verify build/synfire                 (run on the target, compare with its kernel)
        snncc verify build/synfire --against-float (the target's kernel against the float model)
        snncc verify expected.npz actual.npz        (compare two rasters)
        snncc verify build/digits --input batch/    (on every input of a batch)""",
    "encode": """
        snncc encode image.npy --for build/digits -o spikes.npz            (rate code, seed 0)
        snncc encode images.npy --for build/digits --code latency -o batch/   (one file per row)
        snncc encode features.csv --steps 100 --code regular --max-rate 200 -o spikes.npz""",
    "report": """
        snncc report build/cuba
        snncc report build/cuba --json""",
    "targets": """
        snncc targets
        snncc targets --json""",
    "board": """
        snncc board list
        snncc board stop build/synfire              (or a pid; without one: every simulated board)""",
}


def _parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="snncc", description="Compile spiking neural networks for neuromorphic hardware.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  snncc compile examples/cuba.yaml --target reference -o build/cuba\n"
               "  snncc run build/cuba --plot raster.png\n\n"
               "exit codes: 0 ok, 1 verification failed, 2 bad input, 3 a bug in snncc")
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
    p.add_argument("--steps", type=_steps, help="steps to run (default: the model's run length)")
    p.add_argument("-o", "--output", help="write the raster (.npz, see docs/raster-format.md)")
    p.add_argument("--plot", metavar="PNG", help="draw a raster plot")
    p.add_argument("--refsim", action="store_true",
                   help="run a build in the reference simulator with its target's kernel")
    p.add_argument("--strict", action="store_true", help="integer overflow is an error, not a wrap")
    _input_args(p)
    p.add_argument("--relays", action="store_true",
                   help="keep the relay populations the compiler added for long delays in the raster "
                        "and summary (left out by default)")
    p.add_argument("--realtime", action="store_true",
                   help="a board build: free-running, the board steps on its own timer at the build's dt and "
                        "streams its spikes (targets that have it: fpga)")
    p.add_argument("--duration", type=float, metavar="S",
                   help="seconds of network time to run (instead of --steps)")
    p.add_argument("--save-weights", metavar="OUT_BUILD",
                   help="a build with plastic (STDP) projections: write a build whose plastic projections start "
                        "from the weights this run learned (read back from the board) to OUT_BUILD (the same "
                        "directory as the build replaces it), so the next run continues from them")
    _external_files_arg(p)
    _script_args(p)
    _device_args(p, "run")

    p = cmd("upload", "upload a build to a board")
    p.add_argument("build", help="build directory")
    _device_args(p, "upload")

    p = cmd("verify", "check a target's result against its bit-exact kernel, or compare two rasters "
                      "(the model's populations; relay neurons the compiler added are left out)", BUILD_NOTE)
    p.add_argument("build", help="build directory, or a raster .npz (expected)")
    p.add_argument("actual", nargs="?", help="raster .npz to compare with (actual)")
    p.add_argument("--steps", type=_steps, help="steps to run (default: the model's run length; with "
                   "--against-float the shorter of that and 1000)")
    p.add_argument("--allow-vacuous", action="store_true",
                   help="accept identical rasters that prove nothing (no spikes, or a population silent in "
                        "both); without it such a comparison exits 1")
    _input_args(p)
    p.add_argument("--against-float", action="store_true",
                   help="instead of running the target: compare the build's bit-exact kernel with the float "
                        "model it was compiled from, per population (rates, spike-count correlation), and "
                        "fail where they disagree beyond the quantisation error the compile report states "
                        "(docs/reliability.md)")
    p.add_argument("--model", help="with --against-float: the model file (default: the one named in the "
                                    "build's build.json)")
    p.add_argument("--dt", type=float, help="with --against-float: time step in ms for NIR models")
    p.add_argument("--nir-convention", choices=["snntorch", "rockpool", "sinabs", "norse", "exact"],
                   help="with --against-float: how the NIR file's exporter hid dt")
    _device_args(p, "verify")

    p = cmd("encode", "code an array of values (an image, a feature vector) as input spikes",
            "Writes a raster-format .npz for an input port (docs/inputs.md); a batch (one item per row\n"
            "of the array's first axis) becomes a directory of them.")
    p.add_argument("data", help="values to code: .npy (any shape), .csv or .txt; in [0, 1] after --scale")
    p.add_argument("-o", "--output", required=True, help="the .npz to write, or a directory for a batch")
    p.add_argument("--code", choices=CODES, default="rate", help="rate (Poisson, seeded), regular or latency "
                   "(time to first spike); default rate")
    p.add_argument("--for", dest="for_", metavar="BUILD", help="the build (or model file) whose input port "
                   "the spikes feed: its size, dt and run length")
    p.add_argument("--steps", type=int, help="steps to code (default: the build's run length)")
    p.add_argument("--dt", type=float, help="time step in ms without --for (default 1)")
    p.add_argument("--batch", action="store_true", help="the data's first axis indexes items (needed "
                   "without --for; with it, a batch is recognised by its shape)")
    _encoder_args(p)

    p = cmd("report", "print a build's report (passes, mapping, resources)")
    p.add_argument("build", help="build directory, or the <outdir>.report.json of a failed compile")

    cmd("targets", "list installed targets and their limits")

    p = cmd("board", "list or stop the simulated boards (--port sim) still running")
    p.add_argument("action", choices=("list", "stop"))
    p.add_argument("which", nargs="?", help="stop: a board's pid or build directory (default: all)")
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


def _steps(text: str) -> int:
    """--steps: a whole number of steps, 1 or more (a target would run -1 steps as none and say OK)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a whole number of steps") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"{n} steps: run at least 1 step")
    return n


def _script_args(p):
    p.add_argument("--script-timeout", type=float, metavar="SECONDS",
                   help="PyNN script: seconds it may run before snncc stops it (default 600)")


#: the codes of snncc.encode (kept here so `snncc --help` does not import numpy; a test checks they agree)
CODES = ("rate", "regular", "latency")


def _encoder_args(p):
    p.add_argument("--input-port", metavar="NAME", help="the input port the coded values feed (default: the "
                   "network's only one)")
    p.add_argument("--seed", type=int, default=0, help="rate code: seed of the Poisson draws (default 0)")
    p.add_argument("--max-rate", type=float, metavar="HZ", help="rate and regular codes: the rate of a value "
                   "of 1 (default: one spike per step)")
    p.add_argument("--scale", type=float, default=1.0, metavar="MAX", help="divide the values by MAX first "
                   "(e.g. 255 for 8-bit pixels; default 1)")
    p.add_argument("--threshold", type=float, default=0.0, help="latency code: values at or below it do not "
                   "fire (default 0)")


def _input_args(p):
    p.add_argument("--input", metavar="PATH", help="spikes for the network's input ports: a .npz raster, a "
                   ".npy of (step, index) rows, or a directory of them (a batch; -o then names a directory)")
    p.add_argument("--encode", choices=CODES, metavar="CODE", help="--input holds values to code as spikes: "
                   "rate, regular or latency (see snncc encode)")
    _encoder_args(p)


def _encoding(args):
    from .batch import Encoding
    if getattr(args, "encode", None) is None:
        given = [f for f, default in (("input_port", None), ("max_rate", None), ("seed", 0), ("scale", 1.0),
                                      ("threshold", 0.0)) if getattr(args, f, default) != default]
        if given:
            raise SnnccError(f"--{given[0].replace('_', '-')} applies to coded input (--encode CODE)",
                             hint="add --encode rate|regular|latency, or leave it out")
        return None
    if args.input is None:
        raise SnnccError("--encode codes the values of --input; give --input DATA")
    return Encoding(args.encode, args.seed, args.max_rate, args.scale, args.threshold, args.input_port)


def _external_files_arg(p):
    p.add_argument("--allow-external-files", action="store_true",
                   help="YAML models: let {file: ...} read data files outside the model's folder "
                        "(refused by default; see docs/yaml-format.md)")


def _frontend_options(args) -> dict[str, Any]:
    out: dict[str, Any] = {"allow_external_files": True} if getattr(args, "allow_external_files", False) else {}
    for key in ("script_timeout",):    # PyNN scripts
        if getattr(args, key, None) is not None:
            out[key] = getattr(args, key)
    if getattr(args, "json", False):
        out["script_stdout"] = "stderr"   # a script's prints must not break the JSON on stdout
    return out


def _device_args(p, command: str):
    p.add_argument("--port", help="fpga: serial port of the board, or 'sim' for the simulated board "
                   "(default: the port of the last upload); loihi: sim (Lava's simulator, default) or hw")
    p.add_argument("--baud", type=int, help="fpga: UART baud rate to open the port at (default: that of the "
                   "last upload, else the build's, -O baud at compile time); the port is then switched to "
                   "the rate the board's CAPS reports")
    p.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="seconds to wait: fpga, for each reply of the board (default 0.5); loihi and "
                        "spinnaker, for the whole run (default: loihi scales it with the run; spinnaker "
                        "waits as long as the run takes)")
    p.add_argument("-O", "--option", action="append", default=[], metavar="KEY=VALUE",
                   help=f"the build's target's {command} option, e.g. "
                        + ("-O force=true for an fpga build" if command == "upload"
                           else "-O simulator=brian2 for a spinnaker build")
                        + "; unknown keys are an error (`snncc targets` lists them)")


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


def _device_options(args, target, command: str) -> dict[str, Any]:
    """The ``-O`` options of ``command`` checked against ``target``'s declaration, plus the
    device flags (--port, --baud, --timeout) that were given."""
    timeout = getattr(args, "timeout", None)
    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
        raise SnnccError(f"--timeout {timeout}: must be a positive number of seconds")
    out = target.parse_options(_parse_options(getattr(args, "option", None) or []), command)
    out.update({k: getattr(args, k) for k in ("port", "baud", "timeout") if getattr(args, k, None) is not None})
    if getattr(args, "realtime", False):
        out["realtime"] = True
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
    warnings = [f"{p['pass_name']}: {w}" for p in rep.get("passes", []) for w in p.get("warnings", [])]
    if not args.json:
        for w in warnings:
            print(f"warning: {printable(w)}", file=sys.stderr)
    _print({"build": str(build.path), "target": build.target, "network": net,
            "pass_seconds": dict(timings), "warnings": warnings}, args,
           f"compiled {printable(args.model)} for {build.target}: {neurons_text(net)}, "
           f"{net.get('synapses')} synapses -> {printable(str(build.path))}")
    return 0


def neurons_text(net: dict) -> str:
    """``30 neurons`` or ``30 neurons + 120 relay neurons`` from a report's network figures."""
    relays = net.get("relay_neurons") or 0
    text = f"{net.get('neurons')} neurons"
    return text + (f" + {relays} relay neurons" if relays else "")


def _load_runnable(path: str, args=None):
    from .build import is_build, load_build
    if is_build(path):
        return load_build(path), None
    from .frontends import load_model
    from .progress import phase
    with phase(f"reading {printable(path)}"):
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
    """The run's progress report on stderr (snncc/run_progress.py); None with --json."""
    if quiet:
        return None
    from .run_progress import RunReport
    return RunReport(total)


def cmd_run(args) -> int:
    import time

    from . import targets
    from .progress import phase
    from .refsim import RasterWriter, simulate
    from .refsim.sink import RasterSummary
    from .refsim.engine import kernel_for
    enc = _encoding(args)
    build, net = _load_runnable(args.model, args)
    _realtime_checks(args, build, net)
    if args.save_weights is not None and build is None:
        raise SnnccError(f"--save-weights: {printable(args.model)} is a model, not a build",
                         hint="compile it first: snncc compile MODEL --target fpga -o BUILD")
    if args.input is not None:
        return _run_inputs(args, build, net, enc)
    _unfed_note(build.report().get("network", {}).get("input_ports", {}) if build is not None else
                {s.name: {"size": s.size, "spikes": int(s.index.size)} for s in net.input_ports})
    if build is not None:
        target = targets.get(build.target)
        options = _device_options(args, target, "run")
        lowered = build.network()
        relays = lowered.relay_populations
        on_refsim = args.refsim or build.target == "reference"
    else:
        _device_options(args, targets.get("reference"), "run")     # refuses any -O: none apply
        from .passes import Discretise
        net, rep = Discretise().run(net, None)      # what rounding to steps changed, said here too
        for w in rep.warnings:
            print(f"warning: discretise: {printable(w)}", file=sys.stderr)
        lowered, relays, on_refsim = net, net.relay_populations, True
    report = _progress(args.steps or lowered.steps, args.json)
    # the reference simulator streams the raster to -o as it runs (bounded memory)
    sink = RasterWriter(args.output, relays, show_relays=args.relays) if args.output and on_refsim else None
    try:
        if not on_refsim:
            with phase(f"running the build on {build.target}"):
                raster = target.run(build, args.steps, {**options, "progress": report})
        else:
            kernel = kernel_for(lowered, args.strict) if build is not None else None
            raster = simulate(lowered, steps=args.steps, kernel=kernel, strict=args.strict, report=report,
                              sink=sink)
    finally:
        if report is not None:
            report.close()
    saved = _save_weights(args, build, raster)
    raster = raster.users_view(relays, show=args.relays)
    if args.output and sink is None:
        t0 = time.perf_counter()
        _write(args.output, "raster", raster.save)
        if report is not None:
            report.phase("write", time.perf_counter() - t0)
    if args.plot:
        from .plot import raster_plot
        shown = raster.load() if isinstance(raster, RasterSummary) else raster
        _write(args.plot, "raster plot", lambda path: raster_plot(shown, path))
    rates = {n: raster.rate(n) for n in raster.sizes}
    if args.json:
        _print({"source": raster.source, "steps": raster.steps, "dt_ms": raster.dt,
                "spikes": raster.n_spikes, "rates_hz": rates, "output": args.output, "plot": args.plot,
                "relays": "shown" if args.relays else "hidden"}, args)
    else:
        print(f"ran {raster.steps} steps of {raster.dt:g} ms on {raster.source}: {raster.n_spikes} spikes")
        for n, r in rates.items():
            tag = "  (relay)" if n in raster.relays else ""
            print(f"  {printable(n):<20} {raster.sizes[n]:>7} neurons {r:10.2f} Hz{tag}")
        hidden = [n for n in relays if n not in raster.sizes]
        if hidden:
            print(f"  ({len(hidden)} relay populations of the compiler not shown: --relays shows them)")
        if args.output:
            print(f"raster written to {printable(args.output)}")
        if args.plot:
            print(f"raster plot written to {printable(args.plot)}")
    if saved and not args.json:
        print(saved)
    return 0


def _save_weights(args, build, raster) -> str | None:
    """--save-weights OUT: the build with the weights the run learned, written atomically; the
    line that says so (None without --save-weights)."""
    if getattr(args, "save_weights", None) is None:
        return None
    from . import targets
    from .build import with_learned_weights
    weights = getattr(raster, "weights", None) or {}
    if not weights:
        raise SnnccError(f"--save-weights: the run of {printable(str(build.path))} learned no weights (the build "
                         "has no plastic projection, or its target does not read them back)",
                         hint="leave --save-weights out, or give the model STDP projections (docs/stdp.md)")
    learned = {"from": build.manifest.get("model"), "source": raster.source, "steps": raster.steps,
               "projections": sorted(weights)}
    with_learned_weights(build, weights, args.save_weights, targets.get(build.target), learned)
    n = sum(int(w.size) for w in weights.values())
    return (f"learned weights ({n} synapses of {len(weights)} plastic projection{'s' if len(weights) != 1 else ''}) "
            f"written into the build {printable(args.save_weights)}")


def _realtime_checks(args, build, net) -> None:
    """--duration S as steps; --realtime only for a build on a target with a free-running mode."""
    from . import targets
    if args.duration is not None:
        if args.steps is not None:
            raise SnnccError("--steps and --duration both given: pass one of them")
        if not (math.isfinite(args.duration) and args.duration > 0):
            raise SnnccError(f"--duration {args.duration}: must be a positive number of seconds")
        dt = (build.network() if build is not None else net).dt
        args.steps = max(1, int(round(args.duration * 1000.0 / dt)))
    if not args.realtime:
        return
    if build is None:
        raise SnnccError(f"--realtime: {printable(args.model)} is a model, not a build for a board",
                         hint="compile it first: snncc compile MODEL --target fpga -o BUILD")
    if args.refsim or not getattr(targets.get(build.target), "realtime", False):
        what = "the reference simulator" if args.refsim else f"the {build.target} target"
        raise SnnccError(f"--realtime: {what} has no free-running mode",
                         hint="drop --realtime, or compile for a board that has it (--target fpga)")
    check = getattr(targets.get(build.target), "check_realtime", None)
    if check is not None:
        check(build)            # the build's board may lack it (fpga: a board built without RT)


def _unfed_note(ports: dict) -> None:
    """Say so when a run leaves input ports without spikes (they wait for --input)."""
    empty = [n for n, p in ports.items() if isinstance(p, dict) and not p.get("spikes")] \
        if isinstance(ports, dict) else []
    if empty:
        names = ", ".join(f"'{printable(n)}'" for n in empty[:5]) + (" ..." if len(empty) > 5 else "")
        many = len(empty) > 1
        print(f"note: input port{'s' if many else ''} {names} get{'' if many else 's'} no spikes in this run; "
              "feed them with --input FILE (docs/inputs.md)", file=sys.stderr)


def _run_inputs(args, build, net, enc) -> int:
    """``snncc run ... --input PATH``: a raster for one input, or a batch (a raster per input)."""
    from . import batch as B
    from . import targets
    from .inputs import summary
    if build is not None:
        net = build.network()
    if args.steps is not None and args.steps < 1:
        raise SnnccError(f"--steps {args.steps}: a run takes at least one step")
    steps = args.steps or net.steps
    inputs, is_batch = B.gather(args.input, net, steps, enc)
    if args.plot and is_batch:
        raise SnnccError("--plot draws one raster; a batch has one per input",
                         hint="leave --plot out, or run one input")
    if getattr(args, "save_weights", None) is not None and is_batch:
        raise SnnccError("--save-weights keeps the weights of one run; a batch runs each input from the "
                         "build's weights", hint="run one input, or leave --save-weights out")
    out = B.output_dir(args.output) if is_batch else None
    options = _device_options(args, targets.get(build.target if build is not None else "reference"), "run")
    relays = net.relay_populations
    results, source = [], None
    saved = None
    for inp, raster in zip(inputs, B.run(build, net, steps, inputs, args.refsim, args.strict, options)):
        saved = _save_weights(args, build, raster) if build is not None else None
        raster = raster.users_view(relays, show=args.relays)
        source = raster.source
        res = summary(inp.name, raster)
        if out is not None:
            B.write_atomic(out / f"{inp.stem}.npz", raster)
            res["output"] = str(out / f"{inp.stem}.npz")
        elif args.output:
            _write(args.output, "raster", lambda path: B.write_atomic(Path(path), raster))
            res["output"] = args.output
        if args.plot:
            from .plot import raster_plot
            _write(args.plot, "raster plot", lambda path: raster_plot(raster, path))
        results.append(res)
        if not args.json:
            pops = "  ".join(f"{printable(n)} {v['spikes']}" + (f" (most: {v['most_active']})"
                                                                  if v["most_active"] is not None else "")
                             for n, v in list(res["populations"].items())[:4])
            more = " ..." if len(res["populations"]) > 4 else ""
            print(f"{printable(inp.name)}: {res['spikes']} spikes  {pops}{more}")
    if len(results) != len(inputs):
        raise SnnccError(f"the run stopped after {len(results)} of {len(inputs)} inputs")
    meta = {"source": source, "steps": steps, "dt_ms": net.dt, "inputs_run": len(results)}
    if out is not None:
        path = B.write_results(out, results, meta)
    if args.json:
        _print({**meta, "inputs": results, "output": args.output}, args)
    else:
        print(f"ran {len(results)} input{'s' if len(results) != 1 else ''} of {steps} steps of {net.dt:g} ms "
              f"on {source}")
        if out is not None:
            print(f"rasters written to {printable(str(out))}/, per-input results to {printable(str(path))}")
        elif args.output:
            print(f"raster written to {printable(args.output)}")
        if saved:
            print(saved)
    return 0


def cmd_board(args) -> int:
    from . import targets
    found = []
    for name in targets.available():
        try:
            t = targets.get(name)
        except SnnccError:
            continue                       # a target that does not load has no boards either
        if hasattr(t, "sim_boards"):
            found.append(t)
    if not found:
        raise SnnccError("no installed target has a simulated board", hint="install the fpga backend")
    rows = []
    for t in found:
        rows += t.sim_boards(args.action, args.which)
    if args.json:
        _print(rows, args)
    elif not rows:
        print("no simulated board running" if args.action == "list" else "no simulated board stopped")
    else:
        verb = "running" if args.action == "list" else "stopped"
        for r in rows:
            print(f"{verb}: pid {r['pid']}  {r['pty']}  build {r.get('watch') or '-'}")
    return 0


def cmd_encode(args) -> int:
    from . import batch as B
    from .inputs import ports
    from .ir import Network, SpikeSource
    from .refsim import Raster
    enc = B.Encoding(args.code, args.seed, args.max_rate, args.scale, args.threshold, args.input_port)
    if args.for_ is not None:
        if args.dt is not None:
            raise SnnccError("--dt comes from the build given with --for", hint="leave --dt out")
        build, net = _load_runnable(args.for_, args)
        if build is not None:
            net = build.network()
        batch = True if args.batch else None
    else:
        if args.steps is None:
            raise SnnccError("without --for, give --steps N (the length of the coded input)",
                             hint="or name the build the spikes are for: --for BUILD")
        dt = 1.0 if args.dt is None else args.dt
        if not (math.isfinite(dt) and dt > 0):
            raise SnnccError(f"--dt {args.dt}: the time step must be a positive number of ms")
        from .encode import read_values, split_items
        items = split_items(read_values(args.data), None, printable(args.data), args.batch)
        port = args.input_port or "input"
        net = Network("encode", dt, args.steps, sources=[SpikeSource(port, int(items[0].size), [], [],
                                                                     input_port=True)])
        enc.port = port
        batch = args.batch
    if args.steps is not None and args.steps < 1:
        raise SnnccError(f"--steps {args.steps}: a coded input takes at least one step")
    steps = args.steps or net.steps
    items = B.encoded_inputs(args.data, net, steps, enc, batch)
    size = ports(net)
    port = B.pick_port(net, enc.port, printable(args.data))[0]
    source = f"encode:{args.code}" + (f"(seed={args.seed})" if args.code == "rate" else "")

    def raster(inp):
        s, i = inp.spikes[port]
        return Raster(net.dt, steps, {port: size[port]}, {port: (s, i)}, source=source)
    if len(items) == 1 and not args.batch:
        if Path(args.output).is_dir():
            raise SnnccError(f"-o {printable(args.output)}: is a directory; one coded input is one .npz file")
        _write(args.output, "coded input", lambda path: B.write_atomic(Path(path), raster(items[0])))
        written = args.output
    else:
        out = B.output_dir(args.output)
        for inp in items:
            B.write_atomic(out / f"{inp.stem}.npz", raster(inp))
        written = str(out)
    spikes = sum(x.n_spikes for x in items)
    _print({"output": written, "inputs": len(items), "port": port, "size": size[port], "steps": steps,
            "dt_ms": net.dt, "code": args.code, "spikes": spikes}, args,
           f"coded {len(items)} input{'s' if len(items) != 1 else ''} ({args.code}, {steps} steps of "
           f"{net.dt:g} ms) for input port '{printable(port)}' ({size[port]} neurons): {spikes} spikes -> "
           f"{printable(written)}")
    return 0


def cmd_upload(args) -> int:
    from . import targets
    from .build import load_build
    build = load_build(args.build)
    target = targets.get(build.target)
    result = target.upload(build, _device_options(args, target, "upload"))
    _print(result, args, result.get("message", "uploaded"))
    return 0


def cmd_verify(args) -> int:
    from .progress import phase
    from .refsim import Raster            # the simulator itself only when one runs (below)
    from .verify import combine, compare
    if args.against_float:
        return _verify_against_float(args)
    enc = _encoding(args)
    if args.actual is not None:
        if args.input is not None:
            raise SnnccError("--input runs a build; two raster files are compared as they are",
                             hint="snncc verify BUILD --input PATH")
        given = [f for f in ("option", "port", "baud", "timeout", "steps") if getattr(args, f, None)]
        if given:
            raise SnnccError(f"--{given[0].replace('option', 'O')} has no effect when comparing two raster "
                             "files", hint="leave it out, or verify a build: snncc verify BUILD")
        expected, actual = Raster.load(args.build), Raster.load(args.actual)
        names = (args.build, args.actual)
        # the user's populations only: each raster file lists its own relays
        cmp = compare(expected.users_view(), actual.users_view())
    else:
        from . import targets
        from .build import load_build
        build = load_build(args.build)
        target = targets.get(build.target)
        options = _device_options(args, target, "verify")
        own = target.verify(build, args.steps, options)
        if own is not None:             # the target's own check (e.g. machine data, no machine)
            _print(own.to_json(), args, own.describe())
            return 0 if own.equal else 1
        from .refsim import simulate
        net = build.network()
        relays = net.relay_populations     # the compiler's, not the user's: left out of the comparison
        fed = tuple(s.name for s in net.sources)       # spikes fed in, not computed
        if args.input is None:
            with phase(f"simulating the {build.target} kernel"):
                expected = simulate(net, steps=args.steps)
            with phase(f"running the build on {build.target}"):
                actual = target.run(build, args.steps, options)
            cmp = compare(expected.users_view(relays), actual.users_view(relays), fed)
        else:
            from . import batch as B
            from .inputs import with_input
            if args.steps is not None and args.steps < 1:
                raise SnnccError(f"--steps {args.steps}: a run takes at least one step")
            steps = args.steps or net.steps
            inputs, _ = B.gather(args.input, net, steps, enc)
            parts, actual = [], None
            runs = target.run_inputs(build, steps, inputs, options) \
                if build.target != "reference" else B.run(build, net, steps, inputs, False)
            for inp, actual in zip(inputs, runs):
                with phase(f"simulating the {build.target} kernel on input '{printable(inp.name)}'"):
                    expected = simulate(with_input(net, inp), steps=steps)
                parts.append((inp.name, compare(expected.users_view(relays), actual.users_view(relays), fed)))
            if len(parts) != len(inputs):
                raise SnnccError(f"the {build.target} run stopped after {len(parts)} of {len(inputs)} inputs")
            cmp = combine(parts)
        names = (f"{build.target} kernel", actual.source or build.target)
    text = cmp.describe(*map(printable, names))
    vacuous = cmp.vacuous
    if vacuous and args.allow_vacuous:
        text = text.replace("VACUOUS:", "OK (vacuous, accepted with --allow-vacuous):", 1)
    _print(cmp.to_json(), args, text)
    if vacuous and not args.allow_vacuous and not args.json:
        print("hint: give the network input that makes every population fire (--input, --encode), or pass "
              "--allow-vacuous to accept it", file=sys.stderr)
    return 0 if cmp.equal and (not vacuous or args.allow_vacuous) else 1


def _verify_against_float(args) -> int:
    from .build import load_build
    from .fidelity import agreement
    from .frontends import load_model
    if args.actual is not None:
        raise SnnccError("--against-float compares a build with its model; it takes no second raster",
                         hint=f"snncc verify {args.build} --against-float")
    from . import targets
    build = load_build(args.build)
    _device_options(args, targets.get(build.target), "verify")     # a misspelt -O is refused here too
    model = args.model or build.manifest.get("model")
    if not model:
        raise SnnccError(f"{build.path}: build.json names no model file",
                         hint=f"give it: snncc verify {build.path} --against-float --model MODEL")
    if args.model is None and not Path(model).exists() and (build.path.parent / model).exists():
        model = str(build.path.parent / model)   # a path relative to where the build lies
    if not Path(model).exists():
        raise SnnccError(f"{build.path}: the model it was compiled from, {model}, is not here",
                         hint=f"give it: snncc verify {build.path} --against-float --model MODEL")
    frontend = {k: v for k, v in (("dt", args.dt), ("convention", args.nir_convention)) if v is not None}
    res = agreement(load_model(model, **frontend), build.network(), steps=args.steps, report=build.report())
    _print(res.to_json(), args, res.describe())
    return 0 if res.ok else 1


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
                         "limits": t.limits.to_json(), "options": t.option_set().to_json(),
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
        for line in targets.get(r["name"]).option_set().help_lines():
            print(f"    {line}")
    return 0


COMMANDS = {"compile": cmd_compile, "run": cmd_run, "upload": cmd_upload, "verify": cmd_verify,
            "encode": cmd_encode, "report": cmd_report, "targets": cmd_targets, "board": cmd_board}


def main(argv: list[str] | None = None) -> int:
    from . import progress
    before = progress.enable(True)       # long steps say what they do (stderr)
    try:
        rc = _main(argv)
        sys.stdout.flush()      # a closed pipe shows at the flush when stdout is buffered
        return rc
    except BrokenPipeError:
        return _pipe_closed()
    finally:
        progress.enable(before)


def _main(argv: list[str] | None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        _unknown_arguments(parser, args, extra)
    if not args.command:
        parser.print_help()
        return 2
    try:
        from .resources import set_memory_limit
        set_memory_limit(getattr(args, "memory_limit", None))   # None: the default (RAM, env)
        return COMMANDS[args.command](args)
    except BrokenPipeError:
        raise
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


def _unknown_arguments(parser: argparse.ArgumentParser, args, extra: list[str]) -> None:
    """argparse's error for arguments it does not know, with a did-you-mean for options."""
    from .errors import did_you_mean
    sub = parser
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if actions and getattr(args, "command", None):
        sub = actions[0].choices[args.command]
    flags = [o for a in sub._actions for o in a.option_strings if o.startswith("--")]
    word = extra[0]
    hint = did_you_mean(word.split("=")[0], flags) if word.startswith("--") else ""
    sub.error(f"unrecognized arguments: {' '.join(extra)}{hint}")


def _pipe_closed() -> int:
    """The reader of our output went away (``snncc report --json | head``): not an error.
    Point stdout at /dev/null so that Python's exit-time flush stays quiet; exit 0."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
