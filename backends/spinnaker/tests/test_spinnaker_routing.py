"""snncc's routing-entry count for the spinnaker target (snncc_spinnaker.routing), on
placements small enough to count by hand, and beside sPyNNaker's on a virtual board."""
from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.spinnaker
pytest.importorskip("spynnaker")

from snncc.ir import MODEL_PARAMS, Network, Population, Projection  # noqa: E402
from snncc_spinnaker.routing import path, routing_entries  # noqa: E402

E, NE, N, W, SW, S = range(6)


def pop(name, size):
    params = {k: np.full(size, float(d)) for k, (d, _) in MODEL_PARAMS["lif"].items()}
    return Population(name, size, "lif", params, np.full(size, -65.0))


def placed(pops, prjs, slices, chips):
    """A network with a hand-made partition (slices per population) and placement."""
    net = Network("r", 1.0, 1, populations=tuple(pops), projections=tuple(prjs))
    part, core = {}, 0
    for name, sl in slices.items():
        part[name] = {"slices": sl, "cores": list(range(core, core + len(sl)))}
        core += len(sl)
    return net.with_(attrs={"partition": {"cores": core, "populations": part},
                            "placement": {"populations": chips}})


def prj(name, pre, post, pairs, rec="excitatory"):
    a, b = np.array(pairs).T
    return Projection(name, pre, post, a, b, np.full(a.size, 0.1), np.full(a.size, 1.0), rec)


def test_paths_take_the_diagonal_first_then_x_then_y():
    assert path((0, 0), (2, 3)) == [((0, 0), NE), ((1, 1), NE), ((2, 2), N)]
    assert path((3, 1), (0, 0)) == [((3, 1), SW), ((2, 0), W), ((1, 0), W)]
    assert path((0, 2), (2, 0)) == [((0, 2), E), ((1, 2), E), ((2, 2), S), ((2, 1), S)]
    assert path((1, 1), (1, 1)) == []


def test_straight_paths_use_default_routes():
    """A (2 slices on chip (0,0)) -> B (1 slice on chip (3,0)): per A slice an entry on
    the source chip and on the destination chip; chips (1,0) and (2,0) pass the packet
    straight on (default route). Merged: the two A slices share each route: one key/mask."""
    net = placed([pop("A", 4), pop("B", 2)], [prj("ab", "A", "B", [(0, 0), (3, 1)])],
                 {"A": [[0, 2], [2, 4]], "B": [[0, 2]]},
                 {"A": [[0, 0, 0], [0, 0, 1]], "B": [[3, 0, 0]]})
    r = routing_entries(net)
    assert r["routing_entries"] == 4
    assert r["routing_entries_merged"] == 2
    assert r["per_chip"] == {"0,0": 2, "3,0": 2}


def test_turns_and_self_delivery_need_entries():
    """A on (0,0) -> C on (2,1): NE to (1,1) (arrives travelling NE, leaves E: a turn),
    then E to (2,1): 3 entries. C -> C (its own core): 1 entry on (2,1)."""
    net = placed([pop("A", 2), pop("C", 2)],
                 [prj("ac", "A", "C", [(0, 1)]), prj("cc", "C", "C", [(1, 0)])],
                 {"A": [[0, 2]], "C": [[0, 2]]},
                 {"A": [[0, 0, 0]], "C": [[2, 1, 3]]})
    r = routing_entries(net)
    assert r["per_chip"] == {"0,0": 1, "1,1": 1, "2,1": 2}
    assert r["routing_entries"] == 4
    assert r["max_routing_entries_per_chip"] == 2


def test_merging_splits_runs_into_aligned_blocks():
    """Slices 1, 2, 3 of one population with one route on one chip: keys 1 and 2-3 (two
    aligned blocks), not one; a slice with another route breaks the run."""
    net = placed([pop("A", 5), pop("B", 1)],
                 [prj("ab", "A", "B", [(1, 0), (2, 0), (3, 0)])],
                 {"A": [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5]], "B": [[0, 1]]},
                 {"A": [[0, 0, k] for k in range(5)], "B": [[0, 0, 5]]})
    r = routing_entries(net)
    assert r["routing_entries"] == 3       # slices 1, 2, 3, all on chip (0,0) with B
    assert r["routing_entries_merged"] == 2


@pytest.mark.slow
def test_cuba_routing_entries_beside_spynnaker(tmp_path):
    """Both counts land in report.json; on CUBA our placement needs no more entries per
    chip than the router holds, like sPyNNaker's."""
    from snncc.compiler import compile_model
    from snncc.ir import save
    from snncc.models import cuba

    save(cuba(n=1000, p=0.02, duration=10.0, split=True), tmp_path / "c.snn")
    emit = compile_model(tmp_path / "c.snn", "spinnaker", tmp_path / "b").report()["emit"]
    assert emit["snncc_routing_entries"] >= emit["snncc_routing_entries_merged"] >= 1
    assert emit["spynnaker_routing_entries"] >= 1
    assert emit["spynnaker_routing_entries_compressed"] <= emit["spynnaker_routing_entries"]
    assert emit["snncc_max_routing_entries_per_chip"] <= emit["router_entries_per_chip_limit"]
