"""The Django shell around the core: settings, URLs, WSGI."""
