"""The columns of a history file (the opportunities of another CRM) and of its optional
team file (owner -> team -> parent unit), the words they go by in English and Chinese, the
default reading of the source's stages, and the options of a run."""

from __future__ import annotations

from dataclasses import dataclass, field

from crm_core.platform.cells import DEFAULT_PLACEHOLDERS, placeholder_set

# field -> header names it may have (besides the field's own name), in any language.
COLUMNS: dict[str, tuple[str, ...]] = {
    "external_id": (
        "opportunity_id",
        "opportunity id",
        "deal id",
        "deal_id",
        "id",
        "record id",
        "商机编号",
        "商机ID",
        "原系统编号",
        "编号",
    ),
    "owner": (
        "sales_agent",
        "sales agent",
        "agent",
        "owner",
        "rep",
        "salesperson",
        "sales rep",
        "负责人",
        "销售",
        "课程顾问",
        "顾问",
        "归属人",
    ),
    "team": ("sales_team", "sales team", "team", "团队", "小组", "所属团队"),
    "stage": ("deal_stage", "deal stage", "stage", "status", "阶段", "商机阶段", "状态"),
    "created_at": (
        "engage_date",
        "engage date",
        "created",
        "created at",
        "created date",
        "创建时间",
        "创建日期",
        "开始日期",
    ),
    "closed_at": (
        "close_date",
        "close date",
        "closed",
        "closed at",
        "关闭时间",
        "关单日期",
        "成交日期",
    ),
    "amount": ("close_value", "close value", "amount", "value", "deal value", "成交金额", "金额"),
    "name": (
        "account",
        "customer",
        "customer name",
        "lead name",
        "name",
        "client",
        "客户",
        "客户名称",
        "姓名",
        "学员姓名",
    ),
}
TEAM_COLUMNS: dict[str, tuple[str, ...]] = {
    "owner": ("sales_agent", "sales agent", "agent", "owner", "rep", "负责人", "销售", "顾问"),
    "team": ("manager", "team", "sales team", "team name", "团队", "小组", "经理", "主管"),
    "parent": (
        "regional_office",
        "regional office",
        "region",
        "office",
        "branch",
        "parent",
        "大区",
        "区域",
        "分公司",
        "上级部门",
    ),
}
REQUIRED = ("external_id", "owner", "stage")
# The source's stage words -> ours, as the Maven export and most CRMs name them.
DEFAULT_STAGE_MAP: dict[str, str] = {
    "prospecting": "new",
    "engaging": "qualified",
    "won": "won",
    "lost": "lost",
}
MODES = ("good_rows", "all_or_nothing")
CLOSED = ("won", "lost")


@dataclass(frozen=True)
class HistoryOptions:
    """How to read a history file.

    `mapping`: field -> the file's column (None: not in the file); `team_mapping` the same
    for the team file. `stage_map`: the source's stage (case-folded) -> ours.
    `parent_unit_id`: where teams are looked up and, with `create_missing`, where missing
    units are created (missing owners become resigned accounts that cannot sign in).
    `source` prefixes the external ids, so two CRMs' ids never meet.
    """

    mapping: dict[str, str | None]
    business_line_id: int
    team_mapping: dict[str, str | None] = field(default_factory=dict)
    stage_map: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_STAGE_MAP))
    parent_unit_id: int | None = None
    create_missing: bool = False
    mode: str = "good_rows"
    source: str = "history"
    channel: str = "import"
    # The IANA zone of the file's times (None: the company's); stored as true instants.
    time_zone: str | None = None
    placeholders: frozenset[str] = field(
        default_factory=lambda: placeholder_set(DEFAULT_PLACEHOLDERS)
    )

    def signature(self) -> tuple:
        """A hashable digest of the options (pages compare previews with it)."""
        return (
            tuple(sorted(self.mapping.items(), key=str)),
            tuple(sorted(self.team_mapping.items(), key=str)),
            tuple(sorted(self.stage_map.items())),
            self.business_line_id,
            self.parent_unit_id,
            self.create_missing,
            self.mode,
            self.source,
            self.channel,
            self.time_zone,
            self.placeholders,
        )
