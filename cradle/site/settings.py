"""Django settings. With no configuration at all Cradle runs on SQLite in ``var/``.

Environment (all optional):

- ``CRADLE_DATABASE_URL``: ``postgres://user:password@host:port/name`` selects PostgreSQL.
- ``CRADLE_SQLITE_PATH``: where the SQLite database lives (default ``var/cradle.sqlite3``).
- ``CRADLE_SECRET_KEY`` (or ``CRADLE_SECRET_KEY_FILE``): required unless ``CRADLE_DEBUG``.
- ``CRADLE_DEBUG``: true for the demo and development.
- ``CRADLE_ALLOWED_HOSTS``: comma-separated host names.
- ``CRADLE_BACKGROUND_EVALUATION``: false stops the thread that evaluates the families of
  API submissions after the answer (``cradle.records.background``; default true).
"""

from __future__ import annotations

from pathlib import Path

from cradle.site.env import ConfigError, database_from_url, env_bool, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DEBUG = env_bool("CRADLE_DEBUG", False)

SECRET_KEY = env_str("CRADLE_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ConfigError("CRADLE_SECRET_KEY is required (or set CRADLE_DEBUG=true for the demo)")
    SECRET_KEY = "insecure-development-key-never-used-in-production"

ALLOWED_HOSTS = [h.strip() for h in (env_str("CRADLE_ALLOWED_HOSTS", "localhost,127.0.0.1") or "").split(",") if h.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "cradle.records",
    "cradle.access",
    "cradle.web",
    "cradle.partnership",
    "cradle.links",
    "cradle.feeds",
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "cradle.feeds.middleware.ApiAnswersInJson",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "cradle.access.twofactor.RequireTwoFactor",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

# Repeated failed sign-ins lock the account for a while (django-axes; the state is in the
# database, so every process and server agrees).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25  # hours: 15 minutes
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"

ROOT_URLCONF = "cradle.site.urls"
WSGI_APPLICATION = "cradle.site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cradle.web.navigation.navigation",
            ]
        },
    }
]

_url = env_str("CRADLE_DATABASE_URL")
if _url:
    DATABASES = {"default": database_from_url(_url)}
else:
    _path = Path(env_str("CRADLE_SQLITE_PATH") or BASE_DIR / "var" / "cradle.sqlite3")
    _path.parent.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": _path,
            "OPTIONS": {
                # Concurrent writers wait for each other rather than fail: WAL lets
                # readers go on while one writes, IMMEDIATE takes the write lock at the
                # start of a transaction, and the busy timeout is how long to wait.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Passwords hashed with Argon2 (PBKDF2 kept only to upgrade older hashes on sign-in).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

# Sessions end after 30 minutes without a request, and when the browser closes.
SESSION_COOKIE_AGE = 30 * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
# Behind TLS in production: secure cookies and HSTS. The demo serves plain HTTP on localhost.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = 0 if DEBUG else 365 * 24 * 3600
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# A strict Content-Security-Policy: nothing inline, nothing from elsewhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
# The NHS.UK frontend, installed from the npm registry at set-up (never copied in, no CDN).
STATICFILES_DIRS = [("nhsuk", BASE_DIR / "node_modules" / "nhsuk-frontend" / "dist" / "nhsuk")]
LOGIN_URL = "/login/"
# Two-factor sign-in (cradle.access.twofactor): required for every user; there is no
# setting that turns it off.
OTP_TOTP_ISSUER = "Cradle"
LOGIN_REDIRECT_URL = "/"
EMAIL_BACKEND = env_str("CRADLE_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("CRADLE_FROM_EMAIL", "cradle@localhost")
EMAIL_TIMEOUT = 10  # seconds: a mail server that does not answer never holds up a save or a page

# Rule thresholds: a partnership's TOML file (defaults from the rule catalogue).
CRADLE_RULE_SETTINGS = env_str("CRADLE_RULE_SETTINGS")
# API submissions' families evaluated by a thread a moment after the answer
# (cradle.records.background); off, they wait for a reader of the family or the sweep.
CRADLE_BACKGROUND_EVALUATION = env_bool("CRADLE_BACKGROUND_EVALUATION", True)
CRADLE_EVALUATION_GATHER = 0.5  # seconds a round waits for more submissions to gather

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
