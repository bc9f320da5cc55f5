"""Admin webhooks: the endpoints (register, edit, disable or enable, a new secret), each one's
delivery log with filters, replaying a delivery and sending a test event.

Admins only: every view is `admin_required` (staff get 403 and see no sidebar entry). The
services audit every change. A secret is shown once, in the answer to the POST that made it
(never stored in the session nor shown again; the answer is not cached).
"""

from __future__ import annotations

import json

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import bp, register_nav
from app.admin.common import ID, PER_PAGE, admin_required, page_number
from app.admin.forms import ActionForm
from app.core.errors import NotFound
from app.core.extensions import db
from app.core.i18n import lazy_gettext as _l
from app.core.unit_of_work import back_on_error
from app.webhooks import deliveries as delivery_service
from app.webhooks import endpoints as endpoint_service
from app.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from app.webhooks.web.forms import (
    DELIVERY_STATUS_LABELS,
    EVENT_LABELS,
    DeliveryFilterForm,
    EndpointForm,
)

SECRET_TEMPLATE = "admin/webhooks/secret.html"


def _labels() -> dict:
    return {"event_label": lambda event: str(EVENT_LABELS.get(event, event)),
            "status_label": lambda status: str(DELIVERY_STATUS_LABELS.get(status, status))}


def _actor():
    return current_user._get_current_object()


def _show_secret(new: endpoint_service.NewSecret, title: str):
    response = make_response(render_template(SECRET_TEMPLATE, endpoint=new.endpoint,
                                             secret=new.secret, title=title))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/webhooks/")
@admin_required
def webhooks():
    return render_template("admin/webhooks/list.html",
                           endpoints=endpoint_service.list_endpoints(),
                           title=_l("Webhooks"), **_labels())


@bp.route("/webhooks/new", methods=["GET", "POST"])
@admin_required
def webhook_new():
    form = EndpointForm()
    if form.validate_on_submit():
        try:
            new = endpoint_service.create_endpoint(form.url.data, form.events.data, _actor(),
                                                   description=form.description.data)
        except endpoint_service.EndpointFieldError as exc:
            getattr(form, exc.field).errors.append(exc.message)
        else:
            flash(_("The webhook endpoint is registered."), "success")
            return _show_secret(new, _("Webhook endpoint registered"))
    return render_template("admin/webhooks/form.html", form=form, endpoint=None,
                           title=_l("New webhook endpoint")), 400 if form.errors else 200


@bp.route(f"/webhooks/<{ID}:endpoint_id>/edit", methods=["GET", "POST"])
@admin_required
def webhook_edit(endpoint_id: int):
    endpoint = db.get_or_404(WebhookEndpoint, endpoint_id)
    form = EndpointForm(obj=endpoint)
    if form.validate_on_submit():
        try:
            endpoint_service.update_endpoint(endpoint.id, form.url.data, form.events.data,
                                             _actor(), description=form.description.data)
        except endpoint_service.EndpointFieldError as exc:
            getattr(form, exc.field).errors.append(exc.message)
        else:
            flash(_("The webhook endpoint is saved."), "success")
            return redirect(url_for("admin.webhook_detail", endpoint_id=endpoint.id))
    return render_template("admin/webhooks/form.html", form=form, endpoint=endpoint,
                           title=_l("Edit webhook endpoint")), 400 if form.errors else 200


def _action_form() -> None:
    if not ActionForm().validate_on_submit():
        abort(400)


@bp.route(f"/webhooks/<{ID}:endpoint_id>/disable", methods=["POST"])
@admin_required
@back_on_error("admin.webhook_detail")
def webhook_disable(endpoint_id: int):
    _action_form()
    endpoint = endpoint_service.set_active(endpoint_id, False, _actor())
    flash(_("The endpoint is disabled: no new events are queued for it, and those queued "
            "wait until it is enabled."), "success")
    return redirect(url_for("admin.webhook_detail", endpoint_id=endpoint.id))


@bp.route(f"/webhooks/<{ID}:endpoint_id>/enable", methods=["POST"])
@admin_required
@back_on_error("admin.webhook_detail")
def webhook_enable(endpoint_id: int):
    _action_form()
    endpoint = endpoint_service.set_active(endpoint_id, True, _actor())
    flash(_("The endpoint is enabled."), "success")
    return redirect(url_for("admin.webhook_detail", endpoint_id=endpoint.id))


@bp.route(f"/webhooks/<{ID}:endpoint_id>/secret", methods=["POST"])
@admin_required
@back_on_error("admin.webhook_detail")
def webhook_new_secret(endpoint_id: int):
    _action_form()
    new = endpoint_service.renew_secret(endpoint_id, _actor())
    flash(_("The endpoint has a new secret; the old one no longer signs."), "success")
    return _show_secret(new, _("New webhook secret"))


@bp.route(f"/webhooks/<{ID}:endpoint_id>/test", methods=["POST"])
@admin_required
@back_on_error("admin.webhook_detail")
def webhook_test(endpoint_id: int):
    _action_form()
    delivery_service.send_test_event(endpoint_id, _actor())
    flash(_("A test event is queued for this endpoint; its delivery appears below."),
          "success")
    return redirect(url_for("admin.webhook_detail", endpoint_id=endpoint_id))


@bp.route(f"/webhooks/<{ID}:endpoint_id>")
@admin_required
def webhook_detail(endpoint_id: int):
    endpoint = db.get_or_404(WebhookEndpoint, endpoint_id)
    form = DeliveryFilterForm(formdata=request.args)
    page = page_number()
    context = {"endpoint": endpoint, "form": form, "action_form": ActionForm(),
               "counts": delivery_service.status_counts(endpoint.id),
               "statuses": list(DeliveryStatus), "title": endpoint.url, **_labels()}
    if not form.validate():
        return render_template("admin/webhooks/detail.html", pagination=None, **context), 400
    delivery_filter = delivery_service.DeliveryFilter(status=form.status.data or None,
                                                      event_type=form.event.data or None)
    pagination = db.paginate(delivery_service.deliveries_query(endpoint.id, delivery_filter),
                             page=page, per_page=PER_PAGE, error_out=True)
    return render_template("admin/webhooks/detail.html", pagination=pagination, **context)


@bp.route(f"/webhooks/<{ID}:endpoint_id>/deliveries/<{ID}:delivery_id>")
@admin_required
def webhook_delivery(endpoint_id: int, delivery_id: int):
    try:
        delivery = delivery_service.get_delivery(endpoint_id, delivery_id)
    except NotFound:
        abort(404)
    return render_template("admin/webhooks/delivery.html", delivery=delivery,
                           endpoint=delivery.endpoint, action_form=ActionForm(),
                           payload=pretty_payload(delivery),
                           title=_("Delivery %(id)d", id=delivery.id), **_labels())


@bp.route(f"/webhooks/<{ID}:endpoint_id>/deliveries/<{ID}:delivery_id>/replay",
          methods=["POST"])
@admin_required
@back_on_error("admin.webhook_delivery")
def webhook_replay(endpoint_id: int, delivery_id: int):
    _action_form()
    delivery = delivery_service.replay(endpoint_id, delivery_id, _actor())
    flash(_("The delivery is queued to be sent again (the same event, the same id)."),
          "success")
    return redirect(url_for("admin.webhook_delivery", endpoint_id=endpoint_id,
                            delivery_id=delivery.id))


def pretty_payload(delivery: WebhookDelivery) -> str:
    """The body as sent, indented for reading."""
    try:
        return json.dumps(json.loads(delivery.payload), indent=2, sort_keys=True,
                          ensure_ascii=False)
    except ValueError:
        return delivery.payload


register_nav(__name__, "admin.webhooks", _l("Webhooks"), order=80)
