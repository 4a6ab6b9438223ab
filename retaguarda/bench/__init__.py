"""Benchmarks (`retaguarda bench ...`): scripts with a written method; their figures live
in docs/BENCHMARKS.md, never in timed tests. `intake.py` drives one run, `loadgen.py` is
the load generator's own process, `processes.py` starts what a run needs."""
