"""The SpiNNaker limits module against the installed sPyNNaker 7.4.1 sources."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.spinnaker
pytest.importorskip("spynnaker")

from snncc_spinnaker import limits as L  # noqa: E402


@pytest.fixture(scope="module")
def version5():
    from spinn_utilities.config_holder import set_config
    from spynnaker.pyNN.config_setup import unittest_setup
    unittest_setup()
    set_config("Machine", "version", "5")
    from spinn_machine.version.version_5 import Version5
    return Version5()


def test_chip_figures_match_spinn_machine(version5):
    assert L.CORES_PER_CHIP == version5.max_cores_per_chip
    assert L.SCAMP_CORES == version5.n_scamp_cores
    assert L.SDRAM_PER_CHIP == version5.max_sdram_per_chip
    assert L.ROUTER_ENTRIES == version5.n_router_entries
    assert L.DTCM_BYTES == version5.dtcm_bytes
    assert L.BOARD_SHAPE == tuple(version5.board_shape)
    assert L.BOARD_CHIPS == frozenset(version5.chip_core_map)
    assert len(L.BOARD_CHIPS) == L.CHIPS_PER_BOARD


def test_spynnaker_constants():
    from spynnaker.pyNN.models.neuron.abstract_pynn_neuron_model import DEFAULT_MAX_ATOMS_PER_CORE
    from spynnaker.pyNN.models.utility_models.delays.delay_extension_vertex import DelayExtensionVertex
    from spynnaker.pyNN.utilities.constants import MAX_RING_BUFFER_BITS
    assert L.NEURONS_PER_CORE == DEFAULT_MAX_ATOMS_PER_CORE
    assert L.MAX_RING_BUFFER_BITS == MAX_RING_BUFFER_BITS
    assert L.DELAY_EXTENSION_SLOTS == DelayExtensionVertex.MAX_SLOTS


@pytest.mark.parametrize("npc", [1, 2, 20, 100, 255, 256])
def test_delay_slots_follow_spynnaker(npc):
    """On-core slots as PopulationVertex computes them; total with one delay extension."""
    from spynnaker.pyNN.models.utility_models.delays.delay_extension_vertex import DelayExtensionVertex
    from spynnaker.pyNN.utilities.constants import MAX_RING_BUFFER_BITS
    from spynnaker.pyNN.utilities.utility_calls import get_n_bits
    slots = 2 ** (MAX_RING_BUFFER_BITS - (get_n_bits(npc) + get_n_bits(2)))
    assert L.on_core_delay_slots(npc) == slots
    assert L.max_delay_steps(npc) == slots + DelayExtensionVertex.get_max_delay_ticks_supported(slots)
    assert L.limits(npc).max_delay_steps == L.max_delay_steps(npc)


def test_default_limits():
    assert L.LIMITS.neurons_per_core == 256
    assert L.LIMITS.max_delay_steps == 32 * 9
    assert L.LIMITS.cores_per_chip == 16
    assert L.LIMITS.weight_bits == 16


def test_neurons_per_core_configures_a_new_target_and_leaves_the_registered_one_alone():
    """-O neurons_per_core resolves into the limits of the configured target (a frozen Limits);
    the registry's cached instance keeps the defaults for the next compile."""
    from snncc import targets
    t = targets.get("spinnaker")
    before = t.limits
    c = t.configured(t.parse_options({"neurons_per_core": "64"}))
    assert c is not t and c.limits == L.limits(64) and c.limits.neurons_per_core == 64
    assert t.limits is before and before.neurons_per_core == L.NEURONS_PER_CORE
    assert len(c.pipeline({"neurons_per_core": 64})) > 0 and t.limits is before
