"""Link faults against the simulated board (issue 11): a board runs a whole image or none.

Faulty links (seeded drops, flips, duplicates, delays in both directions) must still
leave a read-back equal to the image; a port unplugged mid-upload must leave the board
uncommitted and the upload resumable; a board reset mid-upload must be noticed on
resume and the whole image sent again. Long run: ``python -m fuzz.link_faults``.
"""
from __future__ import annotations

import shutil

import pytest

pytest.importorskip("snncc_fpga", reason="the fpga backend (backends/fpga) is not installed")
pytestmark = [pytest.mark.fpga,
              pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator is not installed")]

from fuzz import link_faults as LF  # noqa: E402


@pytest.fixture(scope="module")
def synfire():
    return LF.synfire_image()


def test_random_faulty_links_never_corrupt_the_image(synfire, tmp_path):
    _, img, md = synfire
    seen = {"retries": 0, "rx_errors": 0}
    for seed in (21, 22):
        faults = {"drop": 5e-4, "flip": 5e-4, "dup": 5e-4, "tx_drop": 3e-4, "tx_flip": 3e-4}
        r = LF.noisy_trial(img, md, seed, tmp_path, faults=faults)
        assert r["committed"] and r["crc_ok"] and r["readback_diff"] == 0, r
        seen["retries"] += r["retries"]
        seen["rx_errors"] += r["rx_errors"]
    assert seen["retries"] > 0 and seen["rx_errors"] > 0     # the faults really happened


def test_the_readback_count_sees_a_wrong_image(synfire, tmp_path):
    """The corruption check must be able to fail: a board holding another image differs."""
    from snncc_fpga import sim
    from snncc_fpga.client import Board
    from snncc_fpga.upload import upload
    _, img, md = synfire
    b = sim.start(tmp_path / "b.json", seed=1, idle_exit=60)
    try:
        with Board(b.pty, timeout=0.5) as board:
            upload(board, LF.other_image(img), max_delay=md, force=True)
            assert LF.readback_differences(board, img) == 8      # one threshold per parameter set
    finally:
        b.stop()


def test_unplugged_mid_upload_leaves_no_running_image_and_resumes(synfire, tmp_path):
    _, img, md = synfire
    r = LF.interrupted_upload(img, md, tmp_path, cut=9, reset=False, other_img=LF.other_image(img))
    assert r["interrupted_by"] is not None and r["progress_saved"]
    assert not r["committed_after_cut"] and not r["stepped_after_cut"]
    assert 0 < r["resumed_at"] <= 9 and r["log"][0].startswith("resuming an interrupted upload at chunk")
    assert r["committed"] and r["crc_ok"] and r["readback_diff"] == 0 and not r["state_left"]


def test_board_reset_mid_upload_is_noticed_and_the_whole_image_resent(synfire, tmp_path):
    _, img, md = synfire
    r = LF.interrupted_upload(img, md, tmp_path, cut=12, reset=True, other_img=LF.other_image(img))
    assert not r["committed_after_cut"] and not r["stepped_after_cut"]
    assert r["log"][-1] == "the board lost part of the resumed upload; sending the whole image again"
    assert r["committed"] and r["crc_ok"] and r["readback_diff"] == 0 and not r["state_left"]


def test_an_unplugged_port_is_a_clean_error(synfire, tmp_path):
    _, img, md = synfire
    r = LF.interrupted_upload(img, md, tmp_path, cut=3, reset=False, other_img=LF.other_image(img))
    assert r["interrupted_by"] == (f"SnnccError: lost the serial port '{tmp_path / 'ttyBOARD'}' during "
                                   "write (WRITE): [Errno 5] Input/output error")
    assert r["committed"] and r["readback_diff"] == 0


@pytest.mark.parametrize("where", ["write", "read", "reset_input_buffer"])
def test_every_serial_call_that_fails_becomes_a_board_error(where, monkeypatch):
    """pyserial raises SerialException (an OSError) or termios.error when the port vanishes."""
    import termios

    import serial

    from snncc_fpga.client import Board, BoardError
    board = Board("loop://", timeout=0.05, retries=1)
    err = termios.error(5, "Input/output error") if where == "reset_input_buffer" else \
        serial.SerialException("device reports readiness to read but returned no data")

    def fail(*a, **k):
        raise err
    if where == "reset_input_buffer":
        board.ser.write = lambda data: len(data)        # silence, then the resend's flush fails
    monkeypatch.setattr(board.ser, where, fail)
    with pytest.raises(BoardError) as e:
        board.status()
    what = "write (STATUS)" if where == "write" else "read"
    assert str(e.value) == f"lost the serial port 'loop://' during {what}: {err}"
    assert e.value.hint == ("check the cable and that the board is powered, then rerun the command "
                            "(`snncc upload` resumes an interrupted upload where it stopped)")
    board.close()


def _fresh_board_with_progress(img, tmp_path, done: int):
    """A board just reset (empty memories) and a progress file that says ``done`` chunks went."""
    import json

    from snncc_fpga import sim
    port = tmp_path / "ttyBOARD"
    b = sim.start(tmp_path / "b.json", seed=7, idle_exit=60)
    LF._point(port, b.pty)
    state = tmp_path / "upload-progress.json"
    state.write_text(json.dumps({"crc32": f"{img.crc:08x}", "port": str(port), "done": done}))
    return b, port, state


def test_readback_after_a_board_reset_resends_the_whole_image(synfire, tmp_path):
    from snncc_fpga.client import Board
    from snncc_fpga.upload import chunks, upload
    _, img, md = synfire
    b, port, state = _fresh_board_with_progress(img, tmp_path, done=12)
    try:
        with Board(str(port), timeout=0.3) as board:
            logs: list[str] = []
            res = upload(board, img, max_delay=md, state_file=state, readback=True, log=logs.append)
            st = board.status()
            assert logs[0] == f"resuming an interrupted upload at chunk 12/{len(chunks(img))}"
            assert logs[1].startswith("the read-back differs from the image (read-back of region ")
            assert logs[1].endswith("the board lost part of it, sending the whole image again")
            assert len(logs) == 2 and res["resumed_at"] == 0
            assert st.committed and st.image_crc == img.crc and not state.exists()
            assert LF.readback_differences(board, img) == 0
    finally:
        b.stop()


def test_a_board_that_keeps_differing_gives_up_after_bounded_resends(synfire, tmp_path):
    """The resend loop must end: a read-back that always differs is an error after two resends."""
    import numpy as np

    from snncc_fpga.client import Board
    from snncc_fpga.upload import WHOLE_RESENDS, ReadbackMismatch, upload
    _, img, md = synfire
    b, port, state = _fresh_board_with_progress(img, tmp_path, done=0)
    try:
        with Board(str(port), timeout=0.3) as board:
            real_read = board.read
            board.read = lambda r, o, n, c=0: (np.frombuffer(real_read(r, o, n, c), "<u2") ^ 1
                                               ).astype("<u2").tobytes()
            logs: list[str] = []
            with pytest.raises(ReadbackMismatch, match="^read-back of region .* differs at halfword 0"):
                upload(board, img, max_delay=md, state_file=state, readback=True, log=logs.append)
            assert WHOLE_RESENDS == 2 and len(logs) == 2
            assert not board.status().committed
    finally:
        b.stop()


def test_board_reset_mid_run_refuses_to_step_until_uploaded_again(synfire, tmp_path):
    net, img, md = synfire
    r = LF.reset_mid_run(net, img, md, tmp_path, at_step=30, steps=60)
    assert r["refused"].endswith("rejected STEP: NOT_COMMITTED (STEP before a good COMMIT)")
    assert not r["committed_after_reset"]
    assert r["bit_exact"]
