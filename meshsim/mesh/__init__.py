"""The clock-driven mesh: CA server, agents, workloads and their traffic.

Every actor here is a SimPy process on one ``simpy.Environment``.
"""
