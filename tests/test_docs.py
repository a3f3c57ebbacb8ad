"""The documentation runs: every code block of README.md and docs/*.md (tests/docsnippets.py
says how each kind runs and how a block is marked illustrative), and every command written
inline in the prose names a real subcommand, option, module or file."""
from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml

import docsnippets as D
from snncc.errors import SnnccError

BLOCKS = D.all_blocks()
#: fewer runnable blocks than this means the collector lost them, not that the docs shrank
MIN_RUNNABLE = 40


def _param(b: D.Block):
    marks = []
    if b.slow:
        marks.append(pytest.mark.slow)
    return pytest.param(b, id=b.where, marks=marks)


@pytest.fixture(scope="module")
def workspaces(tmp_path_factory):
    base = tmp_path_factory.mktemp("docs")
    made: dict[Path, D.Workspace] = {}
    cache: dict = {}

    def get(doc: Path) -> D.Workspace:
        if doc not in made:
            d = base / doc.relative_to(D.ROOT).as_posix().replace("/", "_")
            d.mkdir()
            made[doc] = D.Workspace(doc, d, cache)
        return made[doc]
    yield get
    for ws in made.values():
        ws.close()


def run_block(b: D.Block, ws: D.Workspace) -> int:
    """Run one block in its document's workspace; the number of things it executed."""
    if b.lang in D.SHELL:
        cmds = D.shell_commands(b.text)
        for cmd in cmds:
            rc, out = ws.shell(cmd)
            want = int(b.attrs.get("exit", 0))
            assert rc == want, f"{b.where}: `{cmd}` exited {rc} (expected {want}):\n{out[-4000:]}"
        return len(cmds)
    if b.lang == "console":
        pairs = D.transcript(b.text)
        for cmd, expected in pairs:
            rc, out = ws.shell(cmd, quiet_progress=True, cache=False)
            assert D.matches(expected, out), (f"{b.where}: `{cmd}` (exit {rc}) printed\n{out}\n"
                                              f"--- the document shows\n{expected}")
        return len(pairs)
    if b.lang == "python":
        ws.python(b.text, b.where)
        return 1
    if b.lang == "yaml":
        from snncc.frontends import load_model
        model = D.yaml_model(b.text)
        if "same-as" in b.attrs:
            shown = (D.ROOT / b.attrs["same-as"]).read_text()
            assert shown == b.text, f"{b.where}: the block differs from {b.attrs['same-as']}"
        name = b.attrs.get("file") or f".block-{b.line}.yaml"
        path = ws.dir / name
        path.write_text(b.text if "network" in yaml.safe_load(b.text) else yaml.safe_dump(model))
        if "invalid" in b.attrs:         # shown for the error it gives: it must give one
            with pytest.raises(SnnccError):
                load_model(path)
        else:
            load_model(path)
        return 1
    raise AssertionError(f"{b.where}: cannot run a '{b.lang}' block")


@pytest.mark.parametrize("block", [_param(b) for b in BLOCKS if b.lang in D.RUNNABLE])
def test_doc_block(block: D.Block, workspaces):
    if block.illustrative is not None:
        D.COUNTS["illustrative"] += 1
        pytest.skip(f"illustrative: {block.illustrative}")
    missing = D.missing(block)
    if missing:
        pytest.skip(f"needs {', '.join(missing)}, which is not installed")
    ws = workspaces(block.path)
    # the blocks before it in its document first (a later block may use what they built);
    # slow ones only for a slow block
    for earlier in D.parse(block.path):
        if earlier.line >= block.line:
            break
        if earlier.runnable and earlier.line not in ws.done and (block.slow or not earlier.slow):
            ws.done.add(earlier.line)
            run_block(earlier, ws)
    ws.done.add(block.line)
    executed = run_block(block, ws)
    assert executed > 0, f"{block.where}: the block has nothing to run"
    D.COUNTS["blocks"] += 1


def test_blocks_are_tagged_and_counted():
    """Every block says what it is; illustrative ones say why; the collector finds the docs'
    blocks (a broken collector must not pass by running nothing)."""
    untagged = [b.where for b in BLOCKS if not b.lang]
    assert not untagged, ("code blocks without a language (```sh, ```console, ```python, ```yaml; ```text "
                          f"for pseudo-code): {untagged}")
    silent = [b.where for b in BLOCKS if b.illustrative == ""]
    assert not silent, f"illustrative blocks must say why (```sh illustrative: needs a board): {silent}"
    runnable = [b for b in BLOCKS if b.runnable]
    assert len(runnable) >= MIN_RUNNABLE, f"only {len(runnable)} runnable doc blocks found"
    assert {b.path.name for b in runnable} >= {"README.md", "api.md", "yaml-format.md", "nir.md"}


def _subcommand_flags():
    from snncc.cli import _parser
    top = _parser()
    sub = next(a for a in top._actions if a.__class__.__name__ == "_SubParsersAction")
    return {name: {o for a in p._actions for o in a.option_strings} for name, p in sub.choices.items()}


def test_inline_commands_exist():
    """`snncc SUB --flag` spans name real subcommands and flags; `python -m M` real modules;
    `python FILE.py` real files (checked, not run: most are placeholders or take hours)."""
    import importlib.util
    flags = _subcommand_flags()
    bad = []
    for path in D.doc_files():
        for line, span in D.inline_commands(path):
            where = f"{path.relative_to(D.ROOT)}:{line}: `{span}`"
            words = shlex.split(span.replace("[", " ").replace("]", " "))
            D.COUNTS["inline"] += 1
            if words[0].endswith("snncc"):
                if len(words) == 1:
                    continue
                if words[1] not in flags:
                    bad.append(f"{where}: no subcommand {words[1]}")
                    continue
                for w in words[2:]:
                    if w.startswith("-") and w.split("=")[0] not in flags[words[1]]:
                        bad.append(f"{where}: snncc {words[1]} has no option {w}")
            elif _placeholder(words[-1]):
                continue
            elif words[1] == "-m":
                if importlib.util.find_spec(words[2]) is None:
                    bad.append(f"{where}: no module {words[2]}")
            elif "/" in words[1] and not (D.ROOT / words[1]).is_file():   # (run.py: a build's own)
                bad.append(f"{where}: no file {words[1]}")
    assert not bad, "\n".join(bad)


def _placeholder(word: str) -> bool:
    """BUILD, MODULE, FILE.py: a word the reader replaces."""
    stem = word.rsplit("/", 1)[-1].split(".")[0]
    return stem.isupper()


def test_transcript_matching_can_fail():
    """The transcript comparison is not vacuous: a changed word or a missing line fails."""
    assert D.matches("a: 3 neurons\nhint: ...", "a: 3 neurons\nhint: anything at all\n")
    assert not D.matches("a: 3 neurons", "a: 4 neurons")
    assert not D.matches("a\nb", "a")
    assert D.transcript("$ snncc x\nout\n$ snncc y\n") == [("snncc x", "out"), ("snncc y", "")]
