"""Benchmarks: scripts that measure the product on this machine (run them, they are not tests)."""
