"""The header's language switch: plain links that remember the reader's choice (see views)."""

from flask import Blueprint, Flask

bp = Blueprint("i18n", __name__)


def init_app(app: Flask) -> None:
    """The switch's routes, and a member who logs in or joins keeps the language being read."""
    from flask_login import user_logged_in

    from app.serving.language.views import adopt_page_language, language_switch

    app.register_blueprint(bp)
    app.add_template_global(language_switch)
    user_logged_in.connect(adopt_page_language)


from app.serving.language import views  # noqa: E402,F401
