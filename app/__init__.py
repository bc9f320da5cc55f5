"""Bookstation: an online bookshop with a built-in CRM."""

from __future__ import annotations

from flask import Flask

from config import Config, config_from_env


def create_app(config: type[Config] | Config | None = None) -> Flask:
    """Build the app; tests pass their own config, everything else reads the environment."""
    from app.serving.application import ShopFlask
    from app.serving.templating import ShopEnvironment

    app = ShopFlask(__name__, template_folder="../templates", static_folder="../static")
    app.jinja_environment = ShopEnvironment  # before app.jinja_env is first made
    app.config.from_object(config or config_from_env())
    if app.config.get("JINJA_BYTECODE_CACHE", True):
        # Compiled templates kept on disk (a private temporary directory, keyed by each
        # template's checksum): a new process serves its first pages about twice as fast.
        from jinja2 import FileSystemBytecodeCache

        app.jinja_env.bytecode_cache = FileSystemBytecodeCache()

    from app import cli
    from app.core import errors, i18n, unit_of_work
    from app.core.extensions import (
        babel,
        cache,
        compress,
        csrf,
        db,
        limiter,
        login_manager,
        mail,
    )
    from app.membership.login import register_login
    from app.serving import (
        assets,
        db_session,
        front_door,
        library_internals,
        observability,
        page_cache,
        security_headers,
        signing,
    )
    from app.serving.templating import register_template_helpers

    signing.install(app)
    db.init_app(app)
    _init_migrations(app)
    login_manager.init_app(app)
    mail.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    i18n.check_timezone(app)
    babel.init_app(app, locale_selector=i18n.select_locale,
                   timezone_selector=i18n.select_timezone)
    i18n.install_template_gettext(app)
    cache.init_app(app)
    compress.init_app(app)
    observability.register(app)
    db_session.register(app)
    assets.register(app)
    page_cache.register(app)

    from app.core.security import install_url_converters

    install_url_converters(app)  # before the blueprints add their routes
    register_login(app)
    register_template_helpers(app)
    _register_blueprints(app)
    errors.register_error_handlers(app)
    cli.register(app)
    # A view's own limit is checked by its decorator; the per-request check only when needed.
    library_internals.limit_only_where_decorated(app, limiter)
    unit_of_work.init_app(app)  # last after_request hook registered: it runs first
    front_door.install(app)  # it wraps the finished app's WSGI callable
    security_headers.install(app)  # last: outside the front door, on every response
    return app


def _init_migrations(app: Flask) -> None:
    """Flask-Migrate, for the `flask db` commands. A web server started by gunicorn.conf.py
    (SERVE_ONLY) never runs them, and importing Alembic took a tenth of its start-up."""
    if app.config.get("SERVE_ONLY"):
        return
    from flask_migrate import Migrate

    from app.core.extensions import db

    Migrate(app, db, directory=str(_migrations_dir()))


def _migrations_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"


#: The feature packages, lowest first (docs/ARCHITECTURE.md); each wires itself in its init_app.
FEATURES = ("mail", "catalog", "membership", "grades", "demand", "ordering", "feedback",
            "analytics", "campaigns", "returns", "support", "crm", "webhooks", "api")


def _register_blueprints(app: Flask) -> None:
    """Each feature adds its blueprint and its admin pages; then the admin area (its guard and
    sidebar over every admin page) and the language switch."""
    from importlib import import_module

    from app.admin import bp as admin_bp
    from app.serving import language

    for name in FEATURES:
        import_module(f"app.{name}").init_app(app)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    language.init_app(app)
