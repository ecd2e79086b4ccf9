"""The codes of approval flows (审批流), merged into `LABELS`."""

from __future__ import annotations

from crm_core.platform.i18n.markers import N_, NC_

APPROVAL_LABELS: dict[str, dict[str, str]] = {
    "audit.action": {
        "approval.applied": N_("Approved request carried out"),
        "approval.approve": N_("Approval step approved"),
        "approval.failed": N_("Approved request could not be carried out"),
        "approval.reject": N_("Approval request rejected"),
        "approval.request": N_("Sent for approval"),
        "approval.withdraw": N_("Approval request withdrawn"),
        "approval_flow.delete": N_("Approval flow removed"),
        "approval_flow.save": N_("Approval flow saved"),
    },
    "audit.target": {
        "approval_flow": N_("Approval flow"),
        "approval_request": N_("Approval request"),
    },
    "permission": {"manage_approval_flows": N_("Configure approval flows")},
    "notice": {
        "approval.requested": N_(
            "{requester} asks for your approval: request #{request} on opportunity #{opportunity}."
        ),
        "approval.approved": N_(
            "{approver} gave the last approval of your request #{request} (opportunity #{opportunity}): it is done."
        ),
        "approval.rejected": N_(
            "{approver} rejected your request #{request} (opportunity #{opportunity})."
        ),
        "approval.failed": N_(
            "Your request #{request} (opportunity #{opportunity}) was approved but could no longer be carried out."
        ),
    },
    "approval.kind": {
        "discount": N_("Discount beyond the role limit"),
        "reactivation": N_("Re-activation of a dormant opportunity"),
        "refund": N_("Refund"),
        "transfer": N_("Transfer to another unit"),
    },
    "approval.state": {
        "approved": NC_("approval.state", "Approved"),
        "failed": NC_("approval.state", "Failed"),
        "pending": NC_("approval.state", "Waiting"),
        "rejected": NC_("approval.state", "Rejected"),
        "withdrawn": NC_("approval.state", "Withdrawn"),
    },
    "approval.decision": {
        "applied": N_("Carried out"),
        "approved": NC_("approval.decision", "Approved"),
        "failed": N_("Could not be carried out"),
        "rejected": NC_("approval.decision", "Rejected"),
        "requested": N_("Asked"),
        "withdrawn": NC_("approval.decision", "Withdrawn"),
    },
    "approval.what": {
        "discount": N_("{pct}% off on order {order} ({money})"),
        "reactivation": N_("Re-activate opportunity #{opportunity}"),
        "refund": N_("Refund {money} of order {order}: {reason}"),
        "transfer": N_("Give opportunity #{opportunity} to {to}"),
    },
    "approval.view": {
        "all": N_("All I can see"),
        "mine": N_("Asked by me"),
        "waiting": N_("Waiting for me"),
    },
}
