"""The dashboards: funnel, circulation health, team performance and channel ROI.

Every figure takes the acting user and a `DashboardFilter`, refuses viewers without
`view_dashboards`, applies the viewer's data scope (opportunities as they are now, revenue
by its frozen attribution) and is cached against a watermark of the data
(`analytics.cache`), so a repeated view is instant and a new write shows at once.
"""

from crm_core.analytics.cache import clear as clear_cache
from crm_core.analytics.cache import set_enabled as set_cache_enabled
from crm_core.analytics.channel_roi import ChannelRoi, RoiRow, channel_roi
from crm_core.analytics.circulation_health import (
    FIRST_CONTACT_BUCKETS,
    NOT_YET,
    CirculationHealth,
    Holding,
    circulation_health,
)
from crm_core.analytics.export import EXPORT_FORMATS, MIME_TYPES, export_table
from crm_core.analytics.filters import (
    SPLITS,
    DashboardFilter,
    default_filter,
    from_query_params,
    to_query_params,
)
from crm_core.analytics.funnel import (
    Funnel,
    FunnelOpportunity,
    FunnelRow,
    FunnelStep,
    funnel,
    funnel_opportunities,
)
from crm_core.analytics.performance import Performance, PerformanceRow, performance
from crm_core.analytics.sql import FUNNEL_STAGES

__all__ = [
    "EXPORT_FORMATS",
    "FIRST_CONTACT_BUCKETS",
    "FUNNEL_STAGES",
    "MIME_TYPES",
    "NOT_YET",
    "SPLITS",
    "ChannelRoi",
    "CirculationHealth",
    "DashboardFilter",
    "Funnel",
    "FunnelOpportunity",
    "FunnelRow",
    "FunnelStep",
    "Holding",
    "Performance",
    "PerformanceRow",
    "RoiRow",
    "channel_roi",
    "circulation_health",
    "clear_cache",
    "default_filter",
    "export_table",
    "from_query_params",
    "funnel",
    "funnel_opportunities",
    "performance",
    "set_cache_enabled",
    "to_query_params",
]
