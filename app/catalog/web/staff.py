"""What the staff's catalog forms share: saving through a service, and showing its refusal."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from wtforms import Form

from app.catalog.editing import FieldError
from app.catalog.web.views import forget_catalog
from app.core.unit_of_work import after_commit

T = TypeVar("T")


def show_field_error(form: Form, error: FieldError) -> None:
    """Show a service's FieldError beside the field it names, or above the form when the form
    has no such field."""
    field = getattr(form, error.field, None)
    if field is not None:
        field.errors.append(error.message)
    else:
        form.form_errors.append(error.message)


def saved(form: Form, save: Callable[[], T]) -> T | None:
    """What `save()` returns, with the shop's cached catalog forgotten once the change is
    committed; None when the service refused (FieldError), the error shown on `form` (the view
    then shows the form again with an error status, so the request rolls back)."""
    try:
        result = save()
    except FieldError as error:
        show_field_error(form, error)
        return None
    after_commit(forget_catalog)
    return result
