"""Figures of runs (and, later, of sweeps), drawn with matplotlib."""
