"""The child process that runs a PyNN script for :mod:`.pynn_process`.

The parent starts it by fork (or as ``python -m snncc.frontends.pynn_child``) with
stdin on /dev/null, stdout and stderr on pipes the parent relays, and three more
descriptors: a control pipe and two files for the captured network. The child sends
only data back: one-line JSON messages on the control pipe, and the network in the
IR's own serialisation (``network.json`` bytes, ``arrays.npz`` without pickles), which
the parent parses as IR and nothing else.

Control messages (``kind``):

* ``started``: the script is about to run (its time limit starts now);
* ``threads``: the script's main code ended; the child now waits for its non-daemon
  threads (``names``), as Python does before a program ends;
* ``where``: the answer to SIGUSR1 (the parent's "time is up"): the script ``line``
  running then, and in which ``thread`` (null: the main thread);
* ``exit``: the script called ``os._exit(code)`` at ``line``;
* ``result``: ``status`` ``ok`` (the network is in the files) or ``error`` with
  ``message``, ``loc`` and ``hint``.
"""
from __future__ import annotations

import io
import json
import os
import signal
import sys
import threading
import traceback
from pathlib import Path

#: exit status of a child that could not send its result (the script closed the pipe?)
EXIT_NO_REPORT = 70
#: longest text field in a control message (a line stays far below the pipe's atomic size)
MAX_FIELD = 1500


def _field(text) -> str | None:
    if text is None:
        return None
    text = str(text)
    return text if len(text) <= MAX_FIELD else text[:MAX_FIELD] + "..."


class Channel:
    """The control pipe: one JSON object per line, each written with one os.write."""

    def __init__(self, fd: int):
        self.fd = fd
        self.pid = os.getpid()

    def send(self, **msg) -> None:
        if os.getpid() != self.pid:   # a copy of the child the script forked: stay silent
            return
        data = (json.dumps(msg, separators=(",", ":")) + "\n").encode()
        while data:
            data = data[os.write(self.fd, data):]


def script_line(frame, script: str) -> int | None:
    """The innermost line of ``script`` on the stack that ends at ``frame``."""
    while frame is not None:
        if os.path.abspath(frame.f_code.co_filename) == script:
            return frame.f_lineno
        frame = frame.f_back
    return None


def _on_time_up(chan: Channel, script: str):
    """SIGUSR1 handler: say which script line (and thread) was running."""
    def handler(signum, frame):
        main = threading.main_thread().ident
        frames = sys._current_frames()
        for ident in [main] + [i for i in frames if i != main]:
            line = script_line(frame if ident == main else frames.get(ident), script)
            if line is not None:
                # threading.enumerate() takes a lock the interrupted code may hold: read the map
                thread = getattr(threading, "_active", {}).get(ident)
                chan.send(kind="where", line=line,
                          thread=None if ident == main else _field(getattr(thread, "name", None)))
                return
        chan.send(kind="where", line=None, thread=None)
    return handler


def _hook_exit(chan: Channel, script: str, real_exit):
    """``os._exit`` that first says where the script called it."""
    def _exit(code):
        try:
            chan.send(kind="exit", code=int(code), line=script_line(sys._getframe(1), script))
        except Exception:  # noqa: BLE001 - the exit itself must still happen
            pass
        real_exit(code)
    return _exit


def _thread_excepthook(args):
    """One line per exception in a script's thread, not a traceback."""
    if args.exc_type is SystemExit:
        return
    from .pynn import text_of
    name = args.thread.name if args.thread is not None else "?"
    text = text_of(args.exc_value)
    print(f"snncc: the PyNN script's thread '{name}' raised {args.exc_type.__name__}"
          + (f": {text}" if text else ""), file=sys.stderr)


def _unraisable_hook(args):
    from .pynn import text_of
    print(f"snncc: the PyNN script ignored {type(args.exc_value).__name__}: {text_of(args.exc_value)}",
          file=sys.stderr)


def _streams() -> None:
    """Python's stdin/stdout/stderr on descriptors 0/1/2 (a fork child keeps its parent's
    objects, which may be anything, e.g. pytest's capture)."""
    sys.stdin = open(0, "r", closefd=False)
    sys.stdout = io.TextIOWrapper(open(1, "wb", buffering=0, closefd=False), encoding="utf-8",
                                  errors="backslashreplace", line_buffering=True, write_through=True)
    sys.stderr = io.TextIOWrapper(open(2, "wb", buffering=0, closefd=False), encoding="utf-8",
                                  errors="backslashreplace", line_buffering=True, write_through=True)
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = sys.stdin, sys.stdout, sys.stderr


def _no_core_files() -> None:
    """A crashing script leaves no core file in the user's directory."""
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, OSError, ValueError):
        pass


def die_with_parent(parent: int) -> None:
    """On Linux, have the kernel SIGKILL this process when snncc ends, even when snncc is
    killed itself, so that no script outlives the compile that ran it."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:   # snncc ended before the request was made
        os._exit(EXIT_NO_REPORT)


def limit_memory(budget: int | None, source: str = "") -> str | None:
    """Limit the address space to what the process maps now plus ``budget`` bytes (snncc's
    memory limit, from ``source``); returns the limit in words for messages (None where
    the system has no such limit)."""
    if budget is None:
        return None
    from ..resources import nbytes, pin_memory_limit
    pin_memory_limit((budget, source))   # what the backend's size checks compare with, as in snncc
    try:
        import resource
        with open("/proc/self/statm") as fh:
            now = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        resource.setrlimit(resource.RLIMIT_AS, (now + budget, now + budget))
    except (ImportError, OSError, ValueError):
        return None
    return f"snncc's memory limit is {nbytes(budget)}" + (f", {source}" if source else "")


def main(script: str, ctl: int, ir_json: int, ir_npz: int, memory: int | None, memory_source: str = "") -> None:
    """Run ``script`` and report; never returns (the process ends with os._exit)."""
    real_exit = os._exit
    status = EXIT_NO_REPORT
    try:
        chan = Channel(ctl)
        for fd in (ctl, ir_json, ir_npz):
            os.set_inheritable(fd, False)   # programs the script starts do not get them
        _streams()
        import faulthandler
        faulthandler.disable()   # a crash is reported by its signal, not by a traceback
        _no_core_files()
        threading.excepthook = _thread_excepthook
        sys.unraisablehook = _unraisable_hook
        signal.signal(signal.SIGUSR1, _on_time_up(chan, script))
        signal.signal(signal.SIGINT, signal.default_int_handler)   # as in `python script.py`
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os._exit = _hook_exit(chan, script, real_exit)
        msg = _run(chan, Path(script), ir_json, ir_npz, limit_memory(memory, memory_source))
        sys.stdout.flush()
        sys.stderr.flush()
        chan.send(kind="result", **msg)
        status = 0
    except BaseException:  # noqa: BLE001 - nothing may escape a fork child
        if os.environ.get("SNNCC_DEBUG"):
            traceback.print_exc()
    finally:
        real_exit(status)


def _error(e) -> dict:
    return {"status": "error", "message": _field(e.message), "hint": _field(e.hint),
            "loc": None if e.loc is None else {k: _field(v) if isinstance(v, str) else v
                                               for k, v in e.loc.to_json().items()}}


def _run(chan: Channel, script: Path, ir_json: int, ir_npz: int, memory_limit: str | None) -> dict:
    """Run the script, wait for its threads, capture the network and write it: the result message."""
    from ..errors import Loc, SnnccError
    from . import pynn
    me = os.getpid()
    sys.path.insert(0, str(script.parent))   # as `python script.py` does
    try:
        chan.send(kind="started")
        pynn.run_script(script, memory_limit)
        if os.getpid() != me:   # a copy the script forked: it has no network to give
            os._exit(0)
        _join_threads(chan)
        net = pynn.network_from_state(pynn._backend().simulator.state, name=script.stem, script=str(script))
        _write(net, ir_json, ir_npz)
        return {"status": "ok"}
    except SnnccError as e:
        return _error(e)
    except MemoryError:
        return _error(SnnccError("capturing the network of the PyNN script ran out of memory"
                                 + (f" ({memory_limit})" if memory_limit else ""), Loc(str(script)),
                                 hint=pynn.MEMORY_HINT))
    except BaseException as e:  # noqa: BLE001 - the script may have changed anything in this process
        if os.environ.get("SNNCC_DEBUG"):
            traceback.print_exc()
        return _error(SnnccError(
            f"snncc could not capture the network the PyNN script built ({type(e).__name__}: "
            f"{pynn.text_of(e)})", Loc(str(script)),
            hint="if the script uses PyNN as documented, this is a bug in snncc: rerun with SNNCC_DEBUG=1 "
                 "for the traceback and report it"))


def _join_threads(chan: Channel) -> None:
    main = threading.main_thread()
    left = [t for t in threading.enumerate() if t is not main and not t.daemon and t.is_alive()]
    if left:
        chan.send(kind="threads", names=[_field(t.name) for t in left[:5]], more=max(0, len(left) - 5))
        for t in left:
            t.join()


def _write(net, ir_json: int, ir_npz: int) -> None:
    from ..ir.serialize import write_parts
    with open(ir_json, "wb", closefd=False) as js, open(ir_npz, "wb", closefd=False) as npz:
        write_parts(net, js, npz)


def _cli(argv: list[str]) -> None:
    """``python -m snncc.frontends.pynn_child --ctl FD --ir-json FD --ir-npz FD --parent PID [--memory BYTES
    --memory-source TEXT] SCRIPT``
    (the spawn start method; descriptors 0-2 are set by the parent)."""
    import argparse
    p = argparse.ArgumentParser(prog="snncc.frontends.pynn_child")
    p.add_argument("--ctl", type=int, required=True)
    p.add_argument("--ir-json", type=int, required=True)
    p.add_argument("--ir-npz", type=int, required=True)
    p.add_argument("--memory", type=int)
    p.add_argument("--memory-source", default="")
    p.add_argument("--parent", type=int, required=True)
    p.add_argument("script")
    a = p.parse_args(argv)
    die_with_parent(a.parent)
    from . import pynn
    pynn._backend()   # import PyNN before the memory limit is measured, as a fork child has it
    main(a.script, a.ctl, a.ir_json, a.ir_npz, a.memory, a.memory_source)


if __name__ == "__main__":
    _cli(sys.argv[1:])
