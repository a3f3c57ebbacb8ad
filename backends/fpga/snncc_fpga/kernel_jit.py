"""The ``fpga`` kernel's compiled step loop (numba): kernel.py's equations, neuron by neuron.

kernel.py's numpy ``step`` is the specification (and the per-step path); this loop
computes the same integers in the same order, and tests/test_refsim_threads.py
(test_integer_kernels_are_bit_identical_for_any_threads_and_path) checks that the two agree
bit for bit. Imported only when the engine runs the compiled loop.
"""
from __future__ import annotations

from snncc.plugin import numba  # numba, its cache keyed by snncc's compiled code
import numpy as np

from snncc.plugin import STEP, compact, deliver_part, record_part, slot_of, steps_seq, steps_team

from .limits import ACC_BITS, FINE_BITS, I_BITS, V_BITS


@numba.njit(cache=True, nogil=True, inline="always")
def _wrap(x, bits):
    half = np.int64(1) << (bits - 1)
    return ((x + half) & ((np.int64(1) << bits) - 1)) - half


@numba.njit(cache=True, nogil=True, inline="always")
def _sat(x, bits):
    half = np.int64(1) << (bits - 1)
    return min(max(x, -half), half - 1)


@numba.njit(cache=True, nogil=True, inline="always")
def _run_of(m, xe, xi, v, i_e, i_i, r, c, fired):
    """Neurons 0..m-1 of slices sharing the parameter set ``c`` (FpgaKernel.ROWS: th, reset, bias,
    k_leak, k_e, k_i, k_w, refrac, subtract, no_leak, fine, m_leak, m_e, m_i); branch-free, so LLVM
    vectorises it. A fine set decays by (x * m) >> 16 (kernel.fine_part) where it has a shift."""
    th, reset, bias, k_leak, k_e, k_i = c[0], c[1], c[2], c[3], c[4], c[5]
    k_w, refrac, subtract, no_leak = c[6], c[7], c[8] != 0, c[9] != 0
    fine, m_leak, m_e, m_i = c[10] != 0, c[11], c[12], c[13]
    fine_e, fine_i = fine and k_e != 0, fine and k_i != 0
    for k in range(m):
        ie1 = _sat(i_e[k] + (_wrap(xe[k], ACC_BITS) << k_w), I_BITS)
        ii1 = _sat(i_i[k] + (_wrap(xi[k], ACC_BITS) << k_w), I_BITS)
        vk = v[k]
        rk = r[k]
        refr = rk != 0
        leak = 0 if no_leak else ((vk * m_leak) >> FINE_BITS if fine else vk >> k_leak)
        v1 = vk if refr else _sat(vk - leak + ie1 + ii1 + bias, V_BITS)
        r1 = rk - 1 if refr else rk
        spike = (not refr) and v1 >= th
        fired[k] = spike
        after = _sat(v1 - th, V_BITS) if subtract else reset
        v[k] = after if spike else v1
        r[k] = refrac if spike else r1
        i_e[k] = ie1 - ((ie1 * m_e) >> FINE_BITS if fine_e else ie1 >> k_e)
        i_i[k] = ii1 - ((ii1 * m_i) >> FINE_BITS if fine_i else ii1 >> k_i)


@numba.njit(**STEP)
def _part(p, t, ring, route, src, buf, rec, err, K):
    v, i_e, i_i, r, run_start, tab, fired, words = K
    deliver_part(p, t - 1, ring, route, src, buf)
    bounds, spk, cnt = buf
    lo, hi = bounds[p], bounds[p + 1]
    xe, xi = slot_of(p, t, ring, route)
    q = np.searchsorted(run_start, lo, side="right") - 1
    a = lo
    while a < hi:
        b = min(hi, run_start[q + 1])
        _run_of(b - a, xe[a - lo:b - lo], xi[a - lo:b - lo], v[a:b], i_e[a:b], i_i[a:b], r[a:b], tab[q],
                fired[a:b])
        a = b
        q += 1
    xe[:] = 0
    xi[:] = 0
    cnt[t & 1, p] = compact(lo, hi, fired, words, spk[t & 1, p])
    record_part(p, t, rec, v, i_e, i_i, r)


@numba.njit(cache=True, parallel=True)
def run_par(t0, t1, ring, route, src, buf, rec, ev, err, K, team):
    steps_team(t0, t1, ring, route, src, buf, rec, ev, err, K, team, _part)


@numba.njit(**STEP)
def run_seq(t0, t1, ring, route, src, buf, rec, ev, err, K):
    return steps_seq(t0, t1, ring, route, src, buf, rec, ev, err, K, _part)
