"""meshsim's performance benchmarks: ``python -m benchmarks`` (or
``make bench``).

Each figure is a ratio of two timings taken in the same process run, or
a wall time and peak memory of one child process, so that most of the
machine's speed cancels out. ``docs/performance.md`` says what each
figure measures and what the last measured table was.
"""

from benchmarks.figures import Figure, Sizes, judge

__all__ = ["Figure", "Sizes", "judge"]
