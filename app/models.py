"""Every model, imported in one place for Alembic autogenerate and `flask shell`."""

from app.analytics.models import (
    AnalyticsRun,
    MemberSnapshot,
    SegmentMonth,
    SegmentSummary,
    SegmentTransition,
)
from app.campaigns.models import Campaign, CampaignRecipient, CampaignStatus, RecipientGroup
from app.catalog.models import Book, Category
from app.core.audit.models import AuditEntry
from app.crm.models import (
    CustomerView,
    Interaction,
    InteractionKind,
    MailTemplate,
    MemberTag,
    Tag,
    TaskPriority,
)
from app.demand.models import Demand, DemandStatus, Hold, HoldStatus, StockReceipt
from app.feedback.models import (
    BookAssociation,
    FeedbackSnapshot,
    Review,
    ReviewStatus,
    SurveyResponse,
)
from app.grades.models import GradeChange, GradeReason, Tier
from app.mail.models import MailStatus, OutboxMail
from app.membership.models import JoinRequest, Member, MemberSession, Role
from app.ordering.models import (
    Cart,
    CartLine,
    Order,
    OrderChannel,
    OrderEvent,
    OrderLine,
    OrderStatus,
)

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
    "CustomerView",
    "Interaction",
    "InteractionKind",
    "HoldStatus",
    "MailStatus",
    "MailTemplate",
    "JoinRequest",
    "Member",
    "MemberSession",
    "MemberSnapshot",
    "MemberTag",
    "Order",
    "OrderChannel",
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
    "TaskPriority",
    "SurveyResponse",
    "Tier",
]
