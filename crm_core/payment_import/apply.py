"""Recording a checked payment file, and its bad rows as a CSV file."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from crm_core import audit, clock
from crm_core.access import Actor
from crm_core.cells import neutralise_cell
from crm_core.errors import CrmError, ValidationError
from crm_core.i18n import translate
from crm_core.payment_import.preview import PaymentIssue, PaymentPreview
from crm_core.payments import pay_order
from crm_core.permissions import Permission

MODES: tuple[str, ...] = ("good_rows", "all_or_nothing")


@dataclass(frozen=True)
class PaymentImportResult:
    """What an import did. `stored` is False when all or nothing was asked and a row is
    bad (in the file, or `failed`: it changed since the preview): nothing was written."""

    mode: str
    stored: bool
    recorded: int
    already: int
    rejected: int
    failed: tuple[PaymentIssue, ...] = ()
    audit_id: int | None = None

    @property
    def refused(self) -> bool:
        return not self.stored


def _check(actor: Actor, preview: PaymentPreview, mode: str) -> None:
    actor.require(Permission.RECORD_PAYMENTS)
    if mode not in MODES:
        raise ValidationError("payment_import.error.mode", mode=mode)
    if preview.actor_user_id != actor.user_id:
        raise ValidationError("payment_import.error.other_actor")


def apply_payment_import(
    session: Session, actor: Actor, preview: PaymentPreview, mode: str
) -> PaymentImportResult:
    """Record the preview's payments in one transaction, each through the same rules as a
    single payment (`crm_core.payments.pay_order`), and commit once.

    "good_rows" records the good rows and leaves the bad ones out; "all_or_nothing"
    records nothing when any row is bad. A row that changed since the preview (paid or
    cancelled meanwhile) is `failed`: left out, or - all or nothing - the end of the whole
    import. Rows recorded already are counted, not written again, so importing the same
    file twice records nothing new. When another payment takes one of the file's references
    at the same moment, everything is rolled back and `payment_import.error.concurrent`
    raised: preview the file again."""
    _check(actor, preview, mode)
    counts = preview.counts
    if mode == "all_or_nothing" and preview.rejected:
        return PaymentImportResult(mode, False, 0, counts["already"], counts["rejected"])
    now = clock.now()
    column = preview.mapping.get("order_number") or ""
    recorded = already = 0
    failed: list[PaymentIssue] = []
    try:
        for row in preview.rows:
            try:
                outcome = pay_order(session, actor, row.order_id, row.payment_ref,
                                    amount=row.amount, paid_at=row.paid_at or now)  # fmt: skip
            except CrmError as error:  # refused before writing: the transaction goes on
                failed.append(PaymentIssue(row.row, "order_number", column, error.key,
                                           dict(error.params)))  # fmt: skip
                continue
            if outcome.recorded:
                recorded += 1
            else:
                already += 1
        if failed and mode == "all_or_nothing":
            session.rollback()
            return PaymentImportResult(mode, False, 0, counts["already"], counts["rejected"],
                                       tuple(failed))  # fmt: skip
        summary = {
            "source": preview.source[:200],
            "mode": mode,
            "counts": {"recorded": recorded, "already": counts["already"] + already,
                       "rejected": counts["rejected"], "failed": len(failed)},
        }  # fmt: skip
        entry = audit.record(session, actor, "payment.import", "sales_order", None, None, summary)
        session.flush()
        session.commit()
    except IntegrityError as error:
        session.rollback()
        raise ValidationError("payment_import.error.concurrent") from error
    except BaseException:
        session.rollback()
        raise
    return PaymentImportResult(
        mode, True, recorded, counts["already"] + already, counts["rejected"], tuple(failed),
        entry.id,
    )  # fmt: skip


def rejected_payment_rows_csv(actor: Actor, preview: PaymentPreview, language: str) -> bytes:
    """The bad rows as CSV (UTF-8 with a byte-order mark, so Excel reads Chinese): the row
    number, the file's own columns and a reason column in `language`. No cell can run as a
    spreadsheet formula."""
    actor.require(Permission.RECORD_PAYMENTS)
    if preview.actor_user_id != actor.user_id:
        raise ValidationError("payment_import.error.other_actor")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    header = [
        translate("payment_import.table.row", language),
        *preview.columns,
        translate("payment_import.table.reason", language),
    ]
    writer.writerow([neutralise_cell(c) for c in header])
    for row in preview.rejected:
        reasons = "; ".join(
            f"{issue.column}: {translate(issue.key, language, **issue.params)}"
            if issue.column
            else translate(issue.key, language, **issue.params)
            for issue in row.issues
        )
        writer.writerow([neutralise_cell(v) for v in (row.row, *row.cells, reasons)])
    return buffer.getvalue().encode("utf-8-sig")
