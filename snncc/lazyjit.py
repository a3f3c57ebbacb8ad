"""``njit`` applied on first call, so a module can define compiled helpers without importing numba.

Importing numba costs about 0.3 s and its first compiled call another 0.3 s; a small
model (``snncc run examples/tiny.yaml``) should not pay that for code it never runs.
Functions decorated here are called from Python only (a compiled function cannot call
them: it would see this wrapper, not a numba dispatcher).
"""
from __future__ import annotations

import functools


def njit(**options):
    """Like ``numba.njit(**options)``, but numba is imported and the function compiled (or
    loaded from numba's cache) on its first call."""
    def decorate(fn):
        dispatcher = None

        @functools.wraps(fn)
        def call(*args):
            nonlocal dispatcher
            if dispatcher is None:
                from .jitcache import numba  # its cache keyed by the engine's sources
                dispatcher = numba.njit(**options)(fn)
            return dispatcher(*args)

        return call
    return decorate
