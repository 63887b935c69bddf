"""cryptorails benchmarks, run with ``python -m bench [NAME ...] [--json PATH]``.

Each public module of this package registers one benchmark with
`bench._harness.benchmark`; `python -m bench` runs them all, or the ones named. Numbers
are ratios against peers measured in the same run; a benchmark never fails a build (the
exit status is 0 whatever the numbers are).
"""
