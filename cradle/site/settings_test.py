"""Settings for the test suite: the real settings, with a test key and a fast hasher."""

import os

os.environ.setdefault("CRADLE_SECRET_KEY", "test-only-key-not-secret")

from cradle.site.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
