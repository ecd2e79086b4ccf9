"""What the metadata page and every other page pay for the option lists: the usage count of
each list (one GROUP BY, run only for the open tab) and the one read of every list a page
run makes (`ui.options`)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from benchmarks.common import BenchContext, best_of, report_value
from crm_core.models import MetadataOption
from crm_core.platform.option_values import USAGE_COLUMNS, business_line_usage, usage_counts


def run(ctx: BenchContext) -> None:
    with Session(ctx.engine) as session:
        for category in USAGE_COLUMNS:
            seconds = best_of(lambda c=category: usage_counts(session, c))
            report_value(f"usage_count_{category}", seconds * 1000, "ms")
        seconds = best_of(lambda: business_line_usage(session))
        report_value("usage_count_business_line", seconds * 1000, "ms")
        every_list = select(MetadataOption).where(col(MetadataOption.business_line_id).is_(None))
        seconds = best_of(lambda: session.exec(every_list).all())
        report_value("every_list_once_per_run", seconds * 1000, "ms")
