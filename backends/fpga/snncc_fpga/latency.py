"""The FTDI latency timer of a real board's serial port (docs/boards.md).

An FTDI USB-UART (the iCEBreaker's FT2232H, the ULX3S's FT231X) holds received bytes
until its buffer fills or its latency timer runs out, 16 ms by default. A host-stepped
run exchanges a short frame every step, so each step waits for the timer: about 60 steps
per second at 16 ms, about 1000 at 1 ms. Linux shows the timer in sysfs; snncc reads it
(never writes it: that needs root) and says how to lower it.
"""
from __future__ import annotations

import os
from pathlib import Path

#: the timer (ms) above which a host-stepped run is slowed down noticeably
GOOD_MS = 1


def latency_timer_ms(port: str, sysfs: str | Path = "/sys") -> int | None:
    """The latency timer of ``port`` (``/dev/ttyUSB1``, or a /dev/serial/by-id link) in ms,
    or None where there is none to read (not Linux, not an FTDI chip, a pty)."""
    try:
        name = Path(os.path.realpath(port)).name
        text = (Path(sysfs) / "bus" / "usb-serial" / "devices" / name / "latency_timer").read_text()
        return int(text.strip())
    except (OSError, ValueError):
        return None


def latency_note(port: str, sysfs: str | Path = "/sys") -> str | None:
    """A line for the user when ``port``'s latency timer slows host-stepped runs, else None."""
    ms = latency_timer_ms(port, sysfs)
    if ms is None or ms <= GOOD_MS:
        return None
    name = Path(os.path.realpath(port)).name
    return (f"{port}: the FTDI latency timer is {ms} ms, so a host-stepped run waits up to {ms} ms per step; "
            f"set it to 1 ms (echo 1 | sudo tee /sys/bus/usb-serial/devices/{name}/latency_timer, or the "
            "udev rule in docs/boards.md)")
