"""Record linkage: the same person across agencies' records (issue 6).

Plain Python over pandas and Splink; no Django. ``frame`` turns agency records
into the identity-record frame, ``model`` holds the Splink comparisons, blocking
and unsupervised training, ``link`` links (deterministic NHS numbers, then
Splink with two thresholds), ``households`` groups records by normalised
address, ``evaluate`` measures precision, recall and F1 on FEBRL and a synthetic
population. Splink's engines are imported only when used: DuckDB by default,
Spark (``spark``) for national scale.
"""
