"""The one settings file. Every value that differs between machines comes from the environment.

Without any environment the project runs on embedded defaults: SQLite under var/, a
filesystem Celery broker that needs no server, and mail written to var/outbox/.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key
from django.utils.csp import CSP

from config.env import (
    cache_from_url,
    celery_transport_options,
    database_from_url,
    envbool,
    envchoice,
    envfloat,
    envint,
    envintlist,
    envjson,
    envlist,
    envstr,
    file_mailer,
    local_secret,
    mailer_from_url,
    networklist,
    proxy_ssl_header,
)
from config.log import redact_portal_tokens

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(envstr("TAKEDOWN_VAR_DIR") or BASE_DIR / "var")


# --- core ----------------------------------------------------------------------------------

PRODUCTION = envbool("TAKEDOWN_PRODUCTION", False)
DEBUG = envbool("TAKEDOWN_DEBUG", False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("TAKEDOWN_DEBUG must be off in production: debug pages leak data")
SECRET_KEY = envstr("TAKEDOWN_SECRET_KEY")
# Outside production a key of this installation's own, generated once under var/ (never a
# string in the code: anyone could read it and forge sessions and portal codes with it).
# takedown/checks_deploy.py reports such a key under `check --deploy`.
SECRET_KEY_FILE = VAR_DIR / "secret-key"
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("TAKEDOWN_SECRET_KEY must be set in production")
    SECRET_KEY = local_secret(SECRET_KEY_FILE, get_random_secret_key)

ALLOWED_HOSTS = envlist("TAKEDOWN_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")

INSTALLED_APPS = [
    # django.contrib.admin with Takedown's site: admins only, throttled login.
    "takedown.apps.TakedownAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Two-factor sign-in for staff (takedown/web/twofactor.py): TOTP and recovery codes.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "takedown",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions, before common: picks the language from the cookie set by set_language,
    # then the browser's Accept-Language (the portal speaks English and German).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(), then: a signed-in session that owes its second factor
    # reaches nothing but the two-factor pages and sign-out.
    "django_otp.middleware.OTPMiddleware",
    "takedown.web.twofactor.TwoFactorMiddleware",
    # A signed-in staff member's own language (takedown/web/language.py) over the browser's.
    "takedown.web.language.StaffLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "django.template.context_processors.csp",
                "takedown.web.access.roles",
            ],
        },
    },
]

# Empty: SQLite at var/takedown.sqlite3 (as sqlite:// without a path).
DATABASE_URL = envstr("DATABASE_URL")
DATABASES = {
    "default": database_from_url(DATABASE_URL or "sqlite://", VAR_DIR / "takedown.sqlite3")
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
TIME_ZONE = envstr("TAKEDOWN_TIME_ZONE", "Europe/Berlin")
USE_I18N = True
# Translations of the portal (and whatever else is marked): locale/de/LC_MESSAGES/django.po,
# compiled to django.mo, which is committed so that no install needs GNU gettext.
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = VAR_DIR / "media"

# --- security ------------------------------------------------------------------------------

SESSION_COOKIE_AGE = envint("TAKEDOWN_SESSION_SECONDS", 8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_HSTS_SECONDS = 31536000 if PRODUCTION else 0
# Off by default: with it, every subdomain of the site's domain must serve HTTPS for a year.
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION and envbool("TAKEDOWN_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_SSL_REDIRECT = PRODUCTION and envbool("TAKEDOWN_SSL_REDIRECT", True)
# Behind a TLS-terminating reverse proxy every request reaches Django as plain HTTP: without
# the proxy's word (e.g. HTTP_X_FORWARDED_PROTO=https) the SSL redirect above would loop. Set
# it only if the proxy always sets or overwrites that header, else clients could forge it.
SECURE_PROXY_SSL_HEADER = proxy_ssl_header("TAKEDOWN_PROXY_SSL_HEADER")
# Reverse proxies (addresses or networks) whose X-Forwarded-For is believed: without them
# every client has the proxy's address and all share one login and portal rate-limit counter.
# takedown.web.access.client_ip reads it; X-Forwarded-For from anyone else is ignored.
TAKEDOWN_TRUSTED_PROXIES = networklist("TAKEDOWN_TRUSTED_PROXIES")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
# CSRF on every POST (the middleware); no page reads the cookie from script.
CSRF_COOKIE_HTTPONLY = True

# Content-Security-Policy (Django's own middleware): everything from this origin only; no inline
# styles or style attributes; inline scripts only with the per-response nonce
# (<script nonce="{{ csp_nonce }}">), which Django adds to the header only when a page used it.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

LOGIN_URL = "login"
# Two-factor sign-in (takedown/web/twofactor.py): required for reviewers and admins, and for
# caseworkers of teams that ask for it. Off only for tests that sign users in directly; never
# in production.
TAKEDOWN_TWO_FACTOR = envbool("TAKEDOWN_TWO_FACTOR", True)
if PRODUCTION and not TAKEDOWN_TWO_FACTOR:
    raise ImproperlyConfigured("TAKEDOWN_TWO_FACTOR cannot be turned off in production")
# The name authenticator apps show beside the account.
OTP_TOTP_ISSUER = envstr("TAKEDOWN_OTP_ISSUER", "Takedown")
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Failed sign-ins allowed per username and address (ten times as many per address, four times
# as many per username from any address) before further attempts are refused for
# TAKEDOWN_LOGIN_LOCKOUT_SECONDS (counted in the cache; /login/ and /admin/login/ alike).
TAKEDOWN_LOGIN_FAILURE_LIMIT = envint("TAKEDOWN_LOGIN_FAILURE_LIMIT", 5)
TAKEDOWN_LOGIN_LOCKOUT_SECONDS = envint("TAKEDOWN_LOGIN_LOCKOUT_SECONDS", 15 * 60)
# Rate-limit counters must be shared by all web processes: with several processes set
# TAKEDOWN_CACHE_URL=redis://host:6379/N; the default is per process (fine for one process).
# Production refuses the default: behind several processes, each counting on its own, every
# limit would be multiplied by the number of processes, and reset by every restart.
TAKEDOWN_CACHE_URL = envstr("TAKEDOWN_CACHE_URL")
if PRODUCTION and not TAKEDOWN_CACHE_URL:
    raise ImproperlyConfigured(
        "TAKEDOWN_CACHE_URL must be set in production (redis://host:6379/N): login and portal "
        "rate limits are counted in the cache, and a per-process cache gives every web process "
        "its own counters"
    )
CACHES = {"default": cache_from_url("TAKEDOWN_CACHE_URL", TAKEDOWN_CACHE_URL)}

# Uploads. Staff imports are stored encrypted under TAKEDOWN_JOB_FILES_DIR and read by a worker
# (a LAION Parquet shard is large), never in the web process; the portal takes one signed PDF.
# Both caps are enforced by the forms with a clear error; the portal also
# refuses a larger request from its Content-Length before reading the body.
TAKEDOWN_IMPORT_MAX_BYTES = envint("TAKEDOWN_IMPORT_MAX_BYTES", 200 * 1024 * 1024)
# Bytes the text columns of one Parquet file may decode to. A file of a few hundred bytes can
# hold one long string repeated millions of times; readers.py counts before decoding and
# refuses the file past this (a 1M-row LAION shard decodes to about 150 MB).
TAKEDOWN_IMPORT_MAX_DECODED_BYTES = envint("TAKEDOWN_IMPORT_MAX_DECODED_BYTES", 4 * 1024**3)
TAKEDOWN_JOB_FILES_DIR = Path(envstr("TAKEDOWN_JOB_FILES_DIR") or VAR_DIR / "jobs")
# A background job's message or a worker's claim on it lasts this long; past it the dispatcher
# hands the job out again (a lost message, a dead worker).
TAKEDOWN_JOB_LEASE_SECONDS = envint("TAKEDOWN_JOB_LEASE_SECONDS", 30 * 60)
# A case with at least this many links shows its counts as counted in the background, at most
# TAKEDOWN_TALLY_MAX_AGE seconds old before a view asks for a recount (takedown.tallies).
TAKEDOWN_TALLY_THRESHOLD = envint("TAKEDOWN_TALLY_THRESHOLD", 20_000)
TAKEDOWN_TALLY_MAX_AGE = envint("TAKEDOWN_TALLY_MAX_AGE", 60)
# Reference pictures are hashed in memory and never stored: larger ones are refused.
TAKEDOWN_REFERENCE_IMAGE_MAX_BYTES = envint("TAKEDOWN_REFERENCE_IMAGE_MAX_BYTES", 20 * 1024 * 1024)
TAKEDOWN_PORTAL_UPLOAD_MAX_BYTES = envint("TAKEDOWN_PORTAL_UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
# Form fields other than files, held in memory: a pasted URL list of some 50,000 lines; longer
# lists go in as a file. Files above FILE_UPLOAD_MAX_MEMORY_SIZE are spooled to a temporary
# file (Django's default); the portal keeps its upload in memory whatever the size (it is
# personal data, and its size is capped before the body is read).
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2621440
# No form takes more than one file.
DATA_UPLOAD_MAX_NUMBER_FILES = 10

# Keys for encrypting personal data at rest (comma-separated Fernet keys, newest first).
# Rotation: put a new key first, keep the old ones until `manage.py rotate_keys` has run.
FIELD_ENCRYPTION_KEYS = envlist("TAKEDOWN_FIELD_KEYS")
# Outside production takedown.crypto generates a key under var/; in production that key would
# sit beside the data it protects (and a lost var/ would make the data unreadable).
if PRODUCTION and not FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("TAKEDOWN_FIELD_KEYS must be set in production")

# --- the outside world: every endpoint is configuration -------------------------------------

# Tests and the sandbox only: lets lookups and fetches connect to loopback and private addresses.
TAKEDOWN_ALLOW_PRIVATE_NETWORK = envbool("TAKEDOWN_ALLOW_PRIVATE_NETWORK", False)
TAKEDOWN_WHOIS_SERVER = envstr("TAKEDOWN_WHOIS_SERVER")
TAKEDOWN_WHOIS_SERVERS = envjson("TAKEDOWN_WHOIS_SERVERS", {})
# Where RDAP servers are looked up (IANA's files unless set; README: TAKEDOWN_RDAP_BOOTSTRAP).
TAKEDOWN_RDAP_BOOTSTRAP = envstr("TAKEDOWN_RDAP_BOOTSTRAP") or "https://data.iana.org/rdap/"
TAKEDOWN_DNS_NAMESERVERS = envlist("TAKEDOWN_DNS_NAMESERVERS")
TAKEDOWN_USER_AGENT = envstr(
    "TAKEDOWN_USER_AGENT", "Takedown/0.1 (image removal case manager; link checker)"
)
TAKEDOWN_ORGANISATION = envstr("TAKEDOWN_ORGANISATION", "Takedown demo organisation")
TAKEDOWN_CASE_PREFIX = envstr("TAKEDOWN_CASE_PREFIX", "TD")
# Where intimate images of a minor are reported instead of an ordinary notice (INHOPE member
# hotlines; NCMEC for US platforms), by the host's country: a JSON object of ISO country ->
# [{"name", "url"}]; "*" is used for countries without an entry (docs/law/minors.md).
TAKEDOWN_HOTLINES = envjson(
    "TAKEDOWN_HOTLINES",
    {
        "DE": [
            {"name": "jugendschutz.net", "url": "https://www.jugendschutz.net/verstoss-melden"},
            {
                "name": "Internet-Beschwerdestelle (eco and FSM)",
                "url": "https://www.internet-beschwerdestelle.de",
            },
        ],
        "GB": [{"name": "Internet Watch Foundation (IWF)", "url": "https://report.iwf.org.uk"}],
        "US": [
            {"name": "NCMEC CyberTipline", "url": "https://report.cybertip.org"},
            {"name": "Take It Down (NCMEC)", "url": "https://takeitdown.ncmec.org"},
        ],
        "NL": [{"name": "Offlimits (formerly EOKM)", "url": "https://www.offlimits.nl"}],
        "FR": [{"name": "Point de Contact", "url": "https://www.pointdecontact.net"}],
        "*": [{"name": "INHOPE member hotline", "url": "https://www.inhope.org"}],
    },
)

# --- the affected person's portal (takedown/web/portal/) -------------------------------------
# Where people reach this installation: portal links are built on it.
TAKEDOWN_PUBLIC_URL = envstr("TAKEDOWN_PUBLIC_URL", "http://127.0.0.1:8000")
# How long a portal link works unless the caseworker chooses otherwise.
TAKEDOWN_PORTAL_LINK_DAYS = envint("TAKEDOWN_PORTAL_LINK_DAYS", 30)
# Support services shown in the portal when the case's team lists none: a JSON list of
# {"name", "url", "phone", "description", "language"} ("language" shows an entry only then).
TAKEDOWN_SUPPORT_LINKS = envjson("TAKEDOWN_SUPPORT_LINKS", [])
# Where the portal's "Leave quickly" button (and Esc pressed three times) sends the person: a
# page nobody looking at their phone would wonder about. A weather or news site works too.
TAKEDOWN_PORTAL_LEAVE_URL = envstr("TAKEDOWN_PORTAL_LEAVE_URL", "https://duckduckgo.com/")

# --- mail ----------------------------------------------------------------------------------

EMAIL_URL = envstr("EMAIL_URL")
# Without a mail server notices are "sent" into .eml files under var/outbox/: fine for the quick
# start, silent loss in production (the notice is recorded as sent, nobody receives it).
if PRODUCTION and not EMAIL_URL:
    raise ImproperlyConfigured(
        "EMAIL_URL must be set in production (smtp://user:pass@host:587?tls=1): without it "
        "notices are written to files under var/outbox/ and never reach their recipients"
    )
DEFAULT_FROM_EMAIL = envstr("TAKEDOWN_FROM_EMAIL", "takedown@localhost")

MAILERS = {"default": mailer_from_url(EMAIL_URL) if EMAIL_URL else file_mailer(VAR_DIR / "outbox")}

# --- Celery --------------------------------------------------------------------------------
# The database is the source of truth; a broker message is only a hint. The dispatcher tasks
# in the beat schedule re-enqueue every piece of due work from database state.

CELERY_BROKER_URL = envstr("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = celery_transport_options(CELERY_BROKER_URL, VAR_DIR / "celery")
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 600
CELERY_TASK_SOFT_TIME_LIMIT = 540
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celery" / "beat-schedule")
CELERY_BEAT_SCHEDULE = {
    "dispatch-due-work": {"task": "takedown.tasks.dispatch_due_work", "schedule": 60.0},
    # Daily; idempotent (claims), so a missed or repeated run only shifts reminders by a day.
    "escalate-overdue": {"task": "takedown.tasks.escalate_overdue", "schedule": 24 * 3600.0},
    # Daily; each person's digest is claimed, so a repeated run sends nothing twice.
    "send-digests": {"task": "takedown.tasks.send_digests", "schedule": 24 * 3600.0},
    # Daily; idempotent. Erases the person's data from cases past their retention period.
    "erase-expired": {"task": "takedown.tasks.erase_expired", "schedule": 24 * 3600.0},
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# One queue per concern, so an operator can run mail workers on one machine and check workers
# on several others (README, "Running on several machines"). runall's worker and the tests'
# workers consume all of them (-Q with every name).
TAKEDOWN_QUEUES = ("default", "resolve", "send", "check", "render")
# /metrics (Prometheus): loopback, these addresses or networks, or this bearer token.
TAKEDOWN_METRICS_ALLOWED = networklist("TAKEDOWN_METRICS_ALLOWED")
TAKEDOWN_METRICS_TOKEN = envstr("TAKEDOWN_METRICS_TOKEN")
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "takedown.tasks.resolve_hosts": {"queue": "resolve"},
    "takedown.tasks.send_notice": {"queue": "send"},
    "takedown.tasks.recheck_links": {"queue": "check"},
    "takedown.tasks.render_*": {"queue": "render"},
}

# --- logging: no personal data. Log ids and counts, never names, e-mails or URLs. ------------

TAKEDOWN_LOG_FORMAT = envchoice("TAKEDOWN_LOG_FORMAT", ("plain", "json"), "plain")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_portal_tokens": {
            "()": "django.utils.log.CallbackFilter",
            "callback": redact_portal_tokens,
        }
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        # One JSON object a line, for log collectors (TAKEDOWN_LOG_FORMAT=json).
        "json": {"()": "config.log.JsonFormatter"},
        # Django's own for runserver's request lines (this configuration replaces its logger).
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": TAKEDOWN_LOG_FORMAT},
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server"},
    },
    "root": {"handlers": ["console"], "level": envstr("TAKEDOWN_LOG_LEVEL", "INFO")},
    "loggers": {
        # Both log request paths, and a portal path carries the person's token.
        "django.server": {
            "handlers": ["django.server"],
            "level": "INFO",
            "propagate": False,
            "filters": ["redact_portal_tokens"],
        },
        "django.request": {"level": "ERROR", "filters": ["redact_portal_tokens"]},
        # WeasyPrint logs progress per PDF at INFO, and its errors can quote URLs.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# --- resolve: who is responsible for a host ---------------------------------------------------
# RDAP/WHOIS answers are cached per registered domain and IP network for this many days.
TAKEDOWN_LOOKUP_CACHE_DAYS = envint("TAKEDOWN_LOOKUP_CACHE_DAYS", 7)
# Just before a notice is first sent, its hosts resolved longer ago than this are resolved
# again, and links whose party moved are re-routed (notices/reroute.py).
TAKEDOWN_RESOLVE_MAX_AGE_HOURS = envfloat("TAKEDOWN_RESOLVE_MAX_AGE_HOURS", 24.0)
# Seconds between two queries to the same WHOIS or RDAP server, across all workers.
TAKEDOWN_WHOIS_INTERVAL = envfloat("TAKEDOWN_WHOIS_INTERVAL", 1.0)
TAKEDOWN_RDAP_INTERVAL = envfloat("TAKEDOWN_RDAP_INTERVAL", 0.2)
# Seconds to leave a server alone after it answered "quota exceeded" without a Retry-After.
TAKEDOWN_QUOTA_BACKOFF = envint("TAKEDOWN_QUOTA_BACKOFF", 300)
# Threads per process waiting on DNS, RDAP and WHOIS answers at the same time. More is not
# faster: past a few dozen the threads spend their time handing the interpreter lock around.
TAKEDOWN_LOOKUP_THREADS = envint("TAKEDOWN_LOOKUP_THREADS", 48)
# Seconds for one RDAP lookup including redirects, and for one DNS lookup including retries.
TAKEDOWN_RDAP_TIMEOUT = envint("TAKEDOWN_RDAP_TIMEOUT", 10)
TAKEDOWN_DNS_TIMEOUT = envint("TAKEDOWN_DNS_TIMEOUT", 5)
# Downloaded RDAP bootstrap files (IANA's by default), refreshed after 24 hours.
TAKEDOWN_RDAP_CACHE_DIR = Path(envstr("TAKEDOWN_RDAP_CACHE_DIR") or VAR_DIR / "rdap-bootstrap")

# --- notices: sending (takedown/notices/send.py) ------------------------------------------------
# Envelope senders are bounces+<notice id>@ this domain, so a bounce names its notice; Message-IDs
# use it too. Empty: the domain of DEFAULT_FROM_EMAIL.
TAKEDOWN_BOUNCE_DOMAIN = envstr("TAKEDOWN_BOUNCE_DOMAIN")
# Attempts before a transient failure (4xx, connection error) becomes final; attempt n+1 waits
# TAKEDOWN_SEND_RETRY_SECONDS * 2**(n-1).
TAKEDOWN_SEND_MAX_ATTEMPTS = envint("TAKEDOWN_SEND_MAX_ATTEMPTS", 6)
TAKEDOWN_SEND_RETRY_SECONDS = envint("TAKEDOWN_SEND_RETRY_SECONDS", 60)
# A notice in SENDING whose claim is older than this belongs to a dead worker and is concluded
# from the sent log. Must exceed the send_notice task's hard time limit (270 s).
TAKEDOWN_SEND_CLAIM_TIMEOUT = envint("TAKEDOWN_SEND_CLAIM_TIMEOUT", 900)
# A notice of more links than this does not list them in its letter and PDF: it states their
# number and attaches them as one zip file (CSV and JSON); see takedown/notices/render.py.
TAKEDOWN_NOTICE_LISTED_LINKS = envint("TAKEDOWN_NOTICE_LISTED_LINKS", 2000)
# The largest e-mail a notice may be (bytes on the wire, attachments encoded). A notice that
# would be larger is refused when queued and never handed over (takedown/notices/bundle.py).
TAKEDOWN_NOTICE_MAX_MAIL_BYTES = envint("TAKEDOWN_NOTICE_MAX_MAIL_BYTES", 20_000_000)

# Cloudflare's abuse-report API (takedown/notices/cloudflare.py). Each team's account id and API
# token are stored on the team (encrypted); this is where the API lives: the sandbox's address
# in tests and the demo. Outbound requests go only to this configured endpoint.
TAKEDOWN_CLOUDFLARE_API_URL = envstr(
    "TAKEDOWN_CLOUDFLARE_API_URL", "https://api.cloudflare.com/client/v4"
).rstrip("/")
# Seconds for one report request (connect, send, answer). An answer that does not come in time
# after the report was sent makes the delivery uncertain: it is never resent automatically.
TAKEDOWN_CLOUDFLARE_TIMEOUT = envint("TAKEDOWN_CLOUDFLARE_TIMEOUT", 30)

# --- replies: answers coming back (takedown/replies) -------------------------------------------
# Reply-To of every notice is replies+<token>@ this domain (empty: the bounce domain). The
# mailbox answers arrive in, polled by the dispatcher: imaps://user:password@host:993/INBOX
# (imap:// without TLS only for loopback); empty: no polling. Stored answers are moved to
# TAKEDOWN_IMAP_PROCESSED_FOLDER.
TAKEDOWN_REPLY_DOMAIN = envstr("TAKEDOWN_REPLY_DOMAIN")
TAKEDOWN_IMAP_URL = envstr("TAKEDOWN_IMAP_URL")
TAKEDOWN_IMAP_PROCESSED_FOLDER = envstr("TAKEDOWN_IMAP_PROCESSED_FOLDER", "Processed")
TAKEDOWN_IMAP_TIMEOUT = envfloat("TAKEDOWN_IMAP_TIMEOUT", 30.0)
# PEM file of the CA that signed the IMAP server's certificate; empty: the system's CAs.
TAKEDOWN_IMAP_CA_FILE = envstr("TAKEDOWN_IMAP_CA_FILE")

# --- checks: fetching untrusted URLs (takedown/checks/fetch.py) ---------------------------------
TAKEDOWN_FETCH_PORTS = envintlist("TAKEDOWN_FETCH_PORTS", "80,443")
TAKEDOWN_FETCH_MAX_BYTES = envint("TAKEDOWN_FETCH_MAX_BYTES", 25 * 1024 * 1024)
# Bytes of decoded pictures one process holds at once (rechecks decode in a thread pool);
# checks/hashing.py makes further decodes wait. One 40-megapixel picture needs about 200 MB.
TAKEDOWN_DECODE_MEMORY_BYTES = envint("TAKEDOWN_DECODE_MEMORY_BYTES", 256 * 1024 * 1024)
TAKEDOWN_FETCH_CONNECT_TIMEOUT = envfloat("TAKEDOWN_FETCH_CONNECT_TIMEOUT", 5.0)
TAKEDOWN_FETCH_READ_TIMEOUT = envfloat("TAKEDOWN_FETCH_READ_TIMEOUT", 10.0)
TAKEDOWN_FETCH_DEADLINE = envfloat("TAKEDOWN_FETCH_DEADLINE", 30.0)
# Tests and the sandbox only: exact "ip:port" pairs a fetch may reach although not public.
TAKEDOWN_FETCH_ALLOWED_ENDPOINTS = envlist("TAKEDOWN_FETCH_ALLOWED_ENDPOINTS")

# --- checks: the recheck schedule (takedown/checks/schedule.py) ----------------------------------
# Hours between checks while a notice for the link is pending, and before a first "removed"
# answer is confirmed by a second one.
TAKEDOWN_RECHECK_PENDING_HOURS = envfloat("TAKEDOWN_RECHECK_PENDING_HOURS", 24.0)
TAKEDOWN_RECHECK_CONFIRM_HOURS = envfloat("TAKEDOWN_RECHECK_CONFIRM_HOURS", 24.0)
# After removal, "every:for" in days, stage after stage, then no more checks: weekly for a
# month, then monthly for six months.
TAKEDOWN_RECHECK_AFTER_REMOVAL = envstr("TAKEDOWN_RECHECK_AFTER_REMOVAL", "7:30,30:180")
# Unreachable links are retried after 30 min, 1 h, 2 h ... at most the link's usual interval;
# a link without a notice yet gives up after this many failures.
TAKEDOWN_RECHECK_RETRY_MINUTES = envfloat("TAKEDOWN_RECHECK_RETRY_MINUTES", 30.0)
TAKEDOWN_RECHECK_INTAKE_ATTEMPTS = envint("TAKEDOWN_RECHECK_INTAKE_ATTEMPTS", 5)
# Politeness towards one image host: concurrent requests and seconds between two starts.
TAKEDOWN_RECHECK_PER_HOST = envint("TAKEDOWN_RECHECK_PER_HOST", 2)
TAKEDOWN_RECHECK_POLITENESS_DELAY = envfloat("TAKEDOWN_RECHECK_POLITENESS_DELAY", 1.0)
TAKEDOWN_RECHECK_CONCURRENCY = envint("TAKEDOWN_RECHECK_CONCURRENCY", 64)
# Per dispatch (every minute): links leased, links of one host, links per task, and new links
# made due for their evidence fetch (once they are TAKEDOWN_RECHECK_INTAKE_SETTLE_MINUTES old).
TAKEDOWN_RECHECK_DISPATCH_LINKS = envint("TAKEDOWN_RECHECK_DISPATCH_LINKS", 5000)
TAKEDOWN_RECHECK_HOST_LINKS = envint("TAKEDOWN_RECHECK_HOST_LINKS", 30)
TAKEDOWN_RECHECK_TASK_LINKS = envint("TAKEDOWN_RECHECK_TASK_LINKS", 500)
TAKEDOWN_RECHECK_INTAKE_BATCH = envint("TAKEDOWN_RECHECK_INTAKE_BATCH", 10000)
TAKEDOWN_RECHECK_INTAKE_SETTLE_MINUTES = envfloat("TAKEDOWN_RECHECK_INTAKE_SETTLE_MINUTES", 10.0)
# The demo (`make run`): seconds after a notice arrives at the sandbox before its site takes
# some of the named images down (takedown/sandbox/world.py, Removals).
TAKEDOWN_SANDBOX_REMOVAL_SECONDS = envfloat("TAKEDOWN_SANDBOX_REMOVAL_SECONDS", 60.0)
# The port of the sandbox's image hosts that the demo case's links name (Sandbox.env() sets it).
TAKEDOWN_SANDBOX_HTTP_PORT = envint("TAKEDOWN_SANDBOX_HTTP_PORT", 8080)
