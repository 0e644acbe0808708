"""Benchmarks: every figure is a ratio against a baseline measured in the same run on the same machine.

`python -m bench.run` prints the report and writes `bench/results/latest.json` and `latest.md`.
"""
