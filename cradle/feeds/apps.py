import logging
import re

from django.apps import AppConfig

# A child's NHS number is part of the path of the alerts and flags operations; the request
# and development-server logs repeat paths (a 404, a 401), so they see it redacted.
_CHILD = re.compile(r"(/api/children/)[^/\s]+")


class RedactChildNumbers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                _CHILD.sub(r"\1(redacted)", a) if isinstance(a, str) else a for a in record.args
            )
        if isinstance(record.msg, str) and "/api/children/" in record.msg:
            record.msg = _CHILD.sub(r"\1(redacted)", record.msg)
        return True


class FeedsConfig(AppConfig):
    name = "cradle.feeds"
    label = "feeds"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        for name in ("django.request", "django.server"):
            logger = logging.getLogger(name)
            if not any(isinstance(f, RedactChildNumbers) for f in logger.filters):
                logger.addFilter(RedactChildNumbers())
