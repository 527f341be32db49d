"""meshsim: a discrete-event simulator of mesh identities under attack."""

__version__ = "0.1.0"
