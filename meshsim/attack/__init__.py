"""Attackers as SimPy processes acting on the mesh: key theft and
on-path interception."""
