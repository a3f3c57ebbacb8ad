"""Pair STDP emitted for sPyNNaker (backends/spinnaker/snncc_spinnaker/stdp.py)."""
from __future__ import annotations

import pytest

from snncc.errors import SnnccError
from snncc.ir import STDP

pytestmark = pytest.mark.spinnaker
stdp = pytest.importorskip("snncc_spinnaker.stdp", reason="the spinnaker backend is not installed")


def test_additive_amplitudes_become_absolute_weights():
    spec = stdp.stdp_spec(STDP(tau_plus=16.8, tau_minus=33.7, A_plus=0.01, A_minus=0.012, w_min=0.0, w_max=2.0))
    assert spec == {"timing": "SpikePairRule", "tau_plus": 16.8, "tau_minus": 33.7, "A_plus": 0.02,
                    "A_minus": 0.024, "weight_dependence": "AdditiveWeightDependence", "w_min": 0.0, "w_max": 2.0}


def test_multiplicative_amplitudes_stay_fractions():
    spec = stdp.stdp_spec(STDP(A_plus=0.05, A_minus=0.04, w_max=3.0, weight_dependence="multiplicative"))
    assert (spec["A_plus"], spec["A_minus"], spec["weight_dependence"]) == (0.05, 0.04,
                                                                           "MultiplicativeWeightDependence")


def test_an_unknown_weight_dependence_is_refused():
    with pytest.raises(SnnccError) as e:
        stdp.stdp_spec(STDP(weight_dependence="gutig"))
    assert e.value.message == ("STDP weight dependence 'gutig' has no sPyNNaker counterpart "
                               "(have additive, multiplicative)")


def test_the_mechanism_is_built_from_pynn_classes():
    from types import SimpleNamespace

    def rec(kind):
        return lambda **kw: (kind, kw)
    sim = SimpleNamespace(SpikePairRule=rec("pair"), AdditiveWeightDependence=rec("add"),
                          MultiplicativeWeightDependence=rec("mul"), STDPMechanism=rec("stdp"))
    spec = stdp.stdp_spec(STDP(tau_plus=10.0, tau_minus=12.0, A_plus=0.01, A_minus=0.02, w_max=2.0))
    assert stdp.synapse_dynamics(sim, spec) == ("stdp", {
        "timing_dependence": ("pair", {"tau_plus": 10.0, "tau_minus": 12.0, "A_plus": 0.02, "A_minus": 0.04}),
        "weight_dependence": ("add", {"w_min": 0.0, "w_max": 2.0})})
