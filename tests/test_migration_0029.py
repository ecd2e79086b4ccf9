"""Migration 0029: every order paid before it gets its one payment (and a refunded order its
one refund) with the order's frozen attribution, and its paid and refunded amounts, so
revenue read from payments is what it was; downgrading drops them again."""

from __future__ import annotations

from decimal import Decimal

from alembic import command
from sqlalchemy import text

from db.migrate import alembic_config
from tests.test_migrations import scratch_connection  # noqa: F401  (the fixture)


def test_0029_gives_each_paid_order_its_payment_and_refund(scratch_connection):  # noqa: F811
    conn = scratch_connection
    config = alembic_config()
    config.attributes["connection"] = conn
    command.upgrade(config, "0028")
    conn.commit()
    conn.execute(
        text(
            "INSERT INTO business_line (id, code, name, active, created_at)"
            " VALUES (1, 'x', 'X', true, '2026-01-01')"
        )
    )
    conn.execute(
        text(
            "INSERT INTO lead (id, name, name_key, no_phone, channel, created_at)"
            " VALUES (1, 'L', 'l', false, 'sem', '2026-01-01')"
        )
    )
    conn.execute(
        text(
            "INSERT INTO opportunity (id, lead_id, business_line_id, pipeline_type, stage,"
            " pool_state, locked, recycle_count, created_at)"
            " VALUES (1, 1, 1, 'new', 'won', 'closed', false, 0, '2026-01-01')"
        )
    )
    for order_id, status, ref, paid, refunded, reason in (
        (1, "paid", "P-1", "2026-02-01 10:00:00", None, None),
        (2, "refunded", "P-2", "2026-02-02 10:00:00", "2026-02-05 10:00:00", "moved"),
        (3, "pending", None, None, None, None),
        (4, "paid", None, "2026-02-03 10:00:00", None, None),  # imported, no reference
    ):
        conn.execute(
            text(
                "INSERT INTO sales_order (id, opportunity_id, list_price, amount, status,"
                " payment_ref, paid_at, refunded_at, refund_reason, approval,"
                " attributed_owner_id, attributed_org_path, created_at)"
                " VALUES (:i, 1, 1000, 900, :s, :r, :p, :f, :why, 'none', NULL, '/1/',"
                " '2026-01-05')"
            ),
            {"i": order_id, "s": status, "r": ref, "p": paid, "f": refunded, "why": reason},
        )
    conn.commit()
    command.upgrade(config, "0029")
    conn.commit()
    payments = conn.execute(
        text(
            "SELECT order_id, payment_ref, amount, attributed_org_path FROM order_payment"
            " ORDER BY order_id"
        )
    ).all()
    assert [(o, r, Decimal(a), p) for o, r, a, p in payments] == [
        (1, "P-1", Decimal(900), "/1/"),
        (2, "P-2", Decimal(900), "/1/"),
        (4, None, Decimal(900), "/1/"),
    ]
    refunds = conn.execute(text("SELECT order_id, amount, reason FROM order_refund")).all()
    assert [(o, Decimal(a), r) for o, a, r in refunds] == [(2, Decimal(900), "moved")]
    amounts = conn.execute(
        text("SELECT id, paid_amount, refunded_amount FROM sales_order ORDER BY id")
    ).all()
    assert [(i, Decimal(p), Decimal(r)) for i, p, r in amounts] == [
        (1, Decimal(900), Decimal(0)),
        (2, Decimal(900), Decimal(900)),
        (3, Decimal(0), Decimal(0)),
        (4, Decimal(900), Decimal(0)),
    ]
    command.downgrade(config, "0028")
    conn.commit()
    assert conn.execute(text("SELECT count(*) FROM sales_order")).scalar_one() == 4
