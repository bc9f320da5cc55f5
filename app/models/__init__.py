"""Every model, imported in one place for Alembic autogenerate and `flask shell`."""

from app.models.analytics import (
    AnalyticsRun,
    MemberSnapshot,
    SegmentMonth,
    SegmentSummary,
    SegmentTransition,
)
from app.models.audit import AuditEntry
from app.models.campaign import Campaign, CampaignRecipient, CampaignStatus, RecipientGroup
from app.models.catalog import Book, Category
from app.models.crm import Interaction, InteractionKind, MemberTag, Tag
from app.models.demand import Demand, DemandStatus, Hold, HoldStatus, StockReceipt
from app.models.feedback import (
    BookAssociation,
    FeedbackSnapshot,
    Review,
    ReviewStatus,
    SurveyResponse,
)
from app.models.mail import MailStatus, OutboxMail
from app.models.member import JoinRequest, Member, MemberSession, Role
from app.models.order import Cart, CartLine, Order, OrderEvent, OrderLine, OrderStatus
from app.models.tier import GradeChange, GradeReason, Tier

__all__ = [
    "AnalyticsRun",
    "AuditEntry",
    "Book",
    "BookAssociation",
    "Campaign",
    "CampaignRecipient",
    "CampaignStatus",
    "Cart",
    "CartLine",
    "Category",
    "Demand",
    "DemandStatus",
    "FeedbackSnapshot",
    "GradeChange",
    "GradeReason",
    "Hold",
    "Interaction",
    "InteractionKind",
    "HoldStatus",
    "MailStatus",
    "JoinRequest",
    "Member",
    "MemberSession",
    "MemberSnapshot",
    "MemberTag",
    "Order",
    "OrderEvent",
    "OrderLine",
    "OrderStatus",
    "OutboxMail",
    "RecipientGroup",
    "Review",
    "ReviewStatus",
    "Role",
    "SegmentMonth",
    "SegmentSummary",
    "SegmentTransition",
    "StockReceipt",
    "Tag",
    "SurveyResponse",
    "Tier",
]
