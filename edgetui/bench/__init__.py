"""Benchmarks behind `edgetui bench ...`: each prints its figures and a same-run baseline."""
