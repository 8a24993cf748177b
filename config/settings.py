"""Settings for Decision Trace, read from environment variables.

With nothing configured the app runs for a first look: ``DEBUG`` on only when
asked for, a SQLite file under ``var/`` (git-ignored, WAL mode), and a
development secret that is refused outside ``DEBUG``. Production sets
``DEBUG=0``, ``SECRET_KEY``, ``ALLOWED_HOSTS`` and ``DATABASE_URL``; the TLS
settings default to on there and can be turned off one by one for a site
whose proxy already handles them.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
import django_stubs_ext
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

# Lets Django's generic classes be subscripted at run time (``admin.ModelAdmin[Decision]``),
# as django-stubs types them.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    """Read a boolean environment variable; anything unrecognised is an error."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}"
    )


def env_list(name: str, default: list[str]) -> list[str]:
    """Read a comma-separated environment variable."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number; got {raw!r}") from exc


DEBUG = env_bool("DEBUG", False)

_DEV_SECRET = "django-insecure-development-only-never-use-in-production"
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY in the environment, or DEBUG=1 for local use."
        )
    SECRET_KEY = _DEV_SECRET

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_filters",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "csp",
    "axes",
    "ninja",
    "decisioning",
    "traces",
    "traces.api",
    "traces.rules",
    "traces.webhooks",
    "traces.notifications",
    "traces.periodic",
    "ecommerce",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.content_security.ContentSecurityPolicyMiddleware",
    "config.middleware.AdminInputGuardMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "traces.context_processors.decision_access",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

# Databases: DATABASE_URL, or a SQLite file in the git-ignored var/ folder.
SQLITE_PATH = Path(os.environ.get("SQLITE_PATH", BASE_DIR / "var" / "db.sqlite3"))
# Django's SQLite backend whose write transactions queue on a lock file instead
# of SQLite's sleeping busy handler (config/sqlite/base.py says why).
SQLITE_ENGINE = "config.sqlite"
SQLITE_OPTIONS = {
    # WAL lets the web server read while a writer (seed_demo, a worker) commits;
    # IMMEDIATE takes the write lock up front instead of failing mid-transaction.
    "init_command": (
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
        "PRAGMA busy_timeout=20000;"
    ),
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}


_POSTGRES_OPTIONS = "-c jit=off -c work_mem=32MB -c max_parallel_workers_per_gather=0"


def _database_from_env() -> dj_database_url.DBConfig:
    # A connection kept across requests (both databases): opening one costs a
    # PostgreSQL handshake, or SQLite's PRAGMAs, and closing the last SQLite
    # connection checkpoints and resets the WAL, several milliseconds per
    # request. CONN_HEALTH_CHECKS replaces a connection the server dropped.
    conn_max_age = env_int("DB_CONN_MAX_AGE", 60)
    if conn_max_age < 0:
        raise ImproperlyConfigured(f"DB_CONN_MAX_AGE must be 0 or more; got {conn_max_age}")
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
        return {
            "ENGINE": SQLITE_ENGINE,
            "NAME": str(SQLITE_PATH),
            "OPTIONS": dict(SQLITE_OPTIONS),
            "CONN_MAX_AGE": conn_max_age,
            "CONN_HEALTH_CHECKS": True,
        }
    try:
        config = dj_database_url.parse(url, conn_max_age=conn_max_age)
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from exc
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["ENGINE"] = SQLITE_ENGINE
        config["OPTIONS"] = dict(SQLITE_OPTIONS)
    elif "options" not in config.get("OPTIONS", {}):
        # Settings for each session (libpq "options"; an ?options= in the URL wins):
        # no JIT (it compiled for ~9 ms within queries of a few ms), a work_mem that
        # keeps the full-text index's bitmaps exact at ten million events, and no
        # parallel workers: a page's reads are index walks that stop after a page, and
        # starting workers cost 10-15 ms of them (the search page of a word in 1 % of
        # 1M events: 61 -> 47 ms). Empty to send none (a pooler that refuses startup
        # options).
        options = os.environ.get("DB_POSTGRES_OPTIONS", _POSTGRES_OPTIONS).strip()
        if options:
            config.setdefault("OPTIONS", {})["options"] = options
    config["CONN_HEALTH_CHECKS"] = True
    return config


DATABASES = {"default": _database_from_env()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses a locked-out account or address before the password check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        ),
    },
}

# Security. Behind TLS these are on by default when DEBUG is off; each can be
# switched off (e.g. SECURE_SSL_REDIRECT=0 where the proxy redirects already).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Work after commit (sealing the evidence log, webhook deliveries, reviewer
# emails) runs in `manage.py db_worker`; `make run` starts one.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# Periodic work, run by the same worker (`manage.py run_worker` schedules it and
# runs `db_worker`): "every" a timedelta (slots aligned to the epoch) or
# "daily_at" a local time. Register another with one line (docs/human-in-the-loop.md).
TRACES_PERIODIC_TASKS = {
    "review_overdue": {
        "call": "traces.notifications.services.overdue_notify",
        "every": timedelta(minutes=5),
    },
    "review_digests": {
        "call": "traces.notifications.services.digests_send",
        "daily_at": os.environ.get("TRACES_DIGEST_AT", "08:00"),
    },
    # Each TRACES_RETENTION rule (none by default), archived first when
    # TRACES_RETENTION_ARCHIVE_DIR is set: docs/scaling.md#retention.
    "traces_retention": {
        "call": "traces.retention.retention_daily",
        "daily_at": os.environ.get("TRACES_RETENTION_AT", "03:30"),
    },
}
TRACES_RETENTION_ARCHIVE_DIR = os.environ.get("TRACES_RETENTION_ARCHIVE_DIR", "")
# The Ed25519 key that signs evidence checkpoints: a PEM text, or else the file
# (created by `manage.py evidence_keygen`; `make run` does it). Never committed.
TRACES_EVIDENCE_SIGNING_KEY = os.environ.get("TRACES_EVIDENCE_SIGNING_KEY", "")
TRACES_EVIDENCE_SIGNING_KEY_FILE = Path(
    os.environ.get(
        "TRACES_EVIDENCE_SIGNING_KEY_FILE", BASE_DIR / "var" / "evidence-signing-key.pem"
    )
)
# Content-Security-Policy (django-csp 4's format; config.content_security sends
# it, its text built once): only the app's own scripts, styles and
# images (htmx is a static file of django-htmx, served by whitenoise); no inline
# script or style, no plugin, no framing, forms post to the app only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Login throttling (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords in a
# row for one account, or from one address, further attempts are refused for
# LOGIN_LOCKOUT_MINUTES (the lockout page says so; status 429). A correct
# login before the limit starts the count again. Behind a proxy every client
# shares its address: install django-ipware and set AXES_IPWARE_PROXY_COUNT.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # django-axes logs every successful login at INFO; lockouts stay (WARNING).
    "loggers": {"axes": {"level": "WARNING"}},
}

# Reviewer emails: the console under DEBUG (``make run``), SMTP from the environment otherwise.
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "decision-trace@localhost")
