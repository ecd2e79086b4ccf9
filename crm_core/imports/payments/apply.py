"""Recording a checked payment file, and its bad rows as a CSV file."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from crm_core.commerce.payments import pay_order
from crm_core.imports.file_import import (
    ImportResult,
    all_or_nothing_refuses,
    audit_import,
    check_mode,
    check_preview_owner,
    one_transaction,
    rejected_rows_csv,
)
from crm_core.imports.payments.preview import PaymentIssue, PaymentPreview
from crm_core.platform import clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import CrmError, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.permissions import Permission


@dataclass(frozen=True)
class PaymentImportResult(ImportResult):
    """What an import did. All or nothing refuses (`refused`) when a row is bad in the
    file, or `failed`: it changed since the preview."""

    recorded: int
    already: int
    rejected: int
    failed: tuple[PaymentIssue, ...] = ()
    audit_id: int | None = None


def apply_payment_import(
    session: Session, actor: Actor, preview: PaymentPreview, mode: str
) -> PaymentImportResult:
    """Record the preview's payments in one transaction, each through the same rules as a
    single payment (`crm_core.commerce.payments.pay_order`), and commit once.

    "good_rows" records the good rows and leaves the bad ones out; "all_or_nothing"
    records nothing when any row is bad. A row that changed since the preview (paid or
    cancelled meanwhile) is `failed`: left out, or - all or nothing - the end of the whole
    import. Rows recorded already are counted, not written again, so importing the same
    file twice records nothing new. When another payment takes one of the file's references
    at the same moment, everything is rolled back and `payment_import.error.concurrent`
    raised: preview the file again."""
    actor.require(Permission.RECORD_PAYMENTS)
    check_mode(mode)
    check_preview_owner(actor, preview)
    counts = preview.counts
    if all_or_nothing_refuses(mode, preview.rejected):
        return PaymentImportResult(mode, False, 0, counts["already"], counts["rejected"])
    now = clock.now()
    column = preview.mapping.get("order_number") or ""
    recorded = already = 0
    failed: list[PaymentIssue] = []
    # Another payment may take one of the file's references at the same moment.
    with one_transaction(
        session,
        ValidationError(
            N_(
                "Another payment took one of the file's references meanwhile: nothing was recorded. Preview the file again."
            )
        ),
    ):
        for row in preview.rows:
            try:
                outcome = pay_order(
                    session,
                    actor,
                    row.order_id,
                    row.payment_ref,
                    amount=row.amount,
                    paid_at=row.paid_at or now,
                )
            except CrmError as error:  # refused before writing: the transaction goes on
                failed.append(
                    PaymentIssue(row.row, "order_number", column, error.key, dict(error.params))
                )
                continue
            if outcome.recorded:
                recorded += 1
            else:
                already += 1
        if all_or_nothing_refuses(mode, failed):
            session.rollback()
            return PaymentImportResult(
                mode, False, 0, counts["already"], counts["rejected"], tuple(failed)
            )
        written = {
            "recorded": recorded,
            "already": counts["already"] + already,
            "rejected": counts["rejected"],
            "failed": len(failed),
        }
        audit_id = audit_import(
            session, actor, "payment.import", "sales_order", preview, mode, written
        )
    return PaymentImportResult(
        mode,
        True,
        recorded,
        counts["already"] + already,
        counts["rejected"],
        tuple(failed),
        audit_id,
    )


def rejected_payment_rows_csv(actor: Actor, preview: PaymentPreview, language: str) -> bytes:
    """The bad rows as CSV (UTF-8 with a byte-order mark, so Excel reads Chinese): the row
    number, the file's own columns and a reason column in `language`. No cell can run as a
    spreadsheet formula."""
    actor.require(Permission.RECORD_PAYMENTS)
    return rejected_rows_csv(actor, preview, language)
