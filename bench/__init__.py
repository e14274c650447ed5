"""Benchmarks (make bench): measured, written to bench/results, never asserted in tests."""
