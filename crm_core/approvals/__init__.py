"""Approval flows (审批流): configured steps of approver roles per kind and amount
threshold (`flows`), requests waiting on them with their history (`requests`), what runs once
the last step approves (`effects`), and the entry points the pages call instead of the
direct services (`entry`)."""
