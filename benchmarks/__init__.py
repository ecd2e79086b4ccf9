"""Benchmarks: each times the real code path beside the same work as plain SQL on the same
database in the same run, and prints `<name>: ours=<s>s plain_sql=<s>s ratio=<x>`
(or `<name>: <value> <unit>` where nothing plain compares).

`python -m benchmarks [NAME ...] [--opportunities N] [--database URL]`
"""
