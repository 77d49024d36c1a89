"""Synthetic populations: families with babies drawn from published (or guessed) rates,
swept against the rules at national scale, and the alert burden they would carry.

Pure Python (no Django): ``generator`` draws families, ``parquet`` writes and reads
them, ``sweep`` evaluates them (as of a day, or over a simulated year), ``burden``
measures alerts per family-month and recall, ``charts`` draws the figures.
"""
