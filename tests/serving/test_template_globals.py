"""Each template's globals are the environment's (app.serving.templating.TemplateGlobals): the
same names and values as Jinja's own ChainMap, with the environment's names given as a dict's
view, which Jinja subtracts from on every `{% from … import … %}`."""

from __future__ import annotations

import pytest
from jinja2 import ChoiceLoader, DictLoader

from app.serving.templating import ShopEnvironment, TemplateGlobals


def _with_templates(app, templates: dict[str, str]) -> None:
    app.jinja_env.loader = ChoiceLoader([DictLoader(templates), app.jinja_env.loader])


def test_the_apps_templates_answer_their_global_names_with_the_environments_dict_view(app):
    env = app.jinja_env
    template = env.get_template("base.html")

    assert isinstance(env, ShopEnvironment)
    assert isinstance(template.globals, TemplateGlobals)
    assert type(template.globals.keys()) is type({}.keys())
    assert set(template.globals.keys()) == set(env.globals)
    assert set(env.globals) - template.globals.keys() == set()


def test_a_global_added_after_a_template_was_loaded_is_still_seen_there_and_in_its_imports(app):
    _with_templates(app, {
        "greet_macros.html": "{% macro greet() %}{{ greeting }}{% endmacro %}",
        "greet_page.html":
            '{% from "greet_macros.html" import greet %}{{ greeting }}|{{ greet() }}',
    })
    page = app.jinja_env.get_template("greet_page.html")
    app.jinja_env.globals["greeting"] = "hello"
    try:
        with app.test_request_context("/"):
            assert page.render() == "hello|hello"
            assert page.render() == "hello|hello"
    finally:
        del app.jinja_env.globals["greeting"]


def test_a_templates_own_globals_overlay_the_environments(app):
    _with_templates(app, {"own.html": "{{ shop_motto }} {{ 'range' if range else '' }}"})
    template = app.jinja_env.get_template("own.html", globals={"shop_motto": "Read more"})

    assert "shop_motto" in template.globals.keys()
    assert set(template.globals.keys()) == set(app.jinja_env.globals) | {"shop_motto"}
    assert template.globals["range"] is app.jinja_env.globals["range"]
    with app.test_request_context("/"):
        assert template.render() == "Read more range"


def test_a_missing_global_is_a_key_error_as_in_a_chainmap():
    globals_ = TemplateGlobals({}, {"a": 1})

    assert globals_["a"] == 1
    assert globals_.get("b") is None
    assert "b" not in globals_
    with pytest.raises(KeyError):
        globals_["b"]


def test_templates_sign_the_csrf_token_through_the_shops_kept_signing(app):
    from app.serving import library_internals

    assert app.jinja_env.globals["csrf_token"] is library_internals.csrf_token
    with app.test_request_context("/"):
        context: dict = {}
        app.update_template_context(context)  # what render_template gives a template
        assert context["csrf_token"] is library_internals.csrf_token
