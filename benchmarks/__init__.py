"""Benchmarks (not tests): the one-call routine against the raw chain, polling, concurrency and
start-up, run against the sandbox on loopback. `python -m benchmarks` runs them all and prints a
table; nothing here asserts a timing."""
