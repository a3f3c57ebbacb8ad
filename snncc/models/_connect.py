"""Vectorised random connectivity (int32 indices)."""
from __future__ import annotations

import decimal

import numpy as np


def bernoulli_pairs(rng: np.random.Generator, n_pre: int, n_post: int, p: float,
                    autapses: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Each (pre, post) pair independently with probability ``p`` (PyNN FixedProbabilityConnector).

    Draws the number of synapses from the binomial and then that many distinct pairs
    uniformly, which is the same distribution without an n_pre x n_post mask.
    """
    total = n_pre * n_post
    k = int(rng.binomial(total, p)) if total else 0
    chosen = np.zeros(0, dtype=np.int64)
    while chosen.size < k:
        extra = rng.integers(0, total, size=int((k - chosen.size) * 1.05) + 16, dtype=np.int64)
        chosen = np.unique(np.concatenate((chosen, extra)))
    if chosen.size > k:
        chosen = rng.choice(chosen, size=k, replace=False)
        chosen.sort()
    pre, post = np.divmod(chosen, n_post)
    if not autapses:
        keep = pre != post
        pre, post = pre[keep], post[keep]
    return pre.astype(np.int32), post.astype(np.int32)


def fixed_indegree(rng: np.random.Generator, n_pre: int, n_post: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``k`` presynaptic partners drawn with replacement for every post neuron (multapses allowed)."""
    post = np.repeat(np.arange(n_post, dtype=np.int32), k)
    pre = rng.integers(0, n_pre, size=post.size, dtype=np.int32)
    return pre, post


def fixed_total(rng: np.random.Generator, n_pre: int, n_post: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``k`` synapses with uniformly random ends (NEST fixed_total_number, multapses allowed), sorted by post.

    The number of synapses per post neuron is multinomial(k, uniform) and the pre ends
    are independent of it, so drawing the counts and repeating gives the same
    distribution as drawing k post ends and sorting them, in O(k) and without a sort.
    """
    counts = rng.multinomial(k, np.full(n_post, 1.0 / n_post)) if n_post else np.zeros(0, np.int64)
    post = np.repeat(np.arange(n_post, dtype=np.int32), counts)
    pre = rng.integers(0, n_pre, size=k, dtype=np.int32)
    return pre, post


def poisson_channels(rate_hz: float, dt: float, tail: float = 1e-9) -> int:
    """Binary channels needed so a Poisson count per step exceeds ``2**bits - 1`` with
    probability below ``tail``."""
    lam = rate_hz * dt / 1000.0
    if lam <= 0:
        return 1
    # P(count > top) = 1 - sum_{i <= top} e^-lam lam^i / i!, in decimal arithmetic (60 digits) so
    # that the bit count is the same on every machine (libm's exp/lgamma differ in the last bit)
    ctx = decimal.Context(prec=60)
    lam_d = decimal.Decimal(lam)
    term = ctx.exp(-lam_d)               # i = 0
    cdf, i, bits = term, 0, 1
    while True:
        top = (1 << bits) - 1
        while i < top:
            i += 1
            term = ctx.divide(ctx.multiply(term, lam_d), i)
            cdf = ctx.add(cdf, term)
        if 1 - cdf <= decimal.Decimal(tail):
            return bits
        bits += 1


def poisson_spikes(rng: np.random.Generator, n: int, rate_hz: float, steps: int, dt: float,
                   bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Poisson input of ``rate_hz`` per neuron as spikes of ``n * bits`` source channels.

    Per step a neuron receives ``c ~ Poisson(rate*dt)`` events; channel ``b`` of
    neuron ``i`` (source index ``i*bits + b``) fires when bit ``b`` of ``c`` is set,
    so a projection with weight ``w * 2**b`` delivers exactly ``c * w`` in one step
    even when ``c > 1`` (truncated at ``2**bits - 1``; see :func:`poisson_channels`).
    Returns (source index, time ms), drawn in blocks of steps so memory stays small.
    """
    lam = rate_hz * dt / 1000.0
    top = (1 << bits) - 1
    block = max(1, (1 << 22) // max(n, 1))       # ~4 M counts per draw
    idx, tim = [], []
    for t0 in range(0, steps, block):
        c = np.minimum(rng.poisson(lam, (min(block, steps - t0), n)), top)
        ts, ns = np.nonzero(c)
        cs = c[ts, ns]
        for b in range(bits):
            on = ((cs >> b) & 1) == 1
            idx.append((ns[on] * bits + b).astype(np.int32))
            tim.append((ts[on] + t0) * dt)
    if not idx:
        return np.zeros(0, np.int32), np.zeros(0)
    return np.concatenate(idx), np.concatenate(tim)


def channel_projection_arrays(n: int, bits: int, weight: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pre, post, weight) wiring :func:`poisson_spikes` channels onto ``n`` neurons."""
    pre = np.arange(n * bits, dtype=np.int32)
    post = (pre // bits).astype(np.int32)
    w = weight * np.ldexp(1.0, pre % bits)
    return pre, post, w
