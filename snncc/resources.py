"""What snncc allows itself on the host: memory, input sizes and relay chains, as data.

A target's hardware limits live in its own limits module; the limits here bound the
compiler and the reference simulator, so that a hostile or mistaken model (a delay of
1e9 ms, a population of 1e9 neurons, a 50 MB YAML list) is refused within seconds,
naming the object, the figure and the limit, instead of eating the computer's memory.
The frontends, the passes and the reference simulator all read them from here, and
docs/reliability.md lists them.

Sizes are computed *before* anything is allocated: each ``BYTES_PER_*`` figure is
what one element costs while a model is compiled (measured on the examples; the
peak over the passes, not just the IR's own arrays). The memory limit defaults to
:data:`MEMORY_SHARE` of this computer's RAM (or of a cgroup or ``ulimit -v`` limit,
where one is lower); ``snncc --memory-limit SIZE`` or ``SNNCC_MEMORY_LIMIT=SIZE``
overrides it.
"""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field

from .errors import Loc, SnnccError
from .fmt import num

# --- memory -----------------------------------------------------------------------------------
#: share of this computer's memory (or of a cgroup / ulimit -v limit) that snncc plans to use
MEMORY_SHARE = 0.8
#: environment variable that overrides the memory limit (bytes, or with a K/M/G/T suffix)
MEMORY_ENV = "SNNCC_MEMORY_LIMIT"

#: bytes one neuron costs through a compile: its parameters, per-step coefficients, the
#: fixed-point copy, kernel state and the partitioner's tables (measured peak ~300-400)
BYTES_PER_NEURON = 320
#: bytes one synapse costs while a connector generates it and the passes copy it:
#: int64 sort keys and indices, float64 weight and delay, the IR's int32 copies
BYTES_PER_SYNAPSE = 48
#: bytes one input spike costs (index and time, sorted, then steps)
BYTES_PER_SPIKE = 32
#: bytes per candidate when a seeded draw wants most of a row's candidates (a connector's
#: n > half the neurons, a Poisson rate firing in most steps): it flags the candidates
#: (1 byte) and lists the kept ones (int64, twice)
BYTES_PER_DENSE_ROW_ITEM = 17
#: bytes one kernel tap of a NIR convolution costs while it is expanded into synapses (a
#: meshgrid of six int64 indices, then the kept rows, columns and weights)
BYTES_PER_CONV_TAP = 112
#: bytes one relay stage costs beyond its neurons: a population and a projection object
#: with their small arrays, and their rows in every pass's report
BYTES_PER_STAGE = 16 << 10

# --- inputs -----------------------------------------------------------------------------------
#: largest YAML model file read (bytes); big arrays belong in .npy/.csv files ({file: ...})
YAML_MAX_BYTES = 16 << 20
#: most lines plus commas in a YAML model file (a bound on its values: PyYAML reads about
#: 10 000 values a second, so this keeps a file at the limit to ~12 s)
YAML_MAX_ITEMS = 100_000

# --- passes -----------------------------------------------------------------------------------
#: longest relay chain the delays pass builds (stages of max_delay_steps each); every stage
#: is a population that each later pass and the emitter handle
RELAY_MAX_STAGES = 4096


# --------------------------------------------------------------------------------- sizes

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(text: str, what: str = "--memory-limit") -> int:
    """``'16G'``, ``'512M'``, ``'2e9'`` -> bytes (binary units; a trailing ``B``/``iB`` is optional)."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKmMgGtT]?)(?:i?[bB])?\s*", str(text))
    if not m:
        raise SnnccError(f"{what} {text!r}: expected a size such as 16G, 512M or 2000000000 (bytes)")
    value = float(m.group(1)) * _UNITS[m.group(2).lower()]
    if not 1 <= value < 2 ** 63:
        raise SnnccError(f"{what} {text!r}: a memory limit must be at least one byte")
    return int(value)


def nbytes(n: float) -> str:
    """Bytes for people: ``'512 B'``, ``'3.2 MiB'``, ``'119 GiB'``."""
    n = float(n)
    for unit, size in (("EiB", 1 << 60), ("PiB", 1 << 50), ("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20),
                       ("KiB", 1 << 10)):
        if n >= size:
            return f"{num(n / size, 3)} {unit}"
    return f"{int(n)} B"


# --------------------------------------------------------------------------------- the limit

_override: tuple[int, str] | None = None


def set_memory_limit(size: str | int | None, source: str = "--memory-limit") -> None:
    """Override the memory limit for this process (None: back to the default)."""
    global _override
    if size is None:
        _override = None
        return
    value = size if isinstance(size, int) else parse_size(size, source)
    _override = (value, f"{source} {size}")


def pin_memory_limit(limit: tuple[int, str]) -> None:
    """Keep ``limit`` (what :func:`memory_limit` gave in the parent) as this process's limit:
    a child process under an address-space limit of its own (the PyNN script's) would
    otherwise see a lower figure than the snncc that started it."""
    global _override
    _override = (int(limit[0]), str(limit[1]))


def _ram() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


#: (time read, limit) of :func:`_cgroup`: the files are read again after CGROUP_SECONDS
_cgroup_seen: tuple[float, int | None] | None = None
#: how long a cgroup limit read is reused (each read opens files: tens of microseconds on every run of a
#: small network)
CGROUP_SECONDS = 1.0


def _cgroup() -> int | None:
    """The memory limit of this process's cgroup, read at most once per :data:`CGROUP_SECONDS`."""
    global _cgroup_seen
    now = time.monotonic()
    if _cgroup_seen is None or now - _cgroup_seen[0] > CGROUP_SECONDS:
        _cgroup_seen = (now, _read_cgroup())
    return _cgroup_seen[1]


def _read_cgroup() -> int | None:
    """The memory limit of this process's cgroup (v2 memory.max or v1 limit_in_bytes)."""
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as f:
                text = f.read().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < (1 << 60):
            return int(text)
    return None


def _address_space_left() -> int | None:
    """What ``ulimit -v`` (RLIMIT_AS) still allows this process to map, or None."""
    try:
        import resource
        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
    except (ImportError, ValueError, OSError):
        return None
    if soft == resource.RLIM_INFINITY:
        return None
    try:
        with open("/proc/self/statm") as fh:
            mapped = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        mapped = 0
    return max(soft - mapped, 0)


def _found() -> list[tuple[int, str, int]]:
    """(bytes snncc may plan to use, which limit, that limit in bytes) of each limit found."""
    out = [(int(x * MEMORY_SHARE), kind, x) for kind, x in (("ram", _ram()), ("cgroup", _cgroup())) if x]
    left = _address_space_left()
    if left is not None:
        out.append((int(left * MEMORY_SHARE), "ulimit", left))
    return out


_WORDS = {"ram": "{pct} of this computer's {size} of RAM",
          "cgroup": "{pct} of the {size} cgroup memory limit",
          "ulimit": "{pct} of the {size} address space that ulimit -v leaves"}


def memory_limit() -> tuple[int, str]:
    """(bytes snncc may plan to use, where that figure comes from, in words)."""
    if _override is not None:
        return _override
    env = os.environ.get(MEMORY_ENV)
    if env:
        return parse_size(env, MEMORY_ENV), f"{MEMORY_ENV}={env}"
    options = [(n, _WORDS[kind].format(pct=f"{MEMORY_SHARE:.0%}", size=nbytes(raw))) for n, kind, raw in _found()]
    return min(options) if options else (1 << 62, "no limit found")


def memory_limit_bytes() -> int:
    """``memory_limit()[0]`` without the words (a check that passes needs only the figure)."""
    if _override is not None:
        return _override[0]
    env = os.environ.get(MEMORY_ENV)
    if env:
        return parse_size(env, MEMORY_ENV)
    return min((n for n, _, _ in _found()), default=1 << 62)


RAISE_HINT = (f"if this computer really has the memory, raise the limit with --memory-limit SIZE or "
              f"{MEMORY_ENV}=SIZE")
HINT = "make the model smaller; " + RAISE_HINT


def too_big(need: float, what: str, loc: Loc | None = None, hint: str | None = None) -> SnnccError:
    limit, source = memory_limit()
    return SnnccError(f"{what} needs about {nbytes(need)} of memory; snncc's limit is {nbytes(limit)} "
                      f"({source})", loc, hint=hint or HINT)


def require(need: float, what: str, loc: Loc | None = None, hint: str | None = None) -> None:
    """Refuse (SnnccError, exit 2) when ``need`` bytes exceed the memory limit. ``what``
    names the object and the figure: ``"population 'a' (1e+09 neurons)"``."""
    if need > memory_limit()[0]:
        raise too_big(need, what, loc, hint)


@dataclass
class Ledger:
    """Memory claimed so far while a model is read or run; refuses the claim that crosses
    the limit, naming it and the total. One per model load or simulation."""

    total: float = 0.0
    items: list[tuple[str, float]] = field(default_factory=list)
    _limit: int | None = field(default=None, repr=False)     # found at the first claim

    def claim(self, need: float, what: str, loc: Loc | None = None, hint: str | None = None) -> None:
        need = float(need)
        if self._limit is None:
            self._limit = memory_limit()[0]
        limit = self._limit
        if need > limit:
            raise too_big(need, what, loc, hint)
        if self.total + need > limit:
            big = max(self.items, key=lambda it: it[1])
            limit, source = memory_limit()
            raise SnnccError(f"{what} needs about {nbytes(need)}, and with the {nbytes(self.total)} the model "
                             f"already holds (most of it {big[0]}) that is {nbytes(self.total + need)} of memory; "
                             f"snncc's limit is {nbytes(limit)} ({source})", loc, hint=hint or HINT)
        self.total += need
        self.items.append((what, need))


def memory_error(e: MemoryError) -> SnnccError:
    """A MemoryError raised anywhere, as a clean error that names the allocation that failed."""
    size = getattr(e, "_total_size", None)           # numpy's _ArrayMemoryError
    shape, dtype = getattr(e, "shape", None), getattr(e, "dtype", None)
    limit, source = memory_limit()
    if size is not None:
        arr = f"an array of {nbytes(size)}"
        if shape is not None and dtype is not None:
            arr += f" (shape {tuple(int(x) for x in shape)}, {dtype})"
        what = f"{arr} could not be allocated"
    else:
        what = f"an allocation failed ({e})" if str(e) else "an allocation failed"
    return SnnccError(f"the model does not fit in memory: {what}; snncc's limit is {nbytes(limit)} "
                      f"({source})", hint="make the model smaller (neurons, synapses, delays, run length or "
                                          "recorded variables)")
