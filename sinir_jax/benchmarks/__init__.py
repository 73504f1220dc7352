"""Benchmarks that score methods on shared data: ``sr`` (x4 super-resolution)."""
