import os

from hypothesis import HealthCheck, settings

# CI: derandomised and without deadlines, so a property test never flakes on a slow machine.
settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile("dev", deadline=None, max_examples=60)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_report_header(config):
    """Say which database the database tests use (SQLite, or PostgreSQL from CRADLE_DATABASE_URL)."""
    from django.conf import settings as django_settings

    db = django_settings.DATABASES["default"]
    engine = db["ENGINE"].rsplit(".", 1)[-1]
    where = f"server {db['HOST']}" if db.get("HOST") else "a test database of its own"
    return f"database tests run on: {engine} ({where})"
