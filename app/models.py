"""Every model, imported in one place for Alembic autogenerate and `flask shell`."""

from app.analytics.models import (
    AnalyticsRun,
    MemberSnapshot,
    SegmentMonth,
    SegmentSummary,
    SegmentTransition,
)
from app.api.models import ApiIdempotentResult, ApiToken
from app.campaigns.models import (
    Campaign,
    CampaignListMember,
    CampaignRecipient,
    CampaignStatus,
    RecipientGroup,
)
from app.catalog.models import Book, BookAltTitle, Category, CategoryName, InfoPage
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
from app.grades.models import GradeChange, GradeReason, Tier, TierName
from app.mail.models import MailStatus, OutboxMail
from app.membership.models import JoinRequest, Member, MemberSession, MemberSignIn, Role
from app.ordering.models import (
    Cart,
    CartLine,
    Order,
    OrderChannel,
    OrderEvent,
    OrderLine,
    OrderStatus,
)
from app.returns.models import (
    Refund,
    Restock,
    ReturnLine,
    ReturnReason,
    ReturnRequest,
    ReturnStatus,
)
from app.support.models import (
    CaseMessage,
    CasePriority,
    CaseSource,
    CaseStatus,
    CaseType,
    ContactRequest,
    SupportCase,
)
from app.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

__all__ = [
    "AnalyticsRun",
    "ApiIdempotentResult",
    "ApiToken",
    "AuditEntry",
    "Book",
    "BookAltTitle",
    "BookAssociation",
    "Campaign",
    "CaseMessage",
    "CasePriority",
    "CaseSource",
    "CaseStatus",
    "CaseType",
    "CampaignListMember",
    "CampaignRecipient",
    "CampaignStatus",
    "Cart",
    "CartLine",
    "Category",
    "ContactRequest",
    "DeliveryStatus",
    "CategoryName",
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
    "InfoPage",
    "MailStatus",
    "MailTemplate",
    "JoinRequest",
    "Member",
    "MemberSession",
    "MemberSignIn",
    "MemberSnapshot",
    "MemberTag",
    "Order",
    "OrderChannel",
    "OrderEvent",
    "OrderLine",
    "OrderStatus",
    "OutboxMail",
    "RecipientGroup",
    "Refund",
    "Restock",
    "ReturnLine",
    "ReturnReason",
    "ReturnRequest",
    "ReturnStatus",
    "Review",
    "ReviewStatus",
    "Role",
    "SegmentMonth",
    "SegmentSummary",
    "SegmentTransition",
    "StockReceipt",
    "SupportCase",
    "Tag",
    "TaskPriority",
    "SurveyResponse",
    "Tier",
    "TierName",
    "WebhookDelivery",
    "WebhookEndpoint",
]
