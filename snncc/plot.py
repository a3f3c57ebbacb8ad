"""Raster plots (matplotlib, headless)."""
from __future__ import annotations

from pathlib import Path

from .errors import printable
from .refsim.raster import Raster


def _literal(text: str) -> str:
    """A name as matplotlib draws it literally: '$' would start mathtext (and a lone one
    fails the drawing), control characters escaped."""
    return printable(str(text)).replace("$", r"\$")


def raster_plot(raster: Raster, path: str | Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 5), dpi=100)
    base = 0
    ticks, labels = [], []
    for k, (name, size) in enumerate(raster.sizes.items()):
        s, i = raster.spikes[name]
        ax.scatter(s * raster.dt, i + base, s=1.5, marker="|", color=f"C{k % 10}", linewidths=0.6)
        ticks.append(base + size / 2)
        labels.append(f"{_literal(name)}\n{raster.rate(name):.1f} Hz")
        base += size
        ax.axhline(base - 0.5, color="0.85", lw=0.5)
    ax.set_xlim(0, raster.steps * raster.dt)
    ax.set_ylim(-0.5, max(base, 1) - 0.5)
    ax.set_yticks(ticks, labels)
    ax.set_xlabel("time (ms)")
    ax.set_title(f"{_literal(raster.source)}: {raster.n_spikes} spikes in {raster.steps} steps of "
                 f"{raster.dt:g} ms")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
