"""Django: the family record in the database, and the actions that change it.

Rows map to and from the core's domain objects (``timeline.py``); the rules
never read the database. Every change goes through an action (``actions.py``)
that writes, re-evaluates the family's rules and records who did it, in one
transaction.
"""
