"""Benchmarks: latency, throughput, memory and scaling, beside the naive-langchain baseline.

`python -m bench` (or `make bench`) runs everything in one go and writes
`bench/results/latest.json` and `latest.md`; `--quick` is a smaller run.
"""
