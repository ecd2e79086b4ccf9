"""Labels of instalment plans (回款计划): the parts of a plan, the setting of when an
instalment order wins its opportunity, and the audit actions of payments and refunds."""

from __future__ import annotations

from crm_core.platform.i18n.markers import N_, NP_

INSTALMENT_LABELS: dict[str, dict[str, str]] = {
    "instalment.kind": {"deposit": N_("Deposit"), "instalment": N_("Instalment")},
    "instalment.state": {
        "open": N_("Open"),
        "overdue": N_("Overdue"),
        "partly_paid": N_("Partly paid"),
        "settled": N_("Paid"),
    },
    "orders.won_at": {
        "deposit": N_("At the first payment (deposit)"),
        "full": N_("When paid in full"),
    },
    "settings": {"orders.won_at": N_("An instalment order wins its opportunity")},
    # With a count, INSTALMENT_NOTICE_PLURALS words it.
    "notice": {"instalment.overdue": N_("Instalments of your customers are overdue ({count}).")},
}

INSTALMENT_NOTICE_PLURALS = {
    "instalment.overdue": NP_(
        "{n} instalment of your customers is overdue: see the workbench.",
        "{n} instalments of your customers are overdue: see the workbench.",
    ),
}
