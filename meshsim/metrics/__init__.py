"""Typed records taken during a run, and the tables and summary built
from them after it."""
