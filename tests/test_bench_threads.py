"""bench_threads' summary line in docs/benchmarks.md: the ratios and the bit-identity verdict."""
from __future__ import annotations

from bench.__main__ import threads_lines


def _rows(exact2: bool):
    return [
        {"workload": "W", "tool": "snncc float kernel", "threads": 1, "sim_s": 0.2, "load": 1.5, "date": "D"},
        {"workload": "W", "tool": "snncc float kernel", "threads": 2, "sim_s": 0.1, "load": 2.0, "bit_exact": True,
         "sim_cpu_s": 0.2},
        {"workload": "W", "tool": "snncc loihi kernel", "threads": 1, "sim_s": 0.32, "load": 2.0,
         "sim_cpu_s": 0.4},
        {"workload": "W", "tool": "snncc loihi kernel", "threads": 2, "sim_s": 0.13, "load": 2.0,
         "bit_exact": exact2, "sim_cpu_s": 0.3},
        {"workload": "W", "tool": "Brian2 cpp_standalone, OpenMP", "threads": 2, "sim_s": 0.3, "load": 2.0,
         "process_s": 3.0, "process_ratio": 2.5},
        {"workload": "W", "tool": "NEST 3.10", "threads": 1, "sim_s": 0.4, "load": 2.0},
        {"workload": "W", "tool": "NEST 3.10", "threads": 2, "sim_s": None, "note": "error: x"},
    ]


def test_threads_line_gives_the_fastest_peer_over_snncc_and_the_integer_kernel_over_float():
    (line,) = threads_lines({"rows": _rows(True)})
    assert "fastest peer (Brian2 cpp_standalone, OpenMP, 2 thread(s))" in line
    assert "1 thread(s) 1.50x, 2 thread(s) 3.00x" in line           # 0.3 / 0.2, 0.3 / 0.1
    # 0.13 / 0.1 (CPU 0.3 / 0.2) on 2 threads, 0.32 / 0.2 on 1
    assert ("slowest integer kernel / float kernel on 2 thread(s) 1.30x (CPU time 1.50x), "
            "on 1 thread(s) 1.60x") in line
    assert "all 2 kernels' rasters identical" in line
    assert "Brian2 cpp_standalone, OpenMP 2.50x" in line and "load 1.5-2" in line


def test_threads_line_reports_a_raster_that_changed_with_the_thread_count():
    (line,) = threads_lines({"rows": _rows(False)})
    assert "NOT all 2 kernels' rasters identical" in line


def test_threads_line_without_peers_gives_snnccs_time_and_memory():
    rows = [{"workload": "M", "tool": "snncc float kernel", "threads": t, "sim_s": s, "peak_rss_GiB": m,
             "load": 1.0} for t, s, m in ((1, 25.4, 5.99), (2, 23.9, 6.04))]
    (line,) = threads_lines({"rows": rows})
    assert "snncc float kernel 25.4 s on 1 thread(s), 23.9 s on 2 thread(s), peak RSS 6.04 GiB" in line


def test_threads_line_gives_the_steps_alone_beside_the_whole_call():
    rows = _rows(True)
    rows[0]["stepping_s"], rows[1]["stepping_s"] = 0.08, 0.05
    rows[4]["stepping_s"] = 0.2                     # Brian2: its Network::run, 0.1 s less than its call
    rows[5]["stepping_s"] = 0.1                     # NEST's steps alone are the fastest peer's here
    (line,) = threads_lines({"rows": rows})
    assert "steps alone (NEST 3.10, 1 thread(s)) / snncc float 1 thread(s) 1.25x, 2 thread(s) 2.00x" in line
    assert line.index("fastest peer") < line.index("steps alone") < line.index("slowest integer")
