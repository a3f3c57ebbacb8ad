"""Run a loihi build's Lava module in a child process under a timeout.

Lava starts one OS process per Lava process and, when one of them dies (a float in a
fixed_pt model, a shape error), often waits for it forever. So the run happens in a
child process in its own session: on timeout the whole process group is terminated,
then killed, and the error says so; the child itself always calls ``runtime.stop()``.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from snncc.plugin import SnnccError

#: seconds a Lava run may take: start-up plus a generous per-step, per-process cost
BASE_TIMEOUT_S = 120.0
PER_STEP_PROCESS_S = 0.005


def default_timeout(steps: int, processes: int) -> float:
    return BASE_TIMEOUT_S + PER_STEP_PROCESS_S * steps * max(1, processes)


def _kill_group(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_module(module: Path, plan: Path, steps: int, timeout: float, hw: bool = False,
               extra_args: tuple[str, ...] = ()) -> tuple[np.ndarray, np.ndarray, str]:
    """Run ``module`` (a build's lava_net.py) on ``plan``; (spike steps, flat neurons, log)."""
    out, log = _run_child(module, plan, steps, timeout, hw, extra_args)
    return out["step"].astype(np.int64), out["neuron"].astype(np.int64), log


def run_module_inputs(module: Path, plan: Path, steps: int, input_dir: Path, n: int, timeout: float,
                      hw: bool = False) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
    """Run ``module`` once per input of ``input_dir`` (one Lava compile, a reset between
    inputs); ([(spike steps, flat neurons) per input], log)."""
    out, log = _run_child(module, plan, steps, timeout, hw, ("--inputs", str(Path(input_dir).resolve())))
    return [(out[f"{k}.step"].astype(np.int64), out[f"{k}.neuron"].astype(np.int64)) for k in range(n)], log


def _run_child(module: Path, plan: Path, steps: int, timeout: float, hw: bool,
               extra_args: tuple[str, ...]) -> tuple[dict[str, np.ndarray], str]:
    with tempfile.TemporaryDirectory(prefix="snncc-lava-") as tmp:
        out = Path(tmp) / "spikes.npz"
        cmd = [sys.executable, str(Path(module).resolve()), "--plan", str(Path(plan).resolve()),
               "--steps", str(steps), "--out", str(out)]
        if hw:
            cmd.append("--hw")
        cmd += list(extra_args)
        errf = open(Path(tmp) / "stderr.txt", "w+")
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=errf, start_new_session=True,
                                cwd=tmp)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            errf.seek(0)
            tail = _tail(errf.read())
            raise SnnccError(
                f"Lava did not finish {steps} steps within {timeout:.0f} s; the run was stopped",
                hint="a Lava process probably died and left the others waiting (Lava then hangs "
                     "instead of failing); its last output: " + (tail or "(none)") +
                     "; or the run is just slow: give more time with --timeout SECONDS") from None
        except BaseException:
            _kill_group(proc)
            raise
        finally:
            # Lava's own worker processes may outlive a crashed child: end the group.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        errf.seek(0)
        log = errf.read()
        errf.close()
        if rc != 0:
            raise SnnccError(f"the Lava run failed (exit status {rc}): {_tail(log) or 'no output'}")
        with np.load(out) as z:
            return {k: z[k] for k in z.files}, log


def _tail(text: str, lines: int = 3) -> str:
    kept = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return " | ".join(kept[-lines:])
