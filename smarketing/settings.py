"""Smarketing settings, read from the environment.

The database is PostgreSQL (`DATABASE_URL`) and the broker a Redis-protocol server
(`CELERY_BROKER_URL`; the cache too with `REDIS_URL`). `make run` starts embedded PostgreSQL
and Valkey servers and passes their URLs, and writes them to `var/services.env` while they
run: a `manage.py` started without `DATABASE_URL` (e.g. `manage.py shell` in a second
terminal) reads them there. With DEBUG on and no `SECRET_KEY`, a development key is made once
and kept in `var/secret_key`, so that every process signs with the same key.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SMARKETING_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def development_secret_key(path: Path) -> str:
    """The development key kept in `path` (mode 0600), made by the first process to ask.

    Every process reads the same key: two web workers, the Celery worker and a shell sign
    and check each other's sessions and tokens."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    from django.core.management.utils import get_random_secret_key

    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(get_random_secret_key() + "\n")
    try:
        os.link(draft, path)  # fails if another process made the key first: theirs is kept
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_text().strip()


def running_services(env_file: Path) -> dict[str, str]:
    """The URLs that `make run`'s supervisor wrote to `env_file`, if it is still running."""
    try:
        lines = env_file.read_text().splitlines()
    except FileNotFoundError:
        return {}
    values = dict(line.split("=", 1) for line in lines if "=" in line)
    try:
        os.kill(int(values.get("SMARKETING_SERVICES_PID", "")), 0)
    except (ValueError, ProcessLookupError):
        return {}  # left by a supervisor that was killed
    except PermissionError:
        pass
    return values


DEBUG = env_bool("DEBUG")
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = development_secret_key(VAR_DIR / "secret_key")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "axes",
    "pgtrigger",
    "pghistory",
    "core",
    "accounts",
    "personas",
    "leads",
    "sla",
    "goals",
    "reporting",
    "webhooks",
    "smarketing",
]

# The audit log's triggers (core.audit) come with the migrations; the one on the role
# memberships table (auth's own many-to-many, outside our migrations) is installed after
# every migrate.
PGTRIGGER_INSTALL_ON_MIGRATE = True
# Reads change nothing audited: only writes carry the who-and-where context (every statement
# of a tracked request is prefixed with it).
PGHISTORY_MIDDLEWARE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

MIDDLEWARE = [
    # Probes ask for /healthz by the server's address: answered before the Host check.
    "smarketing.middleware.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "smarketing.middleware.RejectNullCharactersMiddleware",
    "smarketing.middleware.ContentSecurityPolicyMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Who changed what: the audit log's triggers read the signed-in user and the path from
    # here (also for API tokens, which authenticate in the view).
    "pghistory.middleware.HistoryMiddleware",
    "core.replicas.ReadYourWritesMiddleware",
    "accounts.middleware.UserTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: turns a lockout found while authenticating into its answer (429).
    "axes.middleware.AxesMiddleware",
]

# Scripts, styles, fonts and images from this origin only (assets come from npm and are
# served here); inline style attributes are allowed, inline script is not.
CONTENT_SECURITY_POLICY = os.environ.get(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
)

# Guessing passwords: after AXES_FAILURE_LIMIT wrong passwords for one username from one
# address, the login page, the admin's and the API token endpoint answer 429 for
# AXES_COOLOFF_MINUTES. A successful login clears the count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_CALLABLE = "smarketing.views.locked_out"
AXES_IPWARE_PROXY_COUNT = int(os.environ.get("AXES_PROXY_COUNT", "0")) or None

ROOT_URLCONF = "smarketing.urls"
WSGI_APPLICATION = "smarketing.wsgi.application"
ASGI_APPLICATION = "smarketing.asgi.application"

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
                "smarketing.context_processors.navigation",
                "accounts.context_processors.notifications",
            ],
        },
    },
]

_services = {} if os.environ.get("DATABASE_URL") else running_services(VAR_DIR / "services.env")
_database_url = os.environ.get("DATABASE_URL") or _services.get("DATABASE_URL")
if not _database_url:
    raise ImproperlyConfigured(
        "DATABASE_URL is not set and `make run` is not running. Use `make run` (it starts "
        "PostgreSQL and Valkey and serves the app), or set DATABASE_URL (and "
        "CELERY_BROKER_URL) to running servers."
    )
DATABASES = {
    "default": dj_database_url.parse(
        _database_url,
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must name a PostgreSQL database (postgres://...).")
# Report aggregates have cost estimates above PostgreSQL's JIT threshold, and compiling
# them took 0.6 s of a 0.7 s live funnel query that runs in 0.08 s without JIT.
DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
if os.environ.get("TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DATABASE_NAME"]}

# Reports, exports and replays may read from a streaming replica (core.replicas): everything
# else, and every read by someone who wrote in the last few seconds, stays on the primary.
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"],
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
    if DATABASES["replica"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_REPLICA_URL must name a PostgreSQL database.")
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["core.replicas.ReplicaRouter"]
DATABASE_REPLICA_LAG_SECONDS = float(os.environ.get("DATABASE_REPLICA_LAG_SECONDS", "5"))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
NODE_MODULES = BASE_DIR / "node_modules"
# Front-end packages come from npm (package.json) and are served by staticfiles/whitenoise.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", NODE_MODULES / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", NODE_MODULES / "bootstrap-icons" / "font"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/chart.js", NODE_MODULES / "chart.js" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = VAR_DIR / "media"

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Email (Django's MAILERS): the console in development, SMTP from the environment otherwise.
EMAIL_BACKEND_PATH = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
_mailer_options = {}
if EMAIL_BACKEND_PATH.endswith("smtp.EmailBackend"):
    _mailer_options = {
        "host": os.environ.get("EMAIL_HOST", "localhost"),
        "port": int(os.environ.get("EMAIL_PORT", "25")),
        "username": os.environ.get("EMAIL_HOST_USER", ""),
        "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS"),
        "timeout": 10,
    }
MAILERS = {"default": {"BACKEND": EMAIL_BACKEND_PATH, "OPTIONS": _mailer_options}}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "smarketing@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Security: production values unless DEBUG.
SESSION_COOKIE_SECURE = not DEBUG and env_bool("SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = not DEBUG and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 0 if DEBUG else int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
X_FRAME_OPTIONS = "DENY"

# REST API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.rest.PageNumberPagination",
    "PAGE_SIZE": 50,
    # JSON bounded as a whole request (size and depth, core.bounds); forms as DRF's defaults.
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "core.throttles.UserRateThrottle",
        "core.throttles.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": os.environ.get("API_USER_RATE", "6000/min"),
        "anon": os.environ.get("API_ANON_RATE", "60/min"),
    },
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.rest.exception_handler",
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Smarketing API",
    "DESCRIPTION": "Sales and marketing alignment: leads, SLA clocks, goals and reports.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One schema name per choice set that several fields share.
    "ENUM_NAME_OVERRIDES": {
        "StageEnum": "leads.lifecycle.STAGE_CHOICES",
        "ForwardStageEnum": "leads.lifecycle.FORWARD_STAGE_CHOICES",
        "ContactChannelEnum": "leads.models.ContactAttempt.Channel",
        "ValueSourceEnum": "goals.models.RevenuePlan.Source",
        "AgreementStatusEnum": "sla.models.SLAAgreement.Status",
        "DefinitionStatusEnum": "leads.models.QualificationDefinition.Status",
        "DefinitionStageEnum": "leads.api.serializers.DEFINITION_STAGES",
        "PersonaStatusEnum": "personas.models.Persona.Status",
    },
    # The default hook first; then the description gains the measures' definitions, the
    # same text as the Definitions page.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "reporting.definitions.schema_with_definitions",
    ],
}

# Cache: Redis when configured, else process-local memory.
REDIS_URL = os.environ.get("REDIS_URL") or _services.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # A cache read takes well under a millisecond; an unreachable Redis must not
            # hold a page for longer than this (pages then compute, core.caching).
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or _services.get("CELERY_BROKER_URL")
if not CELERY_BROKER_URL:
    raise ImproperlyConfigured(
        "CELERY_BROKER_URL is not set: use `make run`, or set it to a Redis-protocol server "
        "(redis://host:6379/0)."
    )
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A task is acknowledged when it ends (acks_late); a pool child that dies gives its task back
# at once (reject_on_worker_lost). A worker killed as a whole gives nothing back: the Redis
# transport hands its unacknowledged tasks to another worker once they have been out for
# `visibility_timeout` seconds, looked for every `unacked_restore_interval` seconds. Redis's
# default is an hour; 60 + 5 brings a lost task back within about a minute. The price: a
# task still running (or waiting for its countdown) after that long is handed out a second
# time. So long jobs work in slices of 20 s that send themselves again, each batch applied
# once under a row lock (leads.long_jobs), the outbox drain takes turns of 50 s, and every
# task is idempotent (a retry with a long back-off may run twice, to no effect).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "60")),
    "unacked_restore_interval": 5,
    "unacked_restore_throttle": 1,
}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = int(os.environ.get("CELERY_TASK_TIME_LIMIT", "600"))
CELERY_TASK_SOFT_TIME_LIMIT = int(os.environ.get("CELERY_TASK_SOFT_TIME_LIMIT", "540"))
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER")
CELERY_IMPORTS = ("smarketing.tasks", "leads.import_tasks")
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "celery")
# Named queues, so each kind of work gets workers of its own on any number of hosts and no
# backlog of one kind starves another (the SLA sweep never waits behind webhook deliveries).
# A worker started without -Q serves them all (`make run`, the tests); in production run
# e.g. `celery -A smarketing worker -Q sla` next to `-Q webhooks` and `-Q imports,reports`.
# With CELERY_QUEUE_PREFIX set (the tests: one prefix per run), every queue name carries it.
CELERY_QUEUE_PREFIX = os.environ.get("CELERY_QUEUE_PREFIX", "")
QUEUE_NAMES = ("sla", "webhooks", "imports", "reports")
CELERY_TASK_ROUTES = {
    "sla.tasks.*": {"queue": CELERY_QUEUE_PREFIX + "sla"},
    "core.tasks.*": {"queue": CELERY_QUEUE_PREFIX + "sla"},
    "webhooks.tasks.*": {"queue": CELERY_QUEUE_PREFIX + "webhooks"},
    "leads.import_tasks.*": {"queue": CELERY_QUEUE_PREFIX + "imports"},
    "leads.tasks.*": {"queue": CELERY_QUEUE_PREFIX + "imports"},
    "reporting.tasks.*": {"queue": CELERY_QUEUE_PREFIX + "reports"},
    "goals.tasks.*": {"queue": CELERY_QUEUE_PREFIX + "reports"},
}
WORKER_QUEUES = [CELERY_TASK_DEFAULT_QUEUE, *(CELERY_QUEUE_PREFIX + q for q in QUEUE_NAMES)]
# A worker started without -Q consumes every queue listed here.
CELERY_TASK_QUEUES = [Queue(name) for name in WORKER_QUEUES]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A request that enqueues work must not hang on a broker outage: one quick retry, then the
# enqueue is given up (and logged); the work is in the database and a periodic job sends it.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict = {
    "heartbeat": {"task": "smarketing.tasks.heartbeat", "schedule": timedelta(minutes=1)},
    "sla-clocks-sweep": {"task": "sla.tasks.clocks_sweep", "schedule": timedelta(minutes=1)},
    "sla-commitments-check": {
        "task": "sla.tasks.commitments_check",
        "schedule": timedelta(days=1),
    },
    "funnel-snapshots-roll-up": {
        "task": "reporting.tasks.funnel_snapshots_roll_up",
        "schedule": timedelta(minutes=15),
    },
    "webhook-deliveries-resume": {
        "task": "webhooks.tasks.webhook_deliveries_resume",
        "schedule": timedelta(minutes=1),
    },
    # Reactions that could not run right after their change (a failure, a crash).
    "outbox-drain": {"task": "core.tasks.outbox_drain", "schedule": timedelta(seconds=10)},
    # Imports and rescoring runs that lost their task (a killed worker, a broker outage).
    "jobs-resume": {"task": "leads.tasks.jobs_resume", "schedule": timedelta(minutes=1)},
    # Every sales-stage lead with an owner has the clock of its hand-off.
    "sla-clocks-backfill": {
        "task": "sla.tasks.clocks_backfill",
        "schedule": timedelta(minutes=5),
    },
    "weekly-review": {
        "task": "reporting.tasks.weekly_review_build",
        "schedule": crontab(day_of_week="mon", hour=7, minute=0),
    },
    "goal-progress-measure": {
        "task": "goals.tasks.goal_progress_measure",
        "schedule": timedelta(hours=1),
    },
}
# Apps add their periodic jobs here, so every schedule is read in one place.

# Webhooks: receivers on loopback or private addresses are refused unless this is on.
# The shared dashboard's figures are computed once per period and cached this long.
DASHBOARD_CACHE_SECONDS = int(os.environ.get("DASHBOARD_CACHE_SECONDS", "60"))
# A change carrying more events than this leaves its reactions to the worker (core.events).
EVENTS_INLINE_MAX = int(os.environ.get("EVENTS_INLINE_MAX", "100"))
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES")
WEBHOOKS_TIMEOUT_SECONDS = 5
# A delivery being sent is held for its timeout plus this margin (seconds) before another
# worker may take it over (its worker presumed dead).
WEBHOOKS_CLAIM_MARGIN = int(os.environ.get("WEBHOOKS_CLAIM_MARGIN", "25"))
WEBHOOKS_MAX_ATTEMPTS = 6
# Back-off after attempt n: base * factor ** (n - 1) seconds, capped (1 min, 5 min, 25 min...).
WEBHOOKS_RETRY_BASE_SECONDS = float(os.environ.get("WEBHOOKS_RETRY_BASE_SECONDS", "60"))
WEBHOOKS_RETRY_FACTOR = 5
WEBHOOKS_RETRY_MAX_SECONDS = 6 * 3600

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # One line per trigger installed after every migrate otherwise.
        "pgtrigger": {"level": "WARNING"},
    },
}
