"""Configuration classes. Secrets and addresses come from the environment, never from code.

`config_from_env()` picks the class by `BOOKSTATION_ENV` (development | production | testing);
nothing here is read at import time by the app itself, only when `create_app()` runs.
"""

from __future__ import annotations

import os
import secrets
import stat
import time
import warnings
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{INSTANCE_DIR / 'bookstation.db'}"
    # Heroku-style URLs say postgres://; SQLAlchemy wants an explicit driver.
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgres://")
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def instance_secret(path: Path) -> str:
    """The secret kept in `path`, created on first use: 32 random bytes, file mode 0600.

    Created atomically: written whole to a private temporary file, then hard-linked into place,
    which fails if another process got there first; then that process's secret is read. So two
    servers started at once sign with the same key, and nobody ever reads a half-written file.
    Where the file system has no hard links (FAT, some network and container mounts) the file
    is created in place with O_EXCL instead (the same "first one wins"), and a reader that finds
    it still being written waits a moment for the rest.

    A kept file that others may read (mode looser than 0600, say after a copy) is made private
    again, with a warning.
    """
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(8)}")
    try:
        _write_new(temporary, secret)
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process created it first: use theirs
        except OSError:
            _create_in_place(path, secret)
    finally:
        temporary.unlink(missing_ok=True)
    return _read_secret(path)


def _write_new(path: Path, secret: str) -> None:
    """Create `path` (mode 0600, FileExistsError if it exists) holding `secret`, on disk."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _create_in_place(path: Path, secret: str) -> None:
    try:
        _write_new(path, secret)
    except FileExistsError:
        pass  # another process created it first: use theirs


# How long a reader waits for a secret file another process has just created to be written.
_SECRET_WRITE_WAIT = 2.0


def _read_secret(path: Path) -> str:
    _make_private(path)
    deadline = time.monotonic() + _SECRET_WRITE_WAIT
    while True:
        secret = path.read_text().strip()
        if len(secret) >= 32:
            return secret
        # Maybe being written this instant (created in place, without a hard link): a new
        # file gets a moment; an old empty or short one is refused.
        if time.monotonic() > deadline or time.time() - path.stat().st_mtime > _SECRET_WRITE_WAIT:
            raise RuntimeError(f"{path} is empty or too short: delete it to have a new one made")
        time.sleep(0.02)


def _make_private(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        try:
            path.chmod(0o600)
        except OSError as exc:
            raise RuntimeError(
                f"{path} may be read by others (mode {mode:04o}) and cannot be made private: "
                "make it mode 0600, or delete it to have a new one made") from exc
        warnings.warn(f"{path} could be read by others (mode {mode:04o}): it is now mode 0600",
                      UserWarning, stacklevel=3)


class Config:
    """Settings shared by every environment; subclasses override what differs."""

    # No default: development makes its own (DevelopmentConfig.prepare), production refuses to
    # start without one, tests set theirs.
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = _database_url()
    # A pooled connection idle for longer than this is tested (SELECT 1) before it is used
    # again, and replaced if the database dropped it
    # (app/serving/db_session.ping_idle_connections);
    # a connection handed from request to request under load is not (SQLAlchemy's
    # pool_pre_ping would test every one, a round trip per request).
    DB_PING_IDLE_SECONDS = float(os.environ.get("DB_PING_IDLE_SECONDS", "10"))
    # Connections per process kept out of the pool for the front door's reader lookup
    # (app/serving/db_session.KeptReads); 0: it takes a pooled one each time.
    KEPT_READ_CONNECTIONS = int(os.environ.get("KEPT_READ_CONNECTIONS", "4"))
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    REDIS_URL = os.environ.get("REDIS_URL")

    # Shop settings
    SHOP_NAME = "Bookstation"
    SHOP_CURRENCY = os.environ.get("SHOP_CURRENCY", "CNY")
    SHIPPING_FEE = Decimal(os.environ.get("SHIPPING_FEE", "10.00"))
    FREE_SHIPPING_FROM = Decimal(os.environ.get("FREE_SHIPPING_FROM", "99.00"))
    MAX_LINE_QUANTITY = 99
    BOOKS_PER_PAGE = 24
    LOW_STOCK_THRESHOLD = int(os.environ.get("LOW_STOCK_THRESHOLD", "3"))
    # Admin dashboard: how long its aggregates are reused (0 = computed every time).
    DASHBOARD_CACHE_SECONDS = int(os.environ.get("DASHBOARD_CACHE_SECONDS", "60"))
    # Where links in emails point (the request host is unknown to a mail worker).
    SHOP_BASE_URL = os.environ.get("SHOP_BASE_URL", "http://127.0.0.1:5000")

    # Member grades: the qualifying-spend window in months (None = all time) and what
    # happens when spend falls below a grade: "demote" at once, or "keep" it until its window
    # ends (for good when the window is all time). See app.grades.bulk_regrade.
    TIER_WINDOW_MONTHS: int | None = (
        int(os.environ["TIER_WINDOW_MONTHS"]) if os.environ.get("TIER_WINDOW_MONTHS") else None
    )
    TIER_DEMOTION = os.environ.get("TIER_DEMOTION", "demote")
    # A refund lowers the qualifying spend; "demote" lowers the grade at once, "keep" holds it
    # as TIER_DEMOTION "keep" does (app.grades.settings.refund_policy).
    REFUND_GRADE_POLICY = os.environ.get("REFUND_GRADE_POLICY", "demote")

    # Returns (app.returns): days after delivery a member may ask to return copies.
    RETURN_WINDOW_DAYS = int(os.environ.get("RETURN_WINDOW_DAYS", "30"))

    # Demand lists and stock-arrival mail (app.demand.lists / stock / holds).
    DEMAND_HOLD_HOURS = int(os.environ.get("DEMAND_HOLD_HOURS", "48"))  # 0: no holds
    DEMAND_PRIORITY_BY_GRADE = _bool("DEMAND_PRIORITY_BY_GRADE", False)
    DEMAND_TELL_UNSERVED = _bool("DEMAND_TELL_UNSERVED", False)
    DEMAND_MIN_NOTIFY_QUANTITY = int(os.environ.get("DEMAND_MIN_NOTIFY_QUANTITY", "1"))
    DEMAND_CONFIRM_HOURS = int(os.environ.get("DEMAND_CONFIRM_HOURS", "48"))
    DEMAND_VISITOR_RATE_LIMIT = os.environ.get("DEMAND_VISITOR_RATE_LIMIT",
                                               "5 per minute;20 per day")
    DEMAND_ADDRESS_DAILY_LIMIT = int(os.environ.get("DEMAND_ADDRESS_DAILY_LIMIT", "5"))
    UNSUBSCRIBE_MAX_AGE_DAYS = int(os.environ.get("UNSUBSCRIBE_MAX_AGE_DAYS", "365"))

    # Service cases (app.support): the hours a case of each priority should be answered and
    # settled in (its due time), how long a visitor's contact link confirms the address, how
    # often one visitor may post the contact form, and how long the links in case mail work.
    CASE_TARGET_HOURS = {"low": 72, "normal": 24, "high": 8, "urgent": 2}
    CASE_CONFIRM_HOURS = int(os.environ.get("CASE_CONFIRM_HOURS", "48"))
    CONTACT_RATE_LIMIT = os.environ.get("CONTACT_RATE_LIMIT", "5 per minute;20 per day")
    CASE_LINK_MAX_AGE_DAYS = int(os.environ.get("CASE_LINK_MAX_AGE_DAYS", "90"))
    # A mail staff write from a customer's record carries a link to answer it
    # (app.crm.mail_replies): how long it works, and how often one client may send answers.
    RECORD_MAIL_REPLY_MAX_AGE_DAYS = int(os.environ.get("RECORD_MAIL_REPLY_MAX_AGE_DAYS", "60"))
    RECORD_MAIL_REPLY_RATE_LIMIT = os.environ.get("RECORD_MAIL_REPLY_RATE_LIMIT",
                                                  "5 per minute;30 per day")

    # Accounts
    PASSWORD_MIN_LENGTH = 10
    # Werkzeug's hash method for every password the shop stores (members.hash_password).
    # Not read from the environment: scrypt (n=2**15, r=8, p=1) is the shop's choice.
    PASSWORD_HASH_METHOD = "scrypt"
    PASSWORD_RESET_MAX_AGE = 60 * 60  # seconds
    # How long the link mailed at registration confirms the address (seconds).
    EMAIL_CONFIRM_MAX_AGE = int(os.environ.get("EMAIL_CONFIRM_MAX_AGE", str(3 * 24 * 3600)))
    REMEMBER_COOKIE_DURATION = 60 * 60 * 24 * 30  # also how long an unused session lasts
    # A signed-in session's last-seen time is written at most this often (seconds).
    SESSION_TOUCH_SECONDS = int(os.environ.get("SESSION_TOUCH_SECONDS", "300"))
    # For how long the front door may answer a member's browser with the session it looked up,
    # without looking again (app.serving.front_door; 0: look up every time). Ending a session,
    # deactivating an account, changing a role or a saved language, and the browser's own
    # changes take effect at once; another browser's change to the member's cart shows in the
    # header within this time.
    READER_KEEP_SECONDS = float(os.environ.get("READER_KEEP_SECONDS", "10"))
    # Days a sign-in stays in the member's history (the customer's timeline); older ones are
    # forgotten by `flask members prune-sign-ins`.
    SIGN_IN_HISTORY_DAYS = int(os.environ.get("SIGN_IN_HISTORY_DAYS", "365"))
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "5 per minute;30 per hour")
    # The JSON API (app.api): calls per token (per client address without one).
    API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "600 per minute")
    # Joining and forgotten-password mails one address may get in an hour (member or not):
    # beyond it the same answer page, but no mail (the shop is no relay for spam).
    ACCOUNT_MAILS_PER_ADDRESS_PER_HOUR = int(
        os.environ.get("ACCOUNT_MAILS_PER_ADDRESS_PER_HOUR", "3"))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None  # tie CSRF tokens to the session, not the clock

    # Mail: SMTP via Flask-Mail; every message goes through the outbox first.
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "127.0.0.1")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "8025"))
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = os.environ.get(
        "MAIL_DEFAULT_SENDER", "Bookstation <shop@bookstation.test>"
    )
    MAIL_TIMEOUT = 10
    # A message the server refuses outright (a 5xx answer, a header that cannot be sent) is
    # marked failed after this many attempts; any other failure (server down, 4xx) is retried
    # with capped backoff until MAIL_GIVE_UP_AFTER has passed since it was queued.
    MAIL_MAX_ATTEMPTS = int(os.environ.get("MAIL_MAX_ATTEMPTS", "8"))
    MAIL_GIVE_UP_AFTER = timedelta(hours=float(os.environ.get("MAIL_GIVE_UP_AFTER_HOURS", "72")))
    # "Sent" is recorded after every message SMTP accepted (1): a sender killed mid-batch sends
    # at most the one message in flight again. Larger groups save a commit per message and
    # widen that window to the group (or MAIL_RECORD_SECONDS' worth of messages).
    MAIL_RECORD_EVERY = int(os.environ.get("MAIL_RECORD_EVERY", "1"))
    MAIL_RECORD_SECONDS = 0.25
    # An idle sender wakes as soon as mail is queued (PostgreSQL LISTEN/NOTIFY; an in-process
    # event in `flask dev`) and otherwise looks for due retries this often. None: 5 s on
    # PostgreSQL, 1 s on SQLite (another process's commit there wakes nothing).
    MAIL_POLL_SECONDS = float(os.environ["MAIL_POLL_SECONDS"]) if os.environ.get(
        "MAIL_POLL_SECONDS") else None
    MAIL_BATCH_SIZE = int(os.environ.get("MAIL_BATCH_SIZE", "100"))
    # A claimed message whose worker died is taken again after this many seconds.
    MAIL_CLAIM_SECONDS = int(os.environ.get("MAIL_CLAIM_SECONDS", "120"))
    # Folder where the embedded mail catcher (`flask mail-catcher`) keeps what it receives.
    MAIL_CATCHER_DIR = os.environ.get("MAIL_CATCHER_DIR", str(INSTANCE_DIR / "mailbox"))
    # Webhooks (issue 23, docs/WEBHOOKS.md): a POST's timeout in seconds, deliveries claimed
    # per sender pass, a claim's lease (a dead sender's deliveries go again after it), and how
    # long an undelivered event is retried before it is marked failed.
    WEBHOOK_TIMEOUT = float(os.environ.get("WEBHOOK_TIMEOUT", "10"))
    WEBHOOK_BATCH_SIZE = int(os.environ.get("WEBHOOK_BATCH_SIZE", "50"))
    WEBHOOK_CLAIM_SECONDS = int(os.environ.get("WEBHOOK_CLAIM_SECONDS", "120"))
    WEBHOOK_GIVE_UP_AFTER = timedelta(
        hours=float(os.environ.get("WEBHOOK_GIVE_UP_AFTER_HOURS", "24")))
    # The mail sender's pass hook delivers at most this many per pass, within this many
    # seconds (`flask webhooks send` is the dedicated sender, with the settings above).
    WEBHOOK_PASS_SECONDS = float(os.environ.get("WEBHOOK_PASS_SECONDS", "2"))
    WEBHOOK_PASS_BATCH_SIZE = int(os.environ.get("WEBHOOK_PASS_BATCH_SIZE", "5"))

    # Languages: English and Simplified Chinese; catalogs in translations/ (make messages)
    LANGUAGES = ["en", "zh_Hans"]
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "translations")
    LOCALE_COOKIE = "lang"  # set by the header's language switch (app.serving.language)
    # Times in pages and mails are shown in the shop's time zone, named ("China Standard
    # Time"); the database keeps UTC. An IANA name; app.core.i18n.select_timezone reads it.
    SHOP_TIMEZONE = os.environ.get("SHOP_TIMEZONE", "Asia/Shanghai")
    BABEL_DEFAULT_TIMEZONE = SHOP_TIMEZONE

    RATELIMIT_STORAGE_URI = os.environ.get("REDIS_URL") or "memory://"
    RATELIMIT_HEADERS_ENABLED = True

    # Serving and the scale path (app.serving.observability, app.serving.caching,
    # gunicorn.conf.py).
    # Flask-Caching: Redis shared by every app server when REDIS_URL is set, else an LMDB file
    # shared by the worker processes of this machine (app/serving/machine_cache.py) in
    # CACHE_DIR (default instance/cache/), of at most CACHE_MAP_MB.
    CACHE_TYPE = ("RedisCache" if os.environ.get("REDIS_URL")
                  else "app.serving.machine_cache.MachineCache")
    CACHE_DIR = os.environ.get("CACHE_DIR") or None
    CACHE_MAP_MB = int(os.environ.get("CACHE_MAP_MB", "512"))
    CACHE_REDIS_URL = os.environ.get("REDIS_URL")
    CACHE_KEY_PREFIX = os.environ.get("CACHE_KEY_PREFIX", "bookstation:")
    CACHE_DEFAULT_TIMEOUT = 60
    CACHE_THRESHOLD = 2000  # SimpleCache (the tests' cache): entries kept per process
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "bookstation")
    # Seconds the home page's shelves (same for everyone) and the header categories are cached;
    # 0 turns that cache off.
    HOME_CACHE_SECONDS = int(os.environ.get("HOME_CACHE_SECONDS", "60"))
    NAV_CATEGORIES_TTL = int(os.environ.get("NAV_CATEGORIES_TTL", "60"))
    # Catalog pages shared by visitors (and members, where nothing on them is personal) are
    # rendered once per URL and language for this long (app/serving/page_cache.py; 0 = off).
    PAGE_CACHE_SECONDS = int(os.environ.get("PAGE_CACHE_SECONDS", "30"))
    # A visitor's request for such a page is answered before Flask (app/serving/front_door.py).
    FRONT_DOOR = os.environ.get("FRONT_DOOR", "1") == "1"
    # Set by gunicorn.conf.py: a web server needs no `flask db` commands (no Alembic import).
    SERVE_ONLY = os.environ.get("BOOKSTATION_SERVE_ONLY") == "1"
    # Static files: a request for a fingerprinted URL (static_url(), ?v=<hash>) is cached this
    # long by browsers and proxies; other static requests revalidate with ETag/Last-Modified.
    STATIC_FINGERPRINT_MAX_AGE = 365 * 24 * 3600
    # Flask-Compress: brotli or gzip for text responses the client accepts.
    COMPRESS_ALGORITHM = ["br", "gzip"]
    COMPRESS_MIMETYPES = ["text/html", "text/css", "text/xml", "text/plain", "text/javascript",
                          "application/javascript", "application/json", "image/svg+xml"]
    COMPRESS_MIN_SIZE = 500
    COMPRESS_STREAMS = False  # nothing streams; static files are read whole (app.serving.assets)
    # Low levels, as for any page made per request (nginx's own default is gzip level 1): on a
    # 20 KB catalog page brotli 2 takes 60 µs and writes 7 % more than brotli 4 (118 µs), gzip
    # 1 48 µs and 10 % more than gzip 6 (123 µs); at 4 and 6, compressing was half again the
    # cost of a page-cache hit for every browser (bench/README.md, issue 24).
    COMPRESS_BR_LEVEL = 2
    COMPRESS_LEVEL = 1
    # PostgreSQL planner: the cost of a random page read (SSD-like; "" keeps the server's).
    PG_RANDOM_PAGE_COST = os.environ.get("PG_RANDOM_PAGE_COST", "1.1")
    # A transaction sends BEGIN only before its first write, and a request that wrote nothing
    # ends with COMMIT, keeping psycopg's prepared statements
    # (app.serving.db_session.watch_transactions).
    PG_LAZY_BEGIN = _bool("PG_LAZY_BEGIN", True)
    PG_COMMIT_READS = _bool("PG_COMMIT_READS", True)
    # SQLite (WAL): a transaction's first write waits for the write lock in steps of at most
    # 0.1 ms instead of SQLite's own 1-100 ms (app.serving.db_session._take_write_lock).
    SQLITE_POLL_WRITE_LOCK = _bool("SQLITE_POLL_WRITE_LOCK", True)
    # Behind N reverse proxies, trust N X-Forwarded-* hops (client address, scheme, host).
    TRUST_PROXY_HOPS = int(os.environ.get("TRUST_PROXY_HOPS", "0"))
    # "text" (Flask's default) or "json" (one JSON object a line on stdout; production default).
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")

    # Analytics, segments and lifetime value (app.analytics.snapshots, which
    # holds the defaults of the other ANALYTICS_* keys). CLV: the next N months, discounted at
    # this annual rate.
    ANALYTICS_CLV_HORIZON_MONTHS = int(os.environ.get("ANALYTICS_CLV_HORIZON_MONTHS", "12"))
    ANALYTICS_DISCOUNT_RATE = float(os.environ.get("ANALYTICS_DISCOUNT_RATE", "0.10"))

    # Satisfaction, associations, forecast and campaigns (app.feedback, app.analytics,
    # app.campaigns).
    REVIEW_INVITE_MAX_AGE_DAYS = int(os.environ.get("REVIEW_INVITE_MAX_AGE_DAYS", "60"))
    BOOK_FEEDBACK_CACHE_SECONDS = int(os.environ.get("BOOK_FEEDBACK_CACHE_SECONDS", "300"))
    ALSO_BOUGHT_SHOWN = 6
    ASSOC_MIN_PAIR_COUNT = int(os.environ.get("ASSOC_MIN_PAIR_COUNT", "2"))
    ASSOC_TOP_K = int(os.environ.get("ASSOC_TOP_K", "6"))
    ASSOC_BASKET_CAP = int(os.environ.get("ASSOC_BASKET_CAP", "60"))
    COHORT_MONTHS = 12
    SATISFACTION_LOW_NPS = 6  # 0..6 of 10 (NPS detractors) with a comment need attention
    SATISFACTION_LOW_RATING = 2  # 1..2 stars with a review need attention
    FORECAST_WINDOW_DAYS = int(os.environ.get("FORECAST_WINDOW_DAYS", "90"))
    FORECAST_LEAD_DAYS = int(os.environ.get("FORECAST_LEAD_DAYS", "14"))
    FORECAST_COVER_DAYS = int(os.environ.get("FORECAST_COVER_DAYS", "30"))
    FORECAST_SERVICE_Z = float(os.environ.get("FORECAST_SERVICE_Z", "1.65"))
    FORECAST_ROWS = 200
    CAMPAIGN_HOLDOUT_RATE = os.environ.get("CAMPAIGN_HOLDOUT_RATE", "0.10")
    CAMPAIGN_RESULT_DAYS = int(os.environ.get("CAMPAIGN_RESULT_DAYS", "14"))
    CAMPAIGN_RECOMMENDATIONS = 4


class DevelopmentConfig(Config):
    DEBUG = False  # the dev server runs without the reloader so the mail threads start once

    @classmethod
    def prepare(cls) -> None:
        """Without SECRET_KEY in the environment, sign with a random secret made on first
        start and kept in instance/secret_key (mode 0600), never with a public default."""
        cls.SECRET_KEY = os.environ.get("SECRET_KEY") or instance_secret(
            INSTANCE_DIR / "secret_key")


class ProductionConfig(Config):
    DEBUG = False
    TESTING = False
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    PREFERRED_URL_SCHEME = "https"
    SQLALCHEMY_ENGINE_OPTIONS = {
        "pool_size": int(os.environ.get("DB_POOL_SIZE", "5")),
        "max_overflow": int(os.environ.get("DB_MAX_OVERFLOW", "5")),
        "pool_recycle": 1800,
    }

    @classmethod
    def check(cls) -> None:
        if not os.environ.get("SECRET_KEY"):
            raise RuntimeError("SECRET_KEY must be set in the environment in production")


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"
    CACHE_TYPE = "SimpleCache"  # per app, so tests never share a cache
    DASHBOARD_CACHE_SECONDS = 0  # tests read the figures they just wrote
    LOG_FORMAT = "text"
    MAIL_SUPPRESS_SEND = False  # tests that send mail point MAIL_PORT at a real aiosmtpd
    MAIL_PORT = 1  # nothing listens there: a test that forgets its SMTP fixture fails loudly
    SHOP_BASE_URL = "http://localhost"
    SERVER_NAME = None
    PASSWORD_MIN_LENGTH = 10
    # One round of PBKDF2: the same salted hash and the same check on every login, without
    # scrypt's ~0.1 s per hash, which was a third of the time of the login-heavy test files.
    # tests/membership/test_members_service.py proves the shop's own method is scrypt.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1"


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "testing": TestConfig,
}


def config_from_env() -> type[Config]:
    name = os.environ.get("BOOKSTATION_ENV", "development")
    try:
        cls = CONFIGS[name]
    except KeyError:
        raise RuntimeError(
            f"BOOKSTATION_ENV must be one of {sorted(CONFIGS)}, not {name!r}"
        ) from None
    if cls is ProductionConfig:
        ProductionConfig.check()
    elif cls is DevelopmentConfig:
        DevelopmentConfig.prepare()
    return cls
