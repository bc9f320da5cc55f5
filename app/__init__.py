"""Bookstation: an online bookshop with a built-in CRM."""

from __future__ import annotations

from flask import Flask

from config import Config, config_from_env


def create_app(config: type[Config] | Config | None = None) -> Flask:
    """Build the app; tests pass their own config, everything else reads the environment."""
    app = Flask(__name__, template_folder="../templates", static_folder="../static")
    app.config.from_object(config or config_from_env())

    from app import assets, cli, errors, observability, page_cache, web
    from app.extensions import (
        babel,
        cache,
        compress,
        csrf,
        db,
        limiter,
        login_manager,
        mail,
        migrate,
    )

    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()))
    login_manager.init_app(app)
    mail.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=web.select_locale)
    cache.init_app(app)
    compress.init_app(app)
    observability.register(app)
    assets.register(app)
    page_cache.register(app)

    web.register_login(app)
    web.register_template_helpers(app)
    _register_blueprints(app)
    errors.register_error_handlers(app)
    cli.register(app)
    return app


def _migrations_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"


def _register_blueprints(app: Flask) -> None:
    from app.blueprints.account import bp as account_bp
    from app.blueprints.admin import bp as admin_bp
    from app.blueprints.cart import bp as cart_bp
    from app.blueprints.demand import bp as demand_bp
    from app.blueprints.shop import bp as shop_bp

    app.register_blueprint(shop_bp)
    app.register_blueprint(account_bp, url_prefix="/account")
    app.register_blueprint(cart_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(demand_bp, url_prefix="/demand")
