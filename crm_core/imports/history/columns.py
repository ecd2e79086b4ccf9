"""The columns of a history file (the opportunities of another CRM, or a closed-deals
export) and of its optional team file (owner -> team -> parent unit), the words they go by
in English and Chinese, the default reading of the source's stages, and the options of a
run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crm_core.imports.engine.spec import FieldSpec
from crm_core.platform.cells import DEFAULT_PLACEHOLDERS
from crm_core.platform.i18n import N_

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
    # The person's id in the source (a marketing-qualified lead's id): the lead library's
    # external id, so a lead imported before is the same person. When the file has no
    # opportunity id of its own, this column serves as both.
    "lead_id": (
        "mql_id",
        "mql id",
        "lead id",
        "lead_id",
        "lead external id",
        "线索编号",
        "线索ID",
        "名片编号",
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
        "sr_id",
        "closer",
        "closed by",
        "成交人",
    ),
    # Who qualified the lead, beside the owner who closed it (e.g. an SDR).
    "qualifier": (
        "sdr_id",
        "sdr",
        "qualified by",
        "qualifier",
        "资格审核人",
        "邀约人",
    ),
    "team": ("sales_team", "sales team", "team", "团队", "小组", "所属团队"),
    "stage": ("deal_stage", "deal stage", "stage", "status", "阶段", "商机阶段", "状态"),
    # The last open stage of a lost (or won) row: the stages the file proves it reached.
    "stage_before": (
        "stage before lost",
        "stage_before_lost",
        "previous stage",
        "last stage",
        "lost at stage",
        "流失前阶段",
        "丢单前阶段",
    ),
    "lost_reason": (
        "lost reason",
        "loss reason",
        "reason lost",
        "lost_reason",
        "流失原因",
        "丢单原因",
    ),
    "created_at": (
        "engage_date",
        "engage date",
        "created",
        "created at",
        "created date",
        "创建时间",
        "创建日期",
        "开始日期",
        "first_contact_date",
        "first contact date",
        "first contact",
        "首次咨询时间",
    ),
    "closed_at": (
        "close_date",
        "close date",
        "closed",
        "closed at",
        "关闭时间",
        "关单日期",
        "成交日期",
        "won_date",
        "won date",
        "date won",
    ),
    "amount": (
        "close_value",
        "close value",
        "amount",
        "value",
        "deal value",
        "declared_monthly_revenue",
        "declared monthly revenue",
        "revenue",
        "成交金额",
        "金额",
    ),
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
    "channel": ("source", "lead source", "origin", "渠道", "来源", "来源渠道", "线索来源"),
    "campaign": ("campaign name", "ad campaign", "推广计划", "活动", "活动名称", "广告计划"),
    "landing_page": (
        "landing_page_id",
        "landing page",
        "landing url",
        "落地页",
        "着陆页",
    ),
    "business_line": ("business line", "product line", "line", "业务线", "产品线", "业务"),
    "intention_level": (
        "intention",
        "intention level",
        "lead grade",
        "lead rating",
        "意向",
        "意向度",
        "意向等级",
        "客户意向",
    ),
    "phone": ("mobile", "phone number", "telephone", "tel", "手机", "手机号", "电话", "联系电话"),
    "email": ("e-mail", "mail", "邮箱", "电子邮件"),
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
# The owner may be missing (the row goes to the pool or to dispatch); the stage may be given
# for the whole file (a closed-deals export holds only wins).
REQUIRED = ("external_id",)
# Value mapping: the columns whose values must be options, and the list each maps onto.
OPTION_FIELDS: dict[str, str] = {
    "stage": "stage",
    "stage_before": "stage",
    "channel": "channel",
    "lost_reason": "lost_reason",
    "business_line": "business_line",
    "intention_level": "intention_level",
}
# How a field's cells read on the engine: option fields through value mapping (read by the
# spec with its own reasons), times in the file's zone; the rest as text the spec reads.
_KINDS = {"created_at": "datetime", "closed_at": "datetime"}
NOT_A_DATE = N_("Not a date: {value}.")
FIELDS: tuple[FieldSpec, ...] = tuple(
    FieldSpec(
        name,
        synonyms,
        category=OPTION_FIELDS.get(name),
        required=name in REQUIRED,
        kind=_KINDS.get(name, "text"),
        messages={"invalid": NOT_A_DATE} if name in _KINDS else {},
    )
    for name, synonyms in COLUMNS.items()
)
# What value mapping remembers the history import's choices under.
IMPORT_KIND = "history"
# The source's stage words that read as ours besides our own codes and labels, as the
# Maven export and most CRMs name them (the page shows them matched; the user may change).
DEFAULT_STAGE_MAP: dict[str, str] = {
    "prospecting": "new",
    "engaging": "qualified",
    "won": "won",
    "lost": "lost",
}
MODES = ("good_rows", "all_or_nothing")
# Where an open row without a known owner goes: the public pool or dispatch.
UNOWNED = ("pool", "dispatch")
CLOSED = ("won", "lost")


@dataclass(frozen=True, eq=False)
class HistorySettings:
    """The history import's own options beyond the file (`ImportOptions.settings`).

    `teams`: the optional team file (owner -> team -> parent unit) and `team_mapping` its
    columns. `parent_unit_id`: where teams are looked up and, with `create_missing`, where
    missing units are created (missing owners of closed rows become resigned accounts that
    cannot sign in, so people who left keep their wins). `source` prefixes the external
    ids, so two CRMs' ids never meet. `unowned`: where open rows without a known owner go
    (`pool` / `dispatch`). `channel`: the channel of new leads whose row names none.
    """

    teams: Any = None  # a pandas DataFrame, or None
    team_mapping: Mapping[str, str | None] = field(default_factory=dict)
    parent_unit_id: int | None = None
    create_missing: bool = False
    source: str = "history"
    channel: str = "import"
    unowned: str = "pool"

    def signature(self) -> tuple:
        """A hashable digest (a page compares previews with it); the teams file by its
        shape and cells."""
        teams = None
        if self.teams is not None:
            teams = (tuple(self.teams.columns), tuple(map(tuple, self.teams.astype(str).values)))
        return (
            teams,
            tuple(sorted(self.team_mapping.items(), key=str)),
            self.parent_unit_id,
            self.create_missing,
            self.source,
            self.channel,
            self.unowned,
        )


@dataclass(frozen=True)
class HistoryOptions:
    """How to read a history file, in one object (`preview_history` / `run_history_import`
    turn it into the engine's `ImportOptions` and `HistorySettings`).

    `mapping`: field -> the file's column (None: not in the file), custom fields as
    `lead.<code>` / `opportunity.<code>`; `team_mapping` the same for the team file.
    `value_choices`: field -> {folded source value: option code or `LEAVE`}, the user's
    value mapping. `business_line_id`: the line of rows whose file gives none.
    `default_stage`: the stage of rows whose file gives none (a closed-deals export).
    `time_zone`: the IANA zone of the file's times (None: the company's). The rest is
    `HistorySettings`'.
    """

    mapping: dict[str, str | None]
    business_line_id: int
    team_mapping: dict[str, str | None] = field(default_factory=dict)
    value_choices: dict[str, dict[str, str]] = field(default_factory=dict)
    parent_unit_id: int | None = None
    create_missing: bool = False
    mode: str = "good_rows"
    source: str = "history"
    channel: str = "import"
    default_stage: str | None = None
    unowned: str = "pool"
    time_zone: str | None = None
    placeholders: tuple[str, ...] = DEFAULT_PLACEHOLDERS

    def settings(self, teams: Any) -> HistorySettings:
        """The options beyond the file, with the team file `teams`."""
        return HistorySettings(
            teams=teams,
            team_mapping=dict(self.team_mapping),
            parent_unit_id=self.parent_unit_id,
            create_missing=self.create_missing,
            source=self.source,
            channel=self.channel,
            unowned=self.unowned,
        )
