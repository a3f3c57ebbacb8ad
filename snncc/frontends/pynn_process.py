"""Run a PyNN script in a child process, under a time and a memory limit.

A PyNN script is code: compiling it runs it, as running it with PyNN would. It runs
in a child process (:mod:`.pynn_child`) in its own session, so that no way a script
can end takes snncc with it:

==========================================  ================================================
the script ...                              snncc (exit 2 unless the network is captured)
==========================================  ================================================
ends, or calls ``sys.exit(0)``              captures the network
leaves non-daemon threads running           waits for them, as Python does, within the limit
raises anything (``BaseException`` too)    ``script.py:LINE: the PyNN script raised ...``
calls ``sys.exit(n)``                       ``... exited with status n``
calls ``os._exit(n)``                       ``... ended its process with os._exit(n) ...``
is killed by a signal, crashes in C         ``... was killed by SIGSEGV ...``
runs past the time limit (loop, sleep,      stopped (with its group of processes) at the
stopped, stuck in C)                        limit; the message names the line it was on
writes more than OUTPUT_LIMIT bytes         stopped: ``... wrote more than 16 MiB ...``
allocates past the memory limit             ``... ran out of memory (...)``
==========================================  ================================================

The child hands back data only: JSON lines on a control pipe and the network in the
IR serialisation, in two unnamed temporary files (nothing is left on disk if snncc is
killed). The parent parses them as IR and checks the network; a reply that is not
one is refused like any bad input. The script's stdout and stderr are relayed as
they come. A Ctrl-C on snncc stops the child's whole process group and exits 130; on
Linux the kernel kills the child when snncc itself is killed.

On Linux the child is forked (PyNN already imported: a few ms); elsewhere, in a process
that runs other threads, or with ``SNNCC_PYNN_START=spawn``, it is a fresh
``python -m snncc.frontends.pynn_child``.
"""
from __future__ import annotations

import codecs
import gc
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import Loc, SnnccError, printable
from ..ir import Network

#: seconds a script may run before snncc stops it (--script-timeout)
DEFAULT_TIMEOUT_S = 600.0
#: bytes a script may write to stdout and stderr together before snncc stops it
OUTPUT_LIMIT = 16 << 20
#: seconds a child may take to start before the script's own limit begins (spawn imports PyNN)
STARTUP_S = 120.0
#: seconds a stopped script has to say which line it was on
GRACE_S = 1.0
#: longest control message the parent reads
MAX_MESSAGE = 1 << 16
#: start methods: fork (Linux default) or spawn
START_METHODS = ("fork", "spawn")
TIMEOUT_HINT = "a script that is just slow gets more time with --script-timeout SECONDS"
BAD_REPLY = "the PyNN script's process sent back something that is not a snncc network"


@dataclass(frozen=True)
class Limits:
    """What a script may use: ``timeout_s`` seconds of wall time from its first line, and
    ``memory`` bytes of address space on top of what the process maps when it starts
    (snncc's memory limit; ``memory_source`` says where that figure comes from)."""

    timeout_s: float = DEFAULT_TIMEOUT_S
    memory: int | None = None
    memory_source: str = ""

    @classmethod
    def of(cls, timeout_s: float | None = None) -> "Limits":
        """From the CLI's ``--script-timeout`` (None: the default) and snncc's memory limit."""
        from ..resources import memory_limit
        timeout_s = DEFAULT_TIMEOUT_S if timeout_s is None else timeout_s
        if not (isinstance(timeout_s, (int, float)) and 0 < timeout_s < float("inf")):
            raise SnnccError(f"--script-timeout {timeout_s!r}: expected a positive number of seconds")
        memory, source = memory_limit()
        return cls(float(timeout_s), memory if memory < (1 << 62) else None, source)


def start_method() -> str:
    """fork on Linux when this process has no other Python thread (a lock another thread
    holds would stay locked in the child forever) and has not started numba's thread pool;
    else spawn. SNNCC_PYNN_START overrides."""
    import threading
    forkable = (sys.platform.startswith("linux") and threading.active_count() == 1
                and not numba_threads_started())
    method = os.environ.get("SNNCC_PYNN_START") or ("fork" if forkable else "spawn")
    if method not in START_METHODS:
        raise SnnccError(f"SNNCC_PYNN_START={method!r}: expected one of {', '.join(START_METHODS)}")
    return method


def numba_threads_started() -> bool:
    """Whether numba has launched its thread pool in this process (a parallel loop ran: the
    reference simulator on several threads, the partitioner). Its OpenMP layer ends a forked
    child that runs a parallel loop with SIGTERM ("fork() called from a process already using
    GNU OpenMP, this is unsafe"), so a PyNN script must then start in a spawned child."""
    parallel = sys.modules.get("numba.np.ufunc.parallel")
    return bool(getattr(parallel, "_is_initialized", False))


def run(script: Path, limits: Limits, stdout: str = "stdout") -> Network:
    """Run ``script`` (an absolute path) in a child process; return the network it built.
    ``stdout``: where the script's own prints go ("stderr" where snncc's stdout is a result
    another program reads, as with --json)."""
    if stdout not in ("stdout", "stderr"):
        raise ValueError(f"stdout={stdout!r}")
    if os.name != "posix":
        raise SnnccError(f"{script}: compiling PyNN scripts needs a POSIX system (Linux or macOS)")
    method = start_method()
    with tempfile.TemporaryFile() as ir_json, tempfile.TemporaryFile() as ir_npz:
        child = _Child(script, method, ir_json.fileno(), ir_npz.fileno(), limits)
        try:
            watch = _Watch(child, script, limits, stdout)
            watch.wait()
        finally:
            child.stop()
        error = watch.outcome()
        if error is not None:
            raise error
        return _read_network(script, ir_json, ir_npz)


class _Child:
    """The child process, its session and the parent's ends of its pipes."""

    def __init__(self, script: Path, method: str, ir_json: int, ir_npz: int, limits: Limits):
        memory = (limits.memory, limits.memory_source)
        self.ctl, ctl_w = os.pipe()
        self.out, out_w = os.pipe()
        self.err, err_w = os.pipe()
        self.proc = None
        self.gone = False
        self.status: int | None = None   # as Popen.returncode: -N for signal N, once reaped
        for stream in (sys.stdout, sys.stderr):   # nothing of ours is written twice by the child
            try:
                stream.flush()
            except (OSError, ValueError, AttributeError):
                pass
        try:
            if method == "fork":
                _preload()
                parent = os.getpid()
                gc.freeze()   # the child's collector leaves our objects alone: fewer pages copied
                try:
                    self.pid = os.fork()
                    if self.pid == 0:   # the child: never returns
                        self._enter_child(str(script), parent, ctl_w, out_w, err_w, ir_json, ir_npz, memory)
                finally:
                    gc.unfreeze()
            else:
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", "snncc.frontends.pynn_child", "--ctl", str(ctl_w),
                     "--ir-json", str(ir_json), "--ir-npz", str(ir_npz), "--parent", str(os.getpid())]
                    + (["--memory", str(memory[0]), "--memory-source", memory[1]] if memory[0] is not None else [])
                    + ["--", str(script)],
                    stdin=subprocess.DEVNULL, stdout=out_w, stderr=err_w,
                    pass_fds=(ctl_w, ir_json, ir_npz), start_new_session=True, env=_child_env())
                self.pid = self.proc.pid
        except OSError as e:   # no process to be had (EAGAIN, ENOMEM): the script never ran
            for fd in (self.ctl, self.out, self.err):
                os.close(fd)
            raise SnnccError(f"{script}: could not start a process to run the PyNN script ({e.strerror})",
                             hint="the system is out of processes or memory") from None
        finally:
            for fd in (ctl_w, out_w, err_w):
                os.close(fd)
        try:
            self.pidfd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):
            self.pidfd = None   # polled instead

    def _enter_child(self, script, parent, ctl_w, out_w, err_w, ir_json, ir_npz, memory):
        try:
            from .pynn_child import die_with_parent, main
            die_with_parent(parent)
            os.setsid()
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            for fd in (null, out_w, err_w, self.ctl, self.out, self.err):
                os.close(fd)
            _close_fds_but(ctl_w, ir_json, ir_npz)   # as subprocess does: the script gets none of ours
            main(script, ctl_w, ir_json, ir_npz, *memory)
        finally:
            os._exit(70)

    def ended(self) -> bool:
        """Whether the child has ended. It is not reaped here: until :meth:`stop`, its pid
        (and so its process group's id) cannot be reused, which makes killpg safe."""
        if not self.gone:
            try:
                self.gone = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
            except ChildProcessError:
                self.gone = True
        return self.gone

    def kill(self) -> None:
        """SIGKILL the child's whole process group (what the script started goes too), and
        the child itself, which is not yet in a group of its own right after the fork."""
        for kill in (os.killpg, os.kill):
            try:
                kill(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def stop(self) -> None:
        """Kill the group, reap the child (its exit status in ``status``), close the pipes."""
        self.kill()
        if self.status is None:
            if self.proc is not None:
                self.status = self.proc.wait()
            else:
                self.status = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        for fd in (self.ctl, self.out, self.err, self.pidfd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.ctl = self.out = self.err = self.pidfd = None


def _close_fds_but(*keep: int) -> None:
    """Close every descriptor above 2 except ``keep``."""
    try:
        fds = [int(n) for n in os.listdir("/proc/self/fd")]
    except OSError:
        fds = range(3, min(os.sysconf("SC_OPEN_MAX"), 1 << 16))
    for fd in fds:
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def _preload() -> None:
    """Import what the child needs before forking, so that it is imported once: the
    compile that follows needs it too."""
    from ..ir import serialize  # noqa: F401
    from .. import numerics  # noqa: F401
    from . import pynn_child  # noqa: F401


def _child_env() -> dict[str, str]:
    """The environment of a spawned child: this snncc first on its path."""
    import snncc
    env = dict(os.environ)
    root = str(Path(snncc.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([root] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return env


class _Relay:
    """Copies a child's stdout or stderr to ours as it comes, decoding UTF-8."""

    def __init__(self, stream_name: str):
        self.stream_name = stream_name
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.broken = False
        self.at_line_start = True

    def write(self, data: bytes, final: bool = False) -> None:
        self._put(self.decoder.decode(data, final))

    def finish(self) -> None:
        """End the script's last line, so that what snncc says next starts a line."""
        self._put(self.decoder.decode(b"", True))
        if not self.at_line_start:
            self._put("\n")

    def _put(self, text: str) -> None:
        if text and not self.broken:
            stream = getattr(sys, self.stream_name)
            try:
                stream.write(text)
                stream.flush()
            except (OSError, ValueError):   # our own stdout went away: keep draining the pipe
                self.broken = True
            self.at_line_start = text.endswith("\n")


class _Watch:
    """Waits for the child's result, relaying its output, within the limits."""

    def __init__(self, child: _Child, script: Path, limits: Limits, stdout: str = "stdout"):
        self.child, self.script, self.limits = child, script, limits
        self.relays = {child.out: _Relay(stdout), child.err: _Relay("stderr")}
        self.output = 0
        self.buf = b""
        self.result: dict | None = None
        self.bad: str | None = None    # why the control stream is not readable
        self.threads: dict | None = None
        self.where: dict | None = None
        self.exit: dict | None = None
        self.stopped: str | None = None   # "time" or "output" when snncc stopped the script
        self.started = False
        self.sel = selectors.DefaultSelector()
        for fd in (child.ctl, child.out, child.err):
            os.set_blocking(fd, False)
            self.sel.register(fd, selectors.EVENT_READ)
        if child.pidfd is not None:
            self.sel.register(child.pidfd, selectors.EVENT_READ)

    # ------------------------------------------------------------------ waiting
    def wait(self) -> None:
        """Relay and read messages until the child reports, ends, floods or runs out of time;
        then stop its process group and read what is left."""
        # the limit counts from the script's first line ("started"); a spawned child first imports PyNN
        self.deadline = time.monotonic() + self.limits.timeout_s + STARTUP_S
        why = self._until(lambda: self.deadline, lambda: self.result is not None or self.bad is not None
                          or self.output > OUTPUT_LIMIT)
        if self.output > OUTPUT_LIMIT:
            why = "output"
        if why in ("time", "output"):
            self._ask_where()
            self.stopped = why
        self._drain()   # a result (or os._exit's message) may have come with the end
        self.child.kill()
        self._drain()
        self.sel.close()
        for relay in self.relays.values():
            relay.finish()

    def outcome(self) -> SnnccError | None:
        """After :meth:`wait` and the child's reaping: None when the child reported a
        network, else the error that says how the script ended."""
        if self.stopped is not None:
            return self._stopped(self.stopped)
        if self.bad is not None:
            return SnnccError(f"{BAD_REPLY} ({self.bad})", Loc(str(self.script)))
        if self.result is None:
            return self._ended()
        return self._from_result(self.result)

    def _until(self, deadline, done) -> str:
        """Pump events until ``done()`` ("done"), the child ends ("exit") or ``deadline()`` ("time")."""
        while not done():
            if self.child.ended():
                return "exit"
            left = deadline() - time.monotonic()
            if left <= 0:
                return "time"
            for key, _ in self.sel.select(left if self.child.pidfd is not None else min(left, 0.02)):
                self._read(key.fd)
        return "done"

    def _read(self, fd: int) -> None:
        if fd == self.child.pidfd:
            self.child.ended()
            return
        try:
            data = os.read(fd, 1 << 16)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.sel.unregister(fd)
            if fd in self.relays:
                self.relays[fd].write(b"", final=True)
            return
        if fd == self.child.ctl:
            self._control(data)
        elif self.output <= OUTPUT_LIMIT:
            keep = data[:max(0, OUTPUT_LIMIT - self.output)]
            self.output += len(data)
            self.relays[fd].write(keep)

    def _drain(self) -> None:
        """Read what is left in the pipes (not waiting for writers the script may have left)."""
        for _ in range(10000):
            events = self.sel.select(0)
            fds = [k.fd for k, _ in events if k.fd != self.child.pidfd]
            if not fds:
                break
            for fd in fds:
                self._read(fd)

    def _ask_where(self) -> None:
        """SIGUSR1 asks the child which line it is on; wait a moment for the answer."""
        try:
            os.kill(self.child.pid, signal.SIGUSR1)
        except ProcessLookupError:
            return
        end = time.monotonic() + GRACE_S
        self._until(lambda: end, lambda: self.where is not None or self.bad is not None)

    # ---------------------------------------------------------------- messages
    def _control(self, data: bytes) -> None:
        if self.bad is not None:
            return
        self.buf += data
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            self._message(line)
        if len(self.buf) > MAX_MESSAGE:
            self.bad = f"a control message of more than {MAX_MESSAGE} bytes"

    def _message(self, line: bytes) -> None:
        try:
            msg = json.loads(line)
            kind = msg["kind"]
        except (ValueError, TypeError, KeyError):
            self.bad = "a control message that is not JSON"
            return
        if kind == "started":
            if not self.started:   # once: the child says it before the script can say anything
                self.started = True
                self.deadline = time.monotonic() + self.limits.timeout_s
        elif kind == "result" and self.result is None:
            self.result = msg
        elif kind == "threads" and isinstance(msg.get("names"), list):
            self.threads = msg
        elif kind == "where" and self.where is None:
            self.where = msg
        elif kind == "exit" and self.exit is None:
            self.exit = msg
        elif kind not in ("result", "where", "exit", "threads"):
            self.bad = f"a control message of unknown kind {str(kind)[:40]!r}"

    def _loc(self, line) -> Loc:
        ok = isinstance(line, int) and not isinstance(line, bool) and line > 0
        return Loc(str(self.script), line if ok else None)

    # ---------------------------------------------------------------- outcomes
    def _stopped(self, why: str) -> SnnccError:
        where = self.where or {}
        loc = self._loc(where.get("line"))
        if why == "output":
            return SnnccError(f"the PyNN script wrote more than {OUTPUT_LIMIT >> 20} MiB to stdout and stderr; "
                              "snncc stopped it", loc,
                              hint="a script that builds a network has little to print; write large "
                                   "results to a file")
        limit = f"{self.limits.timeout_s:g}"
        if self.threads is not None:
            names = [_quote(n) for n in self.threads["names"]]
            more = self.threads.get("more", 0)
            more = f" and {more} more" if isinstance(more, int) and more > 0 else ""
            what = (f"its thread {names[0]} was" if len(names) == 1 and not more
                    else f"its threads {', '.join(names)}{more} were")
            return SnnccError(f"the PyNN script did not finish within {limit} s: its main code ended, but "
                              f"{what} still running", loc,
                              hint="a Python program ends when its last non-daemon thread ends: join the "
                                   "thread in the script, or start it with daemon=True; " + TIMEOUT_HINT)
        return SnnccError(f"the PyNN script did not finish within {limit} s", loc,
                          hint="snncc stopped it; " + TIMEOUT_HINT)

    def _ended(self) -> SnnccError:
        """The child ended without a result."""
        status = self.child.status
        if status is not None and status < 0:
            try:
                name = signal.Signals(-status).name
            except ValueError:
                name = f"signal {-status}"
            hint = {"SIGKILL": "the system kills a process this way when memory runs out, unless the script "
                               "killed itself",
                    "SIGSEGV": "a crash in native code (a C extension, ctypes, or recursion too deep)"}
            hint["SIGBUS"] = hint["SIGABRT"] = hint["SIGFPE"] = hint["SIGILL"] = hint["SIGSEGV"]
            return SnnccError(f"the PyNN script's process was killed by {name} before snncc could capture "
                              "its network", Loc(str(self.script)), hint=hint.get(name))
        if self.exit is not None and isinstance(self.exit.get("code"), int):
            return SnnccError(f"the PyNN script ended its process with os._exit({self.exit['code']}) before "
                              "snncc could capture its network", self._loc(self.exit.get("line")),
                              hint="end the script normally, or with sys.exit()")
        from .pynn_child import EXIT_NO_REPORT
        if status == EXIT_NO_REPORT:
            return SnnccError("the PyNN script's process could not report back to snncc (did the script "
                              "close its files?)", Loc(str(self.script)))
        return SnnccError(f"the PyNN script's process ended with exit status {status} before snncc could "
                          "capture its network", Loc(str(self.script)),
                          hint="os._exit() or posix._exit() in the script or a library it calls, or a crash "
                               "in native code")

    def _from_result(self, msg: dict) -> SnnccError | None:
        status = msg.get("status")
        if status == "ok":
            return None
        if status != "error" or not isinstance(msg.get("message"), str):
            return SnnccError(f"{BAD_REPLY} (a result of status {str(status)[:40]!r})", Loc(str(self.script)))
        loc = None if msg.get("loc") is None else Loc.from_json(msg["loc"])
        hint = msg.get("hint")   # the child's words are data: no control characters reach the terminal
        return SnnccError(printable(msg["message"]), loc, hint=printable(hint) if isinstance(hint, str) else None)


def _quote(name) -> str:
    return repr(str(name)[:100])


def _read_network(script: Path, ir_json, ir_npz) -> Network:
    """The network the child wrote, parsed as IR (never unpickled) and checked."""
    import zipfile
    from ..ir.serialize import from_parts
    try:
        size = os.fstat(ir_npz.fileno()).st_size
        ir_npz.seek(0)
        with zipfile.ZipFile(ir_npz) as zf:   # stored members only: no compression bomb
            infos = zf.infolist()
        if any(i.compress_type != zipfile.ZIP_STORED for i in infos) or sum(i.file_size for i in infos) > size:
            raise ValueError("the arrays archive is compressed")
        ir_json.seek(0)
        js = ir_json.read()
        ir_npz.seek(0)
        net = from_parts(js, ir_npz, where=str(script))   # checks the network too
    except SnnccError as e:
        raise SnnccError(f"{BAD_REPLY} ({printable(e.message)})", Loc(str(script))) from None
    except MemoryError:
        raise SnnccError("the network the PyNN script built does not fit in this computer's memory",
                         Loc(str(script)), hint="build a smaller network") from None
    except Exception as e:  # noqa: BLE001 - whatever the bytes are, they are not a network
        raise SnnccError(f"{BAD_REPLY} ({type(e).__name__}: {printable(str(e)[:200])})",
                         Loc(str(script))) from None
    return net
