"""Figures of a run and of a sweep, drawn with matplotlib, and a
sweep's report page."""
