"""Agency feeds (issue 7): an HTTP API, FHIR and CSV import, with nothing lost.

Every message's raw bytes are kept first (``store``); each record in it is checked
(``records``) and either written, idempotently and versioned (``ingest``), or kept
in quarantine with its reasons. ``csvfeed`` streams files, ``fhir`` reads FHIR R4
resources, ``api`` is the token-authenticated HTTP API, ``flags`` sends alerts out.
"""
