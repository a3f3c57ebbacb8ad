"""The FTDI latency timer of a real port is read from sysfs and, above 1 ms, named with the fix."""
from __future__ import annotations

import pytest

latency = pytest.importorskip("snncc_fpga.latency")


def fake_sysfs(tmp_path, name: str, ms: str):
    d = tmp_path / "sys" / "bus" / "usb-serial" / "devices" / name
    d.mkdir(parents=True)
    (d / "latency_timer").write_text(ms + "\n")
    return tmp_path / "sys"


def test_a_slow_timer_is_named_with_the_way_out(tmp_path):
    sysfs = fake_sysfs(tmp_path, "ttyUSB1", "16")
    assert latency.latency_timer_ms("/dev/ttyUSB1", sysfs) == 16
    note = latency.latency_note("/dev/ttyUSB1", sysfs)
    assert note.startswith("/dev/ttyUSB1: the FTDI latency timer is 16 ms, so a host-stepped run waits up to "
                           "16 ms per step; set it to 1 ms (echo 1 | sudo tee "
                           "/sys/bus/usb-serial/devices/ttyUSB1/latency_timer")


def test_a_fast_timer_or_no_ftdi_port_says_nothing(tmp_path):
    sysfs = fake_sysfs(tmp_path, "ttyUSB0", "1")
    assert latency.latency_note("/dev/ttyUSB0", sysfs) is None
    assert latency.latency_note("/dev/pts/3", sysfs) is None           # a pty (the simulated board)
    assert latency.latency_timer_ms("/dev/ttyACM0", sysfs) is None
