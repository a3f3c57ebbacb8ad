"""The kernels of the installed targets, by target name: the simulator's side of the plugin registry.

A fixed-stage network carries the name of the target it was lowered for, and runs on that
target's integer kernel. The simulator does not know the targets (they sit a layer above it);
the target registry (``snncc.targets.get``) registers each target's kernel factory here when it
loads the target, so every network lowered in this process finds its kernel.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ..errors import SnnccError

if TYPE_CHECKING:
    from ..ir import Network
    from .kernel import Kernel

#: target name -> kernel(net, strict=...) of that target
KernelFactory = Callable[..., "Kernel"]
_FACTORIES: dict[str, KernelFactory] = {}


def register(target: str, factory: KernelFactory) -> None:
    """Make ``factory(net, strict=...)`` the kernel of networks lowered for ``target``."""
    _FACTORIES[target] = factory


def lookup(net: "Network") -> KernelFactory:
    """The kernel factory of the target ``net`` was lowered for."""
    factory = _FACTORIES.get(str(net.target))
    if factory is None:
        raise SnnccError(f"network '{net.name}' was lowered for target '{net.target}', whose kernel is not "
                         "loaded in this process",
                         hint=f"load the target first (snncc.get_target('{net.target}')), or run it with "
                              "snncc.simulate, which does")
    return factory
