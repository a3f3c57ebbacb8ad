"""Member refinement of a partition: move and swap neurons between the cores of one population.

After the contiguous split, neurons may change cores within their population where
that lowers the traffic (one packet per (source neuron, destination core), the source
on another core) and every per-core limit still holds. The state is the pre-count
matrix ``C[j, k]``: how many neurons on core ``k`` (of the population) neuron or
source ``j`` feeds. A packet (j, k) exists where ``C[j, k] > 0`` and j is not on k.
Moving post neuron n from core a to core b then gains, exactly:

* +1 for each distinct input j (not n) with ``C[j, a] == 1`` and j not on a (the
  packet to a is no longer needed), -1 for each with ``C[j, b] == 0`` and j not on b;
* +[C[n, b] > 0] - [C[n, a] - self > 0] for n's own output (n's packets to b become
  local, those to a become remote; ``self``: n feeds itself).

Fiduccia-Mattheyses style passes: every neuron's best gain is computed, neurons are
visited in order of falling gain, each takes the best positive move that keeps the
limits or, when the target core is full (neurons, synapses or fan-in), the best swap
with one of the ``SWAP_CANDIDATES`` neurons of the target core whose cached gain
towards the source core is highest (evaluated exactly after the first move). A moved
neuron is locked for the rest of the pass. Only positive moves and swaps are taken, so
traffic falls monotonically; passes stop when one adds under 0.5 % to what the
earlier ones gained, or after ``MAX_PASSES``. Core counts never change (no core is emptied). Deterministic.
"""
from __future__ import annotations

from ..jitcache import numba  # numba's cache keyed by the engine's sources
import numpy as np

MAX_PASSES = 24
SWAP_CANDIDATES = 8
#: a neuron may go to the cores within this many of its own (bounds the work on big populations)
TARGET_SPAN = 16
#: the work (synapse visits) refinement may cost in all, and the largest C matrix (bytes)
MOVE_BUDGET = 2_000_000_000
MAX_MATRIX_BYTES = 256 << 20


def unique_inputs(indptr, pre, n_neurons, ranges=None):
    """(CSR indptr, distinct presynaptic indices, self-loop flag) per post neuron; with
    ``ranges`` (a list of [lo, hi) neuron ranges) only those neurons' rows are filled (the
    others are empty), so refining a few populations costs their synapses, not all."""
    if ranges is None:
        ranges = [(0, n_neurons)]
    r = np.asarray(sorted(ranges), dtype=np.int64).reshape(-1, 2)
    room = int(sum(indptr[hi] - indptr[lo] for lo, hi in r))
    return _unique_inputs(indptr, pre, n_neurons, r, room)


@numba.njit(cache=True, nogil=True)
def _unique_inputs(indptr, pre, n_neurons, ranges, room):
    uptr = np.zeros(n_neurons + 1, dtype=np.int64)
    upre = np.empty(room, dtype=np.int32)
    selfloop = np.zeros(n_neurons, dtype=np.int8)
    w = 0
    nxt = 0
    for n in range(n_neurons):
        while nxt < ranges.shape[0] and n >= ranges[nxt, 1]:
            nxt += 1
        if nxt >= ranges.shape[0] or n < ranges[nxt, 0]:
            uptr[n + 1] = w
            continue
        row = np.sort(pre[indptr[n]:indptr[n + 1]])
        last = -1
        for x in row:
            if x != last:
                upre[w] = x
                w += 1
                last = x
                if x == n:
                    selfloop[n] = 1
        uptr[n + 1] = w
    return uptr, upre[:w].copy(), selfloop


@numba.njit(cache=True, nogil=True)
def _gains(n, a, first, K, span, uptr, upre, selfloop, core_of, n_neurons, C, g, newfan):
    """Exact gain of moving n from local core a to each core within ``span`` of a (others
    and g[a]: a large negative number) and the inputs each target would newly gain
    (fan-in); returns the fan-in a would lose."""
    b0 = max(0, a - span)
    b1 = min(K, a + span + 1)
    g[:] = -(1 << 40)
    g[b0:b1] = 0
    newfan[:] = 0
    save = 0
    lost = 0
    for q in range(uptr[n], uptr[n + 1]):
        j = upre[q]
        cj = core_of[j] - first if j < n_neurons else -1
        if C[j, a] == 1:
            lost += 1
            if cj != a and j != n:
                save += 1
        for b in range(b0, b1):
            if b != a and C[j, b] == 0:
                newfan[b] += 1
                if cj != b and j != n:
                    g[b] -= 1
    ca = 1 if C[n, a] - selfloop[n] > 0 else 0
    for b in range(b0, b1):
        g[b] += save - ca + (1 if C[n, b] > 0 else 0)
    g[a] = -(1 << 40)
    return lost


@numba.njit(cache=True, nogil=True)
def _gain_one(n, a, b, first, uptr, upre, selfloop, core_of, n_neurons, C):
    """(gain, fan-in b gains, fan-in a loses) of moving n from local core a to b."""
    gain = 0
    new = 0
    lost = 0
    for q in range(uptr[n], uptr[n + 1]):
        j = upre[q]
        cj = core_of[j] - first if j < n_neurons else -1
        if C[j, a] == 1:
            lost += 1
            if cj != a and j != n:
                gain += 1
        if C[j, b] == 0:
            new += 1
            if cj != b and j != n:
                gain -= 1
    gain += (1 if C[n, b] > 0 else 0) - (1 if C[n, a] - selfloop[n] > 0 else 0)
    return gain, new, lost


@numba.njit(cache=True, nogil=True)
def _apply(n, a, b, first, uptr, upre, deg, core_of, C, cnt, syn, fan):
    for q in range(uptr[n], uptr[n + 1]):
        j = upre[q]
        C[j, a] -= 1
        if C[j, a] == 0:
            fan[a] -= 1
        if C[j, b] == 0:
            fan[b] += 1
        C[j, b] += 1
    syn[a] -= deg[n]
    syn[b] += deg[n]
    cnt[a] -= 1
    cnt[b] += 1
    core_of[n] = first + b


@numba.njit(cache=True, nogil=True)
def _core_loads(lo, hi, first, K, uptr, upre, deg, core_of, n_pre):
    """Per core of [first, first + K): C[pre, core] (inputs of the core's members from each
    presynaptic neuron), members, synapses and fan-in."""
    C = np.zeros((n_pre, K), dtype=np.int32)
    cnt = np.zeros(K, dtype=np.int64)
    syn = np.zeros(K, dtype=np.int64)
    fan = np.zeros(K, dtype=np.int64)
    for n in range(lo, hi):
        k = core_of[n] - first
        cnt[k] += 1
        syn[k] += deg[n]
        for q in range(uptr[n], uptr[n + 1]):
            C[upre[q], k] += 1
    for j in range(n_pre):
        for k in range(K):
            if C[j, k] > 0:
                fan[k] += 1
    return C, cnt, syn, fan


@numba.njit(cache=True, nogil=True)
def _cache_gains(lo, m, first, K, span, uptr, upre, selfloop, core_of, n_neurons, C, g, newfan,
                 G, best, home):
    """At the start of a pass, each member i's core (``home``), its gain towards every core
    (``G``) and its best gain towards another core (``best``)."""
    for i in range(m):
        n = lo + i
        a = core_of[n] - first
        home[i] = a
        _gains(n, a, first, K, span, uptr, upre, selfloop, core_of, n_neurons, C, g, newfan)
        bg = -(1 << 62)
        for b in range(K):
            G[i, b] = g[b]
            if b != a and g[b] > bg:
                bg = g[b]
        best[i] = bg


@numba.njit(cache=True, nogil=True)
def _swap_candidates(lo, K, span, n_cand, home, G):
    """cand[b, a]: up to ``n_cand`` members of core b sorted by cached gain towards core a."""
    cand = np.full((K, K, n_cand), -1, dtype=np.int64)
    for b in range(K):
        idx = np.flatnonzero(home == b)
        for a in range(max(0, b - span), min(K, b + span + 1)):
            if a == b or idx.size == 0:
                continue
            o = np.argsort(-G[idx, a], kind="mergesort")
            for t in range(min(n_cand, idx.size)):
                cand[b, a, t] = lo + idx[o[t]]
    return cand


@numba.njit(cache=True, nogil=True)
def _move(n, lo, first, K, span, uptr, upre, selfloop, deg, core_of, n_neurons, C, cnt, syn, fan,
          g, newfan, cand, locked, n_cand, max_n, max_fan, max_syn):
    """Move neuron ``n`` to the core it gains most towards (of its two best), where the core
    has room; else swap it with that core's best candidate back. Returns (gain, neurons moved)."""
    a = core_of[n] - first
    _gains(n, a, first, K, span, uptr, upre, selfloop, core_of, n_neurons, C, g, newfan)
    # targets by falling gain (K is small)
    tried = 0
    while tried < 2:
        b = -1
        bg = 0
        for k in range(K):
            if k != a and g[k] > bg:
                bg = g[k]
                b = k
        if b < 0:
            break
        tried += 1
        gb = g[b]
        g[b] = 0          # not again
        if (cnt[b] + 1 <= max_n and syn[b] + deg[n] <= max_syn and fan[b] + newfan[b] <= max_fan
                and cnt[a] > 1):
            _apply(n, a, b, first, uptr, upre, deg, core_of, C, cnt, syn, fan)
            locked[n - lo] = True
            return gb, 1
        # swap: n to b, then the best candidate of b back to a
        _apply(n, a, b, first, uptr, upre, deg, core_of, C, cnt, syn, fan)
        pick = -1
        pick_g = 0
        for t in range(n_cand):
            c = cand[b, a, t]
            if c < 0:
                break
            if locked[c - lo] or c == n or core_of[c] != first + b:
                continue
            gm, new, lst = _gain_one(c, b, a, first, uptr, upre, selfloop, core_of, n_neurons, C)
            if (gb + gm > pick_g and cnt[a] + 1 <= max_n and cnt[b] - 1 <= max_n
                    and syn[a] + deg[c] <= max_syn and syn[b] - deg[c] <= max_syn
                    and fan[a] + new <= max_fan and fan[b] - lst <= max_fan):
                pick = c
                pick_g = gb + gm
        if pick >= 0:
            _apply(pick, b, a, first, uptr, upre, deg, core_of, C, cnt, syn, fan)
            locked[n - lo] = True
            locked[pick - lo] = True
            return pick_g, 2
        _apply(n, b, a, first, uptr, upre, deg, core_of, C, cnt, syn, fan)
    return 0, 0


@numba.njit(cache=True, nogil=True)
def refine_population(lo, hi, first, K, uptr, upre, selfloop, deg, core_of, n_neurons, n_pre,
                      max_n, max_fan, max_syn, max_passes, n_cand, span):
    """Refine the cores [first, first + K) of population neurons [lo, hi) in place
    (``core_of``); returns (traffic gained, neurons moved, passes run).

    Each pass caches every member's gains, then visits members by falling best gain and
    moves (or swaps) each at most once; passes stop when one adds under 0.5 %."""
    C, cnt, syn, fan = _core_loads(lo, hi, first, K, uptr, upre, deg, core_of, n_pre)
    m = hi - lo
    G = np.empty((m, K), dtype=np.int64)
    best = np.empty(m, dtype=np.int64)
    g = np.empty(K, dtype=np.int64)
    newfan = np.empty(K, dtype=np.int64)
    locked = np.zeros(m, dtype=np.bool_)
    home = np.empty(m, dtype=np.int64)
    total = 0
    moved = 0
    passes = 0
    for _ in range(max_passes):
        passes += 1
        _cache_gains(lo, m, first, K, span, uptr, upre, selfloop, core_of, n_neurons, C, g, newfan,
                     G, best, home)
        cand = _swap_candidates(lo, K, span, n_cand, home, G)
        locked[:] = False
        order = np.argsort(-best, kind="mergesort")
        gained = 0
        for i in order:
            if best[i] <= 0:
                break
            if locked[i]:
                continue
            gain, k = _move(lo + i, lo, first, K, span, uptr, upre, selfloop, deg, core_of, n_neurons, C,
                            cnt, syn, fan, g, newfan, cand, locked, n_cand, max_n, max_fan, max_syn)
            gained += gain
            moved += k
        total += gained
        if gained * 200 <= total:      # converged: a pass adds under 0.5 %
            break
    return total, moved, passes
