"""Benchmarks: each module is one command (`python -m bench.<name>`) that starts its own portal in a temporary
data directory, measures, prints its figures and records them in bench/README.md. Not part of the test suite."""
