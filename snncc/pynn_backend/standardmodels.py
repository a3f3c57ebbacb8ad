"""The standard cell, synapse and plasticity types snncc compiles, under PyNN's own names.

Native names are the standard names (no translation): the captured parameters are
already in PyNN units, which are the IR's.
"""
from __future__ import annotations

from pyNN.standardmodels import build_translations, cells, synapses

from .simulator import state


def _identity(cls):
    names = list(cls.default_parameters)
    return build_translations(*[(n, n) for n in names])


class IF_curr_exp(cells.IF_curr_exp):
    __doc__ = cells.IF_curr_exp.__doc__
    translations = _identity(cells.IF_curr_exp)


class IF_curr_delta(cells.IF_curr_delta):
    __doc__ = cells.IF_curr_delta.__doc__
    translations = _identity(cells.IF_curr_delta)


class SpikeSourceArray(cells.SpikeSourceArray):
    __doc__ = cells.SpikeSourceArray.__doc__
    translations = _identity(cells.SpikeSourceArray)


class SpikeSourcePoisson(cells.SpikeSourcePoisson):
    __doc__ = cells.SpikeSourcePoisson.__doc__
    translations = _identity(cells.SpikeSourcePoisson)


def _min_delay(self):
    d = state.min_delay
    return state.dt if d == "auto" else d


class StaticSynapse(synapses.StaticSynapse):
    __doc__ = synapses.StaticSynapse.__doc__
    translations = build_translations(("weight", "weight"), ("delay", "delay"))
    _get_minimum_delay = _min_delay


class STDPMechanism(synapses.STDPMechanism):
    __doc__ = synapses.STDPMechanism.__doc__
    base_translations = build_translations(("weight", "weight"), ("delay", "delay"),
                                           ("dendritic_delay_fraction", "dendritic_delay_fraction"))
    _get_minimum_delay = _min_delay


class AdditiveWeightDependence(synapses.AdditiveWeightDependence):
    __doc__ = synapses.AdditiveWeightDependence.__doc__
    translations = build_translations(("w_max", "w_max"), ("w_min", "w_min"))


class MultiplicativeWeightDependence(synapses.MultiplicativeWeightDependence):
    __doc__ = synapses.MultiplicativeWeightDependence.__doc__
    translations = build_translations(("w_max", "w_max"), ("w_min", "w_min"))


class SpikePairRule(synapses.SpikePairRule):
    __doc__ = synapses.SpikePairRule.__doc__
    translations = build_translations(("tau_plus", "tau_plus"), ("tau_minus", "tau_minus"),
                                      ("A_plus", "A_plus"), ("A_minus", "A_minus"))


#: cell types a script may use; anything else is reported with its line
SUPPORTED_CELLS = ("IF_curr_exp", "IF_curr_delta", "SpikeSourceArray", "SpikeSourcePoisson")
