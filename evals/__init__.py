"""Evaluation harness: gold data, metrics, the naive baseline, reports and the quality gate.

`python -m evals run|validate|gate`; see evals/__main__.py.
"""
