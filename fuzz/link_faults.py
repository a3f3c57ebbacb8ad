"""Link faults against the simulated board: what reaches the core is whole or nothing.

Each trial starts a simulated board (hdl/ under Verilator behind a pty) with seeded
random fault rates on both directions of its UART (dropped, flipped, duplicated bytes;
random inter-byte gaps delay bytes), uploads an image with read-back, commits it, and
reads every region back once more. Counted per campaign: frames the core rejected
(its rx_errors), NAKs the host saw, retries, and corruption: a read-back that differs
from the image or a commit CRC that differs (must be zero).

Separately: the port unplugged mid-upload (the host closes it after k chunks), the
upload resumed from its progress file; and the board reset mid-upload (a new board
process behind the same port name), where the resume must notice the lost part.

    python -m fuzz.link_faults --trials 200 --seed 1
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def synfire_image():
    """(fixed-stage network, image, max delay) of examples/synfire.yaml for the fpga target."""
    from snncc.compiler import lower
    from snncc.frontends import load_model
    from snncc_fpga.image import encode
    net = lower(load_model(ROOT / "examples" / "synfire.yaml"), "fpga").network
    max_delay = max((int(p.delay.max()) for p in net.projections if p.n_synapses), default=1)
    return net, encode(net), max_delay


def readback_differences(board, img) -> int:
    """Halfwords of the board's memories that differ from the image."""
    from snncc_fpga.upload import read_region
    return sum(int(np.count_nonzero(read_region(board, region, words.size, core) != words))
               for region, core, words in img.regions())


def random_faults(rng: np.random.Generator) -> dict:
    scale = float(rng.choice([1e-4, 3e-4, 1e-3]))
    return {k: round(float(rng.uniform(0, scale)), 6) for k in ("drop", "flip", "dup", "tx_drop", "tx_flip")}


def noisy_trial(img, max_delay: int, seed: int, workdir: Path, faults: dict | None = None) -> dict:
    """One upload over a faulty link; the figures of that trial."""
    from snncc_fpga import sim
    from snncc_fpga.client import Board
    from snncc_fpga.upload import upload
    rng = np.random.default_rng(seed)
    faults = faults if faults is not None else random_faults(rng)
    gap = int(rng.integers(0, 4))
    b = sim.start(workdir / f"board-{seed}.json", seed=seed, gap=gap, faults=faults, idle_exit=120)
    from snncc.errors import SnnccError
    try:
        with Board(b.pty, timeout=0.3, retries=20) as board:
            out = {"faults": faults, "gap": gap, "gave_up": None}
            try:
                res = upload(board, img, max_delay=max_delay, readback=True, force=True)
                out["bytes"] = res["bytes_sent"]
            except SnnccError as e:       # a link too bad even for 20 retries: a clean error
                out["gave_up"] = str(e)
                out["bytes"] = board.stats.bytes_sent
            st = _patient(board.status)
            committed = st.committed
            # after giving up the board must not run anything; else it must hold the image
            diff = 0 if out["gave_up"] else _patient(lambda: readback_differences(board, img))
            out.update(retries=board.stats.retries, naks=board.stats.naks, rx_errors=st.rx_errors,
                       frames=board.stats.frames, committed=committed,
                       crc_ok=(st.image_crc == img.crc) if committed else not out["gave_up"],
                       readback_diff=diff)
            return out
    finally:
        b.stop()


def _patient(fn, tries: int = 10):
    """``fn()`` retried across BoardErrors: a check over a link that is still faulty."""
    from snncc.errors import SnnccError
    for k in range(tries):
        try:
            return fn()
        except SnnccError:
            if k == tries - 1:
                raise


def _point(link: Path, pty: str) -> None:
    tmp = link.with_name(link.name + ".new")
    if tmp.exists() or tmp.is_symlink():
        tmp.unlink()
    os.symlink(pty, tmp)
    os.replace(tmp, link)


def interrupted_upload(img, max_delay: int, workdir: Path, cut: int, reset: bool, other_img=None) -> dict:
    """Upload, lose the link after ``cut`` WRITE frames (with ``reset`` the board's memory too), resume.

    The board sits behind a fixed port name (a symlink, like /dev/ttyUSB1), so the
    progress file recognises the port after a reconnection or a board reset. Without
    ``reset`` the cable is pulled: the host's port fails as pyserial fails when a
    USB-UART disappears (SerialException, EIO). With ``reset`` the board process is
    killed mid-upload and a fresh one (empty memories) appears behind the same name.
    """
    import serial

    from snncc.errors import SnnccError
    from snncc_fpga import protocol as P
    from snncc_fpga import sim
    from snncc_fpga.client import Board
    from snncc_fpga.upload import upload
    port = workdir / "ttyBOARD"
    state = workdir / "upload-progress.json"
    state.unlink(missing_ok=True)
    boards = [sim.start(workdir / "board-a.json", seed=5, idle_exit=120)]
    _point(port, boards[0].pty)
    out = {"cut_at": cut, "reset": reset}
    try:
        with Board(str(port), timeout=0.3) as board:       # an earlier image is running
            upload(board, other_img if other_img is not None else img, max_delay=max_delay, force=True)
        with Board(str(port), timeout=0.3) as board:
            real_write, n = board.ser.write, [0]

            def write(data):
                if len(data) > 2 and data[2] == P.CMD["WRITE"]:
                    if n[0] == cut:
                        if reset:
                            boards[0].stop()                 # power cut: the pty goes away
                            boards.append(sim.start(workdir / "board-b.json", seed=6, idle_exit=120))
                            _point(port, boards[-1].pty)
                            return real_write(data)          # into a dead pty: fails as it would
                        board.ser.close()
                        raise serial.SerialException("[Errno 5] Input/output error")
                    n[0] += 1
                return real_write(data)
            board.ser.write = write
            try:
                upload(board, img, max_delay=max_delay, state_file=state, force=True)
                out["interrupted_by"] = None
            except SnnccError as e:
                out["interrupted_by"] = f"SnnccError: {e}"
            except Exception as e:      # noqa: BLE001 - recorded: the CLI would call it an internal error
                out["interrupted_by"] = f"{type(e).__name__}: {e}"
        out["progress_saved"] = state.exists()
        with Board(str(port), timeout=0.3) as board:
            st = board.status()
            out["committed_after_cut"] = st.committed     # must be False: the image is not whole
            try:
                board.step([], reset=True)
                out["stepped_after_cut"] = True
            except SnnccError:
                out["stepped_after_cut"] = False
            logs: list[str] = []
            # readback=False here: COMMIT's CRC check is what notices a reset; with readback=True a
            # read-back mismatch makes the uploader resend the whole image (tests/test_reliability_link.py)
            res = upload(board, img, max_delay=max_delay, state_file=state, log=logs.append)
            st = board.status()
            out.update(resumed_at=res.get("resumed_at"), chunks=res.get("chunks"), log=logs,
                       committed=st.committed, crc_ok=st.image_crc == img.crc,
                       readback_diff=readback_differences(board, img), state_left=state.exists())
    finally:
        for b in boards:
            b.stop()
    return out


def reset_mid_run(net, img, max_delay: int, workdir: Path, at_step: int, steps: int = 120) -> dict:
    """Run, power-cycle the board at ``at_step`` (same port name), go on: the fresh core must refuse
    to step (NOT_COMMITTED) until the image is uploaded again, and the rerun's raster must equal
    the fpga kernel's."""
    from snncc.errors import SnnccError
    from snncc.refsim import simulate
    from snncc_fpga import sim
    from snncc_fpga.client import Board
    from snncc_fpga.image import input_schedule
    from snncc_fpga.kernel import FpgaKernel
    from snncc_fpga.upload import run, upload
    port = workdir / "ttyRUN"
    boards = [sim.start(workdir / "run-a.json", seed=7, idle_exit=120)]
    _point(port, boards[0].pty)
    out = {"at_step": at_step}
    try:
        with Board(str(port), timeout=0.3) as board:
            upload(board, img, max_delay=max_delay, force=True)
            sched = input_schedule(net, img.offsets, steps)
            for t in range(at_step):
                board.step(sched[t], reset=(t == 0))
        boards[0].stop()
        boards.append(sim.start(workdir / "run-b.json", seed=8, idle_exit=120))
        _point(port, boards[-1].pty)
        with Board(str(port), timeout=0.3) as board:
            try:
                board.step(sched[at_step])
                out["refused"] = None
            except SnnccError as e:
                out["refused"] = str(e)
            out["committed_after_reset"] = board.status().committed
            upload(board, img, max_delay=max_delay)
            raster = run(board, img, net, steps)
        expected = simulate(net, steps=steps, kernel=FpgaKernel(net))
        out["bit_exact"] = all(np.array_equal(raster.dense(n), expected.dense(n)) for n in expected.sizes)
    finally:
        for b in boards:
            b.stop()
    return out


def other_image(img):
    """The image with every threshold raised by one: a different configuration of the same shape."""
    import dataclasses

    from snncc_fpga import protocol as P
    parts = dict(img.parts)
    key = (P.REGION["PARAM"], 0)
    param = parts[key].copy()
    param[0::P.PARAM_WORDS] += 1
    parts[key] = param
    return dataclasses.replace(img, parts=parts)


def campaign(trials: int, seed: int, workdir: Path, log=None) -> dict:
    net, img, max_delay = synfire_image()
    tot = {"trials": 0, "retries": 0, "naks": 0, "rx_errors": 0, "frames": 0, "bytes": 0, "corrupt": 0,
           "not_committed": 0, "gave_up": 0, "partial_running": 0, "seconds": 0.0}
    t0 = time.perf_counter()
    for k in range(trials):
        r = noisy_trial(img, max_delay, seed * 100003 + k, workdir)
        tot["trials"] += 1
        for key in ("retries", "naks", "rx_errors", "frames", "bytes"):
            tot[key] += r[key]
        if r["gave_up"]:
            tot["gave_up"] += 1
            tot["partial_running"] += int(r["committed"])
        else:
            tot["corrupt"] += int(r["readback_diff"] > 0 or not r["crc_ok"])
            tot["not_committed"] += int(not r["committed"])
        if log:
            log(f"trial {k}: {r}")
    tot["seconds"] = round(time.perf_counter() - t0, 1)
    return tot


def main(argv=None) -> int:
    import tempfile
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cuts", type=int, default=10, help="interrupted uploads (half with a board reset)")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tot = campaign(a.trials, a.seed, Path(tmp), log=print)
        print(f"faulty links: {tot}")
        _, img, md = synfire_image()
        n_chunks = len(__import__("snncc_fpga.upload", fromlist=["chunks"]).chunks(img))
        rng = np.random.default_rng(a.seed)
        bad = tot["corrupt"] + tot["not_committed"] + tot["partial_running"]
        for k in range(a.cuts):
            r = interrupted_upload(img, md, Path(tmp), int(rng.integers(1, n_chunks)), reset=bool(k % 2),
                                   other_img=other_image(img))
            print(f"cut: {r}")
            bad += int(r["committed_after_cut"] or r["stepped_after_cut"] or r["readback_diff"] or not r["crc_ok"])
        net, _, _ = synfire_image()
        for k in range(a.cuts // 2):
            r = reset_mid_run(net, img, md, Path(tmp), int(rng.integers(1, 100)))
            print(f"reset mid-run: {r}")
            bad += int(r["refused"] is None or r["committed_after_reset"] or not r["bit_exact"])
    print(f"corruption or a partial image running: {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
