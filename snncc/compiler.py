"""The compile driver: model file -> target pipeline -> build directory."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from . import targets
from .build import Build, discard_build, dump_json, network_figures, output_dir, write_build
from .errors import SnnccError, printable
from .frontends import load_model
from .ir import Network
from .passes import Pipeline
from .progress import phase


def lower(net: Network, target_name: str, options: dict[str, Any] | None = None,
          on_pass: Callable[[str, float], None] | None = None):
    """Run ``target_name``'s pipeline on ``net``; returns the PipelineResult (no files)."""
    target = targets.get(target_name)
    options = target.parse_options(dict(options or {}))
    target = target.configured(options)
    return Pipeline(target.pipeline(options), on_pass=on_pass).run(net, target)


def compile_model(model: str | Path, target_name: str, outdir: str | Path,
                  options: dict[str, Any] | None = None, dump_after: tuple[str, ...] = (),
                  on_pass: Callable[[str, float], None] | None = None,
                  frontend_options: dict[str, Any] | None = None) -> Build:
    """Compile ``model`` for ``target_name`` into the build directory ``outdir``.

    On failure nothing is left at ``outdir``: not a half-written build, and not the
    build of an earlier compile either (it is removed, so that nothing stale can be
    uploaded or verified as if it were this model's). The reports of the passes that
    did run are written beside it (``<outdir>.report.json``) and named in the error.
    """
    real = output_dir(outdir)          # refuse an unusable -o before any work
    outdir = Path(outdir)
    failed = outdir.with_name(outdir.name + ".report.json")
    if failed.is_file() and not failed.is_symlink():
        failed.unlink()                # an earlier failure's report: not about this compile
    target, prepared = None, None
    try:
        target = targets.get(target_name)
        options = target.parse_options(dict(options or {}))
        target = target.configured(options)
        prepared = target.prepare(options)     # e.g. a tool's start-up, beside the passes
        with phase(f"reading {printable(str(model))}"):
            loaded = [load_model(model, **(frontend_options or {}))]
        base = Path(os.path.realpath(model)).parent

        def produce(tmp: Path):
            pipe = Pipeline(target.pipeline(options), dump_after=dump_after, dump_dir=tmp, on_pass=on_pass,
                            dump_base=base)
            net = loaded.pop()        # held by nothing else once lowered: freed before finalize
            try:
                result = pipe.run(net, target)
            except SnnccError as e:
                reports = getattr(e, "reports", [])
                dump_json({"target": target.name, "error": str(e), "network": network_figures(net),
                           "passes": [r.to_json() for r in reports]}, failed)
                e.hint = (e.hint + "; " if e.hint else "") + f"report written to {failed}"
                raise
            emitted = target.emit(result.network, tmp, options) or {}
            # Pass timings vary run to run; they go to --time-passes, not into the build,
            # so the same model and options give a byte-identical build directory.
            reports = [{k: v for k, v in r.to_json().items() if k != "seconds"} for r in result.reports]
            return result.network, reports, emitted

        return write_build(outdir, target, str(model), options, produce, prepared)
    except BaseException:
        discard_build(real)
        raise
    finally:
        if target is not None:
            target.discard(prepared)
