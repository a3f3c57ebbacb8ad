"""User-facing errors of the fpga target: exact messages, exit 2, nothing half-configured."""
from __future__ import annotations

import os
import shutil
import struct
import threading
import tty
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("snncc_fpga", reason="the fpga backend (backends/fpga) is not installed")

from snncc.cli import main  # noqa: E402
from snncc.compiler import lower  # noqa: E402
from snncc.errors import SnnccError  # noqa: E402
from snncc.ir import Network, Population, Projection  # noqa: E402
from snncc_fpga import protocol as P  # noqa: E402
from snncc_fpga.client import Board  # noqa: E402

pytestmark = pytest.mark.fpga
ROOT = Path(__file__).resolve().parents[3]
needs_sim = pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator is not installed")


def lif(name, n):
    return Population(name, n, "lif", {"tau_m": np.full(n, 20.0), "v_thresh": np.full(n, -50.0),
                                       "v_reset": np.full(n, -65.0), "v_rest": np.full(n, -65.0),
                                       "cm": np.ones(n), "tau_syn_E": np.full(n, 5.0),
                                       "tau_syn_I": np.full(n, 5.0), "tau_refrac": np.full(n, 2.0),
                                       "i_offset": np.zeros(n)}, np.full(n, -65.0))


def chain(n, delay=1.0, w=1.0):
    return Network("big", 1.0, 10, [lif("p", n)], (), [
        Projection("c", "p", "p", np.arange(n - 1), np.arange(1, n), np.full(n - 1, w),
                   np.full(n - 1, delay))])


def test_too_many_neurons():
    with pytest.raises(SnnccError) as e:
        lower(chain(300), "fpga")
    assert e.value.message == ("network 'big' has 300 neurons; the fpga core on icebreaker holds 256 "
                               "(largest population 'p': 300)")
    assert e.value.hint == "use a larger board: --board ulx3s-45f (1024 neurons)"


def test_a_larger_board_takes_it():
    net = lower(chain(300), "fpga", {"board": "ulx3s-45f"}).network
    part = net.attrs["partition"]
    assert part["cores"] == part["lower_bound"] == 2
    assert net.attrs["fpga"]["board"] == "ulx3s-45f" and net.attrs["fpga"]["cores"] == 2


def test_delay_beyond_the_ring_without_relays():
    with pytest.raises(SnnccError) as e:
        lower(chain(10, delay=40.0), "fpga", {"relays": False})
    assert e.value.message == ("projection 'c': delay 40 steps (40 ms) exceeds the target's maximum of "
                               "32 steps")


def test_delay_beyond_the_ring_in_the_core_itself():
    from snncc_fpga.lower import FpgaMap
    net = lower(chain(10, delay=20.0), "fpga").network
    prj = net.projections[0]
    longer = net.with_(projections=[type(prj)(prj.name, prj.pre, prj.post, prj.pre_idx, prj.post_idx,
                                              prj.weight, prj.delay + 20, prj.weight_bits)])
    with pytest.raises(SnnccError) as e:
        FpgaMap().run(longer, None)
    assert e.value.message == "projection 'c': delay 40 steps; the fpga core delays 1..32 steps"


def test_too_many_parameter_sets():
    pops = [lif(f"p{k}", 2) for k in range(9)]
    pops = [Population(p.name, p.size, p.model, {**p.params, "v_thresh": np.full(2, -50.0 + k)}, p.v_init)
            for k, p in enumerate(pops)]
    net = Network("sets", 1.0, 10, pops, (), [])
    with pytest.raises(SnnccError) as e:
        lower(net, "fpga")
    assert e.value.message == "network 'sets' needs 9 distinct neuron parameter sets; the fpga core has 8"


@pytest.fixture
def tiny_build(tmp_path):
    out = tmp_path / "tiny"
    assert main(["compile", str(ROOT / "examples" / "tiny.yaml"), "--target", "fpga", "-o", str(out)]) == 0
    return out


def test_upload_without_a_port(tiny_build, capsys):
    assert main(["upload", str(tiny_build)]) == 2
    err = capsys.readouterr().err
    assert f"snncc: error: {tiny_build}: no board port given and none remembered from an upload" in err
    assert "hint: pass --port /dev/ttyUSB1" in err


def test_upload_to_a_missing_port(tiny_build, capsys):
    assert main(["upload", str(tiny_build), "--port", "/dev/snncc-no-such-port"]) == 2
    err = capsys.readouterr().err
    assert "snncc: error: cannot open serial port '/dev/snncc-no-such-port':" in err


def test_corrupt_image(tiny_build, capsys):
    img = tiny_build / "image.bin"
    data = bytearray(img.read_bytes())
    data[10] ^= 0xFF
    img.write_bytes(bytes(data))
    assert main(["upload", str(tiny_build), "--port", "sim"]) == 2
    err = capsys.readouterr().err
    assert "image.bin: CRC-32" in err and "the file was damaged" in err


def test_image_of_the_previous_protocol_is_refused(tiny_build, capsys):
    """A build of protocol version 4 (delay and receptor in every synapse) has another layout:
    refused before a port is opened, naming its version."""
    import json
    mp = tiny_build / "image.json"
    meta = json.loads(mp.read_text())
    meta["protocol"] = P.VERSION - 1
    mp.write_text(json.dumps(meta))
    assert main(["upload", str(tiny_build), "--port", "/dev/snncc-no-such-port"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"image.json: built for protocol version {P.VERSION - 1}, whose image layout differs" in err


class FakeBoard:
    """A pty that answers like a core built with other capabilities."""

    def __init__(self, caps: bytes):
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.path = os.ttyname(slave)
        self.slave = slave
        self.caps = caps
        self.writes = 0
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        buf = b""
        while not self.stop:
            try:
                buf += os.read(self.master, 4096)
            except OSError:
                return
            while len(buf) >= 7 and buf[0] == P.SOF:
                n = buf[3] | buf[4] << 8
                if len(buf) < 7 + n:
                    break
                seq, cmd = buf[1], buf[2]
                buf = buf[7 + n:]
                if cmd == P.CMD["WRITE"]:
                    self.writes += 1
                ans = self.caps if cmd == P.CMD["CAPS"] else b""
                os.write(self.master, P.frame(seq, cmd | P.ACK_BIT, ans))

    def close(self):
        self.stop = True
        os.close(self.slave)
        os.close(self.master)


def caps(version=P.VERSION, neurons=256, features=P.FEATURE_RT):
    from snncc_fpga.limits import DEFAULT as D
    return struct.pack(P.out_format(P.CAPS), version, D.cores, neurons, D.rows_per_core, D.synapses_per_core,
                       D.max_delay, 8, P.PARAM_SETS, P.MAX_PAYLOAD, 12, D.sources, D.axons, D.stdp,
                       12000, features, D.probes_per_core, D.queue)


@pytest.mark.parametrize("answer,message", [
    (caps(version=9), f"board on {{port}} speaks protocol version 9; this snncc speaks {P.VERSION}"),
    (caps(version=P.VERSION - 1),      # the previous image layout (v4: delay and receptor per synapse)
     f"board on {{port}} speaks protocol version {P.VERSION - 1}; this snncc speaks {P.VERSION}"),
    (caps(neurons=8), "board on {port} has 8 neurons; this build needs 12"),
    # the same sizes, but its router sends delayed rows late (a DSRC build): another bitstream
    (caps(features=P.FEATURE_RT | P.FEATURE_DSRC), "board on {port} is built differently from this build's "
     "board 'icebreaker': delay at the source (DSRC) 1 (build 0)"),
])
def test_board_with_other_capabilities(tiny_build, capsys, answer, message):
    fake = FakeBoard(answer)
    try:
        assert main(["upload", str(tiny_build), "--port", fake.path]) == 2
        err = capsys.readouterr().err
        assert f"snncc: error: {message.format(port=fake.path)}" in err
        assert fake.writes == 0                      # nothing sent: the board is left as it was
    finally:
        fake.close()


def test_silent_port_times_out_with_bounded_retries(tmp_path):
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        with Board(os.ttyname(slave), timeout=0.05, retries=2) as b:
            with pytest.raises(SnnccError) as e:
                b.caps()
        assert str(e.value).startswith(f"board on {os.ttyname(slave)} did not acknowledge CAPS after 3 "
                                       "attempts (last: no answer within 0.05 s)")
        assert b.stats.frames == 3
    finally:
        os.close(slave)
        os.close(master)


@needs_sim
def test_users_day_upload_then_verify_remembers_the_port(tiny_build, capsys):
    from snncc.build import load_build
    from snncc_fpga import sim
    from snncc_fpga.target import SIM_INFO
    try:
        assert main(["upload", str(tiny_build), "--port", "sim"]) == 0
        assert "committed CRC-32" in capsys.readouterr().out
        assert main(["verify", str(tiny_build)]) == 0
        assert capsys.readouterr().out.startswith("OK: rasters are identical")
        assert main(["upload", str(tiny_build)]) == 0          # port remembered; board still holds it
        assert "already runs this build" in capsys.readouterr().out
        out = tiny_build.parent / "board.npz"
        assert main(["run", str(tiny_build), "-o", str(out)]) == 0
        assert main(["run", str(tiny_build), "--refsim", "-o", str(out.with_name("kernel.npz"))]) == 0
        from snncc.refsim import Raster
        board, kernel = Raster.load(out), Raster.load(out.with_name("kernel.npz"))
        assert board.source.startswith("fpga:") and kernel.n_spikes > 0
        for name in kernel.sizes:
            assert np.array_equal(board.dense(name), kernel.dense(name))
    finally:
        b = sim.find(load_build(tiny_build).file(SIM_INFO))
        if b is not None:
            b.stop()


@pytest.mark.parametrize("args,message", [
    (["--board", "ulx3s"], "snncc: error: unknown board 'ulx3s' (known: icebreaker, ulx3s-12f, ulx3s-45f, "
                           "ulx3s-85f, ulx3s-85f-4k, ulx3s-85f-128k)"),
    (["--bitstream", "--board", "ulx3s"],
     "snncc: error: unknown board 'ulx3s' (known: icebreaker, ulx3s-12f, ulx3s-45f, ulx3s-85f, ulx3s-85f-4k, "
     "ulx3s-85f-128k)"),
])
def test_bitstream_option_errors(tmp_path, capsys, args, message):
    out = tmp_path / "b"
    model = str(ROOT / "examples" / "tiny.yaml")
    assert main(["compile", model, "--target", "fpga", "-o", str(out), *args]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()                                    # nothing half-written


def test_fan_in_that_could_overflow_the_ring():
    from snncc.ir import SpikeSource
    n_in = 300
    src = SpikeSource("s", n_in, np.arange(n_in), 1.0 + np.arange(n_in) % 8)
    prj = Projection("in", "s", "p", np.arange(n_in), np.zeros(n_in, int), np.full(n_in, 127 / 128),
                     np.ones(n_in))
    net = Network("fan", 1.0, 10, [lif("p", 1)], [src], [prj])
    with pytest.raises(SnnccError) as e:
        lower(net, "fpga")
    assert e.value.message == ("population 'p': neuron 0 can receive a summed excitatory weight of 38100 in "
                               "one step; the core's 16-bit delay ring holds at most 32767")


def test_more_rows_than_a_core_holds_is_refused():
    """A row holds one source's synapses of one delay and one receptor: inputs reaching one
    neuron over 16 delays each need 16 rows apiece; one input more than the iCEBreaker's core
    has rows for is refused, naming the core and both counts; over 8 delays each the image is
    built, each input's ROUTE entry naming its 8 rows."""
    from snncc.ir import FixedPopulation, FixedProjection, Network, StepSource
    from snncc.plugin import SnnccError
    from snncc_fpga import limits as L
    from snncc_fpga.image import encode
    from snncc_fpga.kernel import PARAMS
    cfg = L.BOARDS["icebreaker"].config
    n_in = cfg.rows_per_core // 16 + 1
    arr = {"th": 100, "reset": 0, "bias": 0, "k_leak": 4, "k_e": 4, "k_i": 4, "k_w": 0, "refrac": 0,
           "subtract": 0, "no_leak": 0, "v_init": 0}
    pop = FixedPopulation("p", 1, "fpga", {k: np.full(1, v) for k, v in arr.items()}, dict(PARAMS))
    src = StepSource("in", n_in, np.zeros(1, np.int64), np.zeros(1, np.int64))

    def net(delays: int) -> Network:
        pre = np.repeat(np.arange(n_in), delays)
        prj = FixedProjection("j", "in", "p", pre, np.zeros(pre.size, np.int64), np.ones(pre.size, np.int64),
                              np.tile(np.arange(1, delays + 1), n_in), 8, "excitatory")
        return Network("rows", 1.0, 10, [pop], [src], [prj], stage="fixed", target="fpga")
    with pytest.raises(SnnccError, match=f"network 'rows': core 0 needs {16 * n_in} synapse rows .*holds "
                                         f"{cfg.rows_per_core} a core"):
        encode(net(16), cfg, "icebreaker")
    img = encode(net(8), cfg, "icebreaker")
    from snncc_fpga import protocol as P
    route = img.region("ROUTE")
    assert img.region("ROW").size == 2 * 8 * n_in and route.size == n_in + 1       # one word a source id
    first, count = P.route_unpack(cfg, route)
    assert route[0] == P.ROUTE_NONE and (count == [0] + [8] * n_in).all()
    assert (first == [0] + list(range(0, 8 * n_in, 8))).all()


def test_a_source_with_more_router_entries_than_its_route_count_holds_is_refused():
    """ROUTE is one 16-bit word a source: on ulx3s-85f-4k its first field takes LOG2A = 13 bits,
    its count - 1 the 3 above (8 entries). An input reaching two cores over 4 delays each and
    one of them over an inhibitory synapse too needs 9 rows - 9 entries - and is refused,
    naming the source and the limit; without the inhibitory one it is built."""
    from snncc.ir import FixedPopulation, FixedProjection, Network, StepSource
    from snncc.plugin import SnnccError
    from snncc_fpga import limits as L
    from snncc_fpga import protocol as P
    from snncc_fpga.image import encode
    from snncc_fpga.kernel import PARAMS
    cfg = L.BOARDS["ulx3s-85f-4k"].config
    assert P.route_max_entries(cfg) == 8
    n = cfg.neurons_per_core + 1                      # neuron n - 1 on core 1
    arr = {"th": 100, "reset": 0, "bias": 0, "k_leak": 4, "k_e": 4, "k_i": 4, "k_w": 0, "refrac": 0,
           "subtract": 0, "no_leak": 0, "v_init": 0}
    pop = FixedPopulation("p", n, "fpga", {k: np.full(n, v) for k, v in arr.items()}, dict(PARAMS))
    src = StepSource("drive", 1, np.zeros(1, np.int64), np.zeros(1, np.int64))

    def net(inhibitory: bool) -> Network:
        d = np.tile(np.arange(1, 5), 2)
        post = np.repeat([0, n - 1], 4)
        prj = [FixedProjection("e", "drive", "p", np.zeros(8, np.int64), post, np.ones(8, np.int64), d, 8,
                               "excitatory")]
        if inhibitory:
            prj.append(FixedProjection("i", "drive", "p", np.zeros(1, np.int64), np.zeros(1, np.int64),
                                       np.ones(1, np.int64), np.ones(1, np.int64), 8, "inhibitory"))
        out = Network("fan", 1.0, 10, [pop], [src], prj, stage="fixed", target="fpga")
        out.attrs["partition"] = {"cores": 2, "populations": {"p": {"slices": [(0, n - 1), (n - 1, n)],
                                                                     "cores": [0, 1]}}}
        return out
    with pytest.raises(SnnccError, match=rf"source id {n} \(drive\[0\]\) needs 9 router entries .*counts at most 8"):
        encode(net(True), cfg, "ulx3s-85f-4k")
    img = encode(net(False), cfg, "ulx3s-85f-4k")
    first, count = P.route_unpack(cfg, img.region("ROUTE"))
    assert count.tolist() == [0] * n + [8] and first[n] == 0
