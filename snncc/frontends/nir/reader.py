"""Reading a NIR HDF5 file: ``nir.read`` in a child process, under a time and memory limit,
so that a damaged file is refused with a message instead of hanging or crashing snncc."""
from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

from ... import resources
from ...errors import MissingDependency, SnnccError


def _nir():
    try:
        import nir
    except ImportError:
        raise MissingDependency("reading NIR needs the Python package 'nir', which is not installed: "
                                "pip install 'snncc[nir]' (or pip install nir==1.0.8)") from None
    return nir


#: seconds a NIR file may take to read before it is declared damaged (HDF5 can loop
#: forever in C on a damaged file, where no Python signal reaches it); bigger files get
#: 1 s more per 20 MB. The environment variable SNNCC_NIR_READ_TIMEOUT overrides it.
READ_TIMEOUT_S = 10.0


def _read_timeout(path: Path) -> float:
    env = os.environ.get("SNNCC_NIR_READ_TIMEOUT")
    if env:
        try:
            return float(env)
        except ValueError:
            raise SnnccError(f"SNNCC_NIR_READ_TIMEOUT={env!r} is not a number of seconds") from None
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    return READ_TIMEOUT_S + size / 20e6


def _read_in_child(path: str, conn, memory: int | None = None) -> None:
    """Child process: read the graph and send ("ok", graph), ("memory", text) or ("error", text)
    back. ``memory``: bytes the child may map beyond what it has (RLIMIT_AS), so that a file
    whose arrays do not fit fails here with a MemoryError instead of eating the computer."""
    try:
        if memory is not None:
            _limit_address_space(memory)
        import nir
        graph = nir.read(path)
        conn.send(("ok", graph))
    except MemoryError as e:
        conn.send(("memory", str(e) or "MemoryError"))
    except BaseException as e:  # noqa: BLE001 - everything goes back to the parent as text
        conn.send(("error", f"{type(e).__name__}: {e}"))
    finally:
        conn.close()


def _limit_address_space(extra: int) -> None:
    try:
        import resource
        with open("/proc/self/statm") as fh:
            mapped = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        want = mapped + extra
        if hard != resource.RLIM_INFINITY:
            want = min(want, hard)
        if soft == resource.RLIM_INFINITY or want < soft:
            resource.setrlimit(resource.RLIMIT_AS, (want, hard))
    except (ImportError, OSError, ValueError):
        pass   # no /proc or no rlimits: the parent's limit still applies


def _read(path: Path):
    """``nir.read`` in a child process with a time limit (fork where there is one: a few ms)."""
    if not path.is_file():
        raise SnnccError(f"{path}: no such NIR file", hint="check the path")
    size = path.stat().st_size
    resources.require(size, f"{path}: the NIR file ({resources.nbytes(size)})")
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    limit = _read_timeout(path)
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_read_in_child, args=(str(path), send, resources.memory_limit()[0]))
    proc.start()
    send.close()
    try:
        if not recv.poll(limit):
            raise SnnccError(f"{path}: could not read the NIR file within {limit:.3g} s: the file looks damaged",
                             hint="HDF5 went into a loop reading it; if the file is just very large, set "
                                  "SNNCC_NIR_READ_TIMEOUT to more seconds")
        try:
            status, value = recv.recv()
        except (EOFError, OSError):
            proc.join(5)
            raise SnnccError(f"{path}: reading the NIR file crashed its reader process (exit code "
                             f"{proc.exitcode}): the file looks damaged",
                             hint="NIR files are HDF5, written by nir.write()") from None
    finally:
        recv.close()
        if proc.is_alive():
            proc.kill()
        proc.join()
    if status == "memory":
        limit_b, source = resources.memory_limit()
        raise SnnccError(f"{path}: the NIR file's arrays do not fit in memory ({value}); snncc's limit is "
                         f"{resources.nbytes(limit_b)} ({source})", hint=resources.HINT)
    if status != "ok":
        raise SnnccError(f"{path}: not a readable NIR file ({value})",
                         hint="NIR files are HDF5, written by nir.write()")
    return value
