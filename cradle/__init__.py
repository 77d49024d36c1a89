"""Cradle: a shared, family-centred safeguarding record for babies under one.

The core (``cradle.domain``, ``cradle.scenarios``, ``cradle.rules``) is plain
Python and imports nothing from Django.
"""

__version__ = "0.1.0"
