"""The admin's customer pages and the dashboard (routes on the admin blueprint), and the one
public page of the CRM: where a customer answers a mail staff wrote from their record."""

from flask import Blueprint

bp = Blueprint("crm", __name__)

from app.crm.web import mail_reply  # noqa: E402,F401
