"""Every model, imported in one place for Alembic autogenerate and `flask shell`."""

from app.models.audit import AuditEntry
from app.models.catalog import Book, Category
from app.models.demand import Demand, DemandStatus, Hold, HoldStatus, StockReceipt
from app.models.mail import MailStatus, OutboxMail
from app.models.member import Member, Role
from app.models.order import Cart, CartLine, Order, OrderEvent, OrderLine, OrderStatus
from app.models.tier import GradeChange, GradeReason, Tier

__all__ = [
    "AuditEntry",
    "Book",
    "Cart",
    "CartLine",
    "Category",
    "Demand",
    "DemandStatus",
    "GradeChange",
    "GradeReason",
    "Hold",
    "HoldStatus",
    "MailStatus",
    "Member",
    "Order",
    "OrderEvent",
    "OrderLine",
    "OrderStatus",
    "OutboxMail",
    "Role",
    "StockReceipt",
    "Tier",
]
