"""All tables. Importing this package registers every table on `SQLModel.metadata`."""

from crm_core.models.api import ApiIdempotency, ApiKey, ApiRateWindow, ApiReceipt
from crm_core.models.calls import CALL_RESULTS, CALL_STATES, CallLine, CallRecord, CallSeat
from crm_core.models.circulation import (
    JOB_NAMES,
    RULE_KINDS,
    DispatchTally,
    JobLock,
    JobRun,
    Notice,
    RuleVersion,
)
from crm_core.models.commerce import APPROVAL_STATES, ORDER_STATUSES, Product, SalesOrder
from crm_core.models.custom_field import (
    FIELD_ENTITIES,
    FIELD_KINDS,
    CustomField,
    LeadFieldValue,
    OpportunityFieldValue,
)
from crm_core.models.dashboards import MarketingSpend
from crm_core.models.lead import Customer, Lead, LeadTag
from crm_core.models.learning import LearningActivity
from crm_core.models.metadata import AuditLog, ImportValueMap, MetadataOption, Setting
from crm_core.models.opportunity import (
    DEFAULT_STAGES,
    FOLLOW_UP_CHANNELS,
    INTENTION_LEVELS,
    OPEN_STAGES,
    PIPELINE_TYPES,
    POOL_STATES,
    FlowEvent,
    FollowUp,
    Opportunity,
    StageHistory,
)
from crm_core.models.org import BusinessLine, OrgUnit, path_ids
from crm_core.models.qa import (
    REVIEW_REASONS,
    REVIEW_STATUSES,
    QaChecklist,
    QaPlan,
    QaReview,
)
from crm_core.models.rules import (
    ClaimRule,
    DepartureRule,
    DispatchRule,
    RecycleRule,
    RenewalRule,
)
from crm_core.models.sales import TRANSFER_STATUSES, TRIAL_STATUSES, TransferRequest, TrialLesson
from crm_core.models.sms import (
    MESSAGE_STATUSES,
    TEMPLATE_PURPOSES,
    TEMPLATE_STATES,
    SensitiveWord,
    SmsMessage,
    SmsOptOut,
    SmsTemplate,
)
from crm_core.models.targets import TARGET_METRICS, SalesTarget, SalesTargetChange
from crm_core.models.user import USER_STATUSES, LoginEvent, Role, SetupToken, User, UserRole

__all__ = [
    "REVIEW_REASONS",
    "REVIEW_STATUSES",
    "QaChecklist",
    "QaPlan",
    "QaReview",
    "ApiIdempotency",
    "ApiKey",
    "ApiRateWindow",
    "ApiReceipt",
    "CALL_RESULTS",
    "CALL_STATES",
    "CallLine",
    "CallRecord",
    "CallSeat",
    "MESSAGE_STATUSES",
    "TEMPLATE_PURPOSES",
    "TEMPLATE_STATES",
    "SensitiveWord",
    "SmsMessage",
    "SmsOptOut",
    "SmsTemplate",
    "CustomField",
    "FIELD_ENTITIES",
    "FIELD_KINDS",
    "LeadFieldValue",
    "OpportunityFieldValue",
    "MarketingSpend",
    "APPROVAL_STATES",
    "LearningActivity",
    "PIPELINE_TYPES",
    "RenewalRule",
    "TRANSFER_STATUSES",
    "TRIAL_STATUSES",
    "TransferRequest",
    "TARGET_METRICS",
    "SalesTarget",
    "SalesTargetChange",
    "TrialLesson",
    "DispatchTally",
    "JOB_NAMES",
    "JobLock",
    "JobRun",
    "Notice",
    "RULE_KINDS",
    "RuleVersion",
    "AuditLog",
    "BusinessLine",
    "ClaimRule",
    "Customer",
    "DEFAULT_STAGES",
    "DepartureRule",
    "DispatchRule",
    "FOLLOW_UP_CHANNELS",
    "FlowEvent",
    "FollowUp",
    "INTENTION_LEVELS",
    "ImportValueMap",
    "Lead",
    "LeadTag",
    "LoginEvent",
    "MetadataOption",
    "OPEN_STAGES",
    "ORDER_STATUSES",
    "Opportunity",
    "OrgUnit",
    "POOL_STATES",
    "Product",
    "RecycleRule",
    "Role",
    "SalesOrder",
    "Setting",
    "SetupToken",
    "StageHistory",
    "USER_STATUSES",
    "User",
    "UserRole",
    "path_ids",
]
