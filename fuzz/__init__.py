"""Long-run fuzzers for snncc's input surfaces (docs/reliability.md).

Each module is runnable (``python -m fuzz.yaml_fuzz --examples 100000``) and is also
imported by the bounded tests in ``tests/test_fuzz_*.py`` with a small count. The
invariant everywhere: an input gives a valid result or an :class:`SnnccError` (exit 2),
never another exception and never a hang.
"""
