"""X.509 PKI for workload identities: keys, CSRs, signing, verification.

Pure crypto on the ``cryptography`` package; nothing here knows of SimPy.
"""
