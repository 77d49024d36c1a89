"""Settings for the test suite: the real settings, with a test key and a fast hasher."""

import os
import tempfile

os.environ.setdefault("CRADLE_SECRET_KEY", "test-only-key-not-secret")
# The test database's audit anchor lives with the test run, never beside a real database.
os.environ.setdefault("CRADLE_AUDIT_ANCHOR", os.path.join(tempfile.mkdtemp(prefix="cradle-audit-"), "anchor.json"))

from cradle.site.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tests evaluate queued families themselves (evaluate_due, evaluate_if_due) or start the
# background evaluator on purpose (tests/db/test_feeds_background.py).
CRADLE_BACKGROUND_EVALUATION = False
