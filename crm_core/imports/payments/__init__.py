"""Importing a payment file (回款导入): the payment provider's or the bank's export of who
paid which order, recorded in one go through the import engine (`PAYMENTS`).

Each row is a payment to record (`pay`), `already` recorded (the order holds that
reference: not an error), or bad with every reason. Recording runs each payment through
the rules of a single payment; a row that changed since the preview is `failed` (left out,
or with all or nothing the end of the whole import). Times in the file are in the file's
time zone (default the company's). Orders are reached only within the actor's scope.

No column holds options of a list: the payment method and channel are not in the file, so
the import has no value mapping; its rows are orders, not leads or opportunities, so it
offers no custom fields.
"""

from crm_core.imports.engine import ImportSpec
from crm_core.imports.payments.spec import (
    CATEGORIES,
    CONCURRENT,
    FIELDS,
    MAX_ROWS,
    PAYMENT_FIELDS,
    PaymentRow,
    check_payments,
    read_payment,
    write_payments,
)
from crm_core.platform.permissions import Permission

PAYMENTS = ImportSpec(
    kind="payment_import",
    permission=Permission.RECORD_PAYMENTS,
    fields=FIELDS,
    read=read_payment,
    check=check_payments,
    write=write_payments,
    categories=CATEGORIES,
    audit_action="payment.import",
    audit_target="sales_order",
    concurrent=CONCURRENT,
    one_column_per_field=True,
    max_rows=MAX_ROWS,
)

__all__ = ["MAX_ROWS", "PAYMENTS", "PAYMENT_FIELDS", "PaymentRow"]
