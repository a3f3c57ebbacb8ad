"""The built-in ``reference`` target: float numerics, no resource limits.

It runs the whole pipeline with no hardware backend installed, so a user can check a
model before choosing hardware; its kernel is the float oracle.
"""
from __future__ import annotations

from .passes import Discretise, Validate
from .targets import Limits, Target


class ReferenceTarget(Target):
    name = "reference"
    description = "ideal float64 numerics in the reference simulator (no resource limits)"
    limits = Limits()
    options: dict[str, str] = {}

    def pipeline(self, options):
        return [Validate(), Discretise()]

    def kernel(self, net, strict=False):
        from .refsim.float_kernel import FloatKernel
        return FloatKernel(net, strict=strict)

    def run(self, build, steps, options):
        from .refsim import simulate
        return simulate(build.network(), steps=steps, progress=options.get("progress"))
