"""The columns of a lead file, the words they go by in English and Chinese, and how cell
values read: channels and business lines by code or by name, lists, dates."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from crm_core.imports.engine.spec import FieldSpec
from crm_core.imports.engine.spec import ImportOptions as EngineOptions
from crm_core.imports.leads.landing import LeadSettings
from crm_core.platform.cells import DEFAULT_PLACEHOLDERS, placeholder_set
from crm_core.platform.i18n import N_

# field -> header names it may have (besides the field's own name), in any language.
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": (
        "name",
        "full name",
        "contact",
        "contact name",
        "customer name",
        "lead name",
        "姓名",
        "名字",
        "客户姓名",
        "联系人",
        "学员姓名",
    ),
    "phone": (
        "phone",
        "mobile",
        "phone number",
        "mobile phone",
        "cell",
        "telephone",
        "tel",
        "手机",
        "手机号",
        "手机号码",
        "电话",
        "联系电话",
        "联系方式",
    ),
    "external_id": (
        "external id",
        "id in source",
        "source id",
        "crm id",
        "record id",
        "lead id",
        "lead number",
        "mql id",
        "外部编号",
        "外部ID",
        "原系统编号",
        "来源编号",
    ),
    "channel": (
        "channel",
        "source",
        "lead source",
        "origin",
        "渠道",
        "来源",
        "来源渠道",
        "线索来源",
    ),
    "campaign": (
        "campaign",
        "campaign name",
        "ad campaign",
        "推广计划",
        "活动",
        "活动名称",
        "广告计划",
    ),
    "landing_page": (
        "landing page",
        "landing url",
        "landing page id",
        "url",
        "page",
        "落地页",
        "着陆页",
        "落地页地址",
    ),
    "keyword": ("keyword", "search keyword", "search term", "关键词", "搜索词"),
    "region": ("region", "province", "state", "省份", "地区", "省"),
    "city": ("city", "城市", "市"),
    "email": ("email", "e-mail", "mail", "邮箱", "电子邮件"),
    "wechat": ("wechat", "weixin", "wechat id", "微信", "微信号"),
    "qq": ("qq", "qq number", "qq no", "qq号", "qq号码", "腾讯qq"),
    "business_line": (
        "business line",
        "project",
        "product line",
        "programme",
        "program",
        "course",
        "业务线",
        "项目",
        "意向项目",
        "意向课程",
        "产品线",
    ),
    "created_at": (
        "created",
        "created at",
        "date",
        "created date",
        "lead date",
        "first contact",
        "first contact date",
        "创建时间",
        "日期",
        "录入时间",
        "首次咨询时间",
        "咨询时间",
    ),
    "tags": ("tags", "tag", "labels", "标签"),
    "stage": (
        "outcome",
        "status",
        "converted",
        "lead stage",
        "deal stage",
        "result",
        "阶段",
        "商机阶段",
        "状态",
        "是否成交",
        "成交状态",
    ),
    "closed_at": (
        "closed",
        "closed at",
        "close date",
        "closed date",
        "won date",
        "closing date",
        "成交时间",
        "成交日期",
        "关闭时间",
    ),
    "amount": (
        "amount",
        "revenue",
        "deal amount",
        "deal value",
        "declared revenue",
        "declared monthly revenue",
        "won amount",
        "金额",
        "成交金额",
        "订单金额",
        "收入",
    ),
    "lost_reason": ("lost reason", "reason lost", "loss reason", "流失原因", "丢单原因"),
    "intention_level": ("intention", "intention level", "grade", "意向度", "意向等级"),
    "owner": (
        "owner",
        "lead owner",
        "sales rep",
        "rep",
        "assigned to",
        "负责人",
        "归属人",
        "跟进人",
        "销售",
    ),
}

# Fields whose values are options of a list (元数据), read through value mapping: field ->
# the list (see `crm_core.imports.value_mapping`).
OPTION_FIELDS: dict[str, str] = {
    "channel": "channel",
    "business_line": "business_line",
    "stage": "stage",
    "lost_reason": "lost_reason",
    "intention_level": "intention_level",
}
# Fields that may share their column with another: a lead id often is all the name a web
# lead has.
SHARED_COLUMNS = frozenset({("name", "external_id")})
# The fields that say how a person can be reached or found again: a row needs one of them.
CONTACT_FIELDS = ("phone", "external_id", "email", "wechat")
IMPORT_KIND = "leads"  # the import kind value mappings are remembered under


NOT_A_DATE = N_("{value} is not a date (use 2024-03-01 or 2024/3/1 14:30).")
# How each built-in field's cells read (the engine's kinds, `crm_core.imports.engine.KINDS`);
# the rest are text. Tags and business lines may hold several values in one cell. The
# intake judges names, phones, channels and business lines itself: the spec hands it their
# text (a channel or business line through value mapping).
FIELD_KINDS: dict[str, str] = {
    "phone": "phone",
    "created_at": "datetime",
    "closed_at": "datetime",
    "amount": "money",
}
_DATES = {"invalid": NOT_A_DATE}

# The built-in fields, as the import engine's field specs; fields defined per company
# (custom fields of leads and of opportunities) join them per session (the spec's
# `custom_entities`).
LEAD_FIELDS: tuple[FieldSpec, ...] = tuple(
    FieldSpec(
        name,
        synonyms,
        OPTION_FIELDS.get(name),
        required=name == "name",
        kind=FIELD_KINDS.get(name, "text"),
        several=name in ("business_line", "tags"),
        messages=_DATES if name in ("created_at", "closed_at") else {},
    )
    for name, synonyms in COLUMNS.items()
)


@dataclass(frozen=True)
class ImportOptions:
    """How to read a file: which column is which field (None: not in the file), what
    counts as blank, what to assume where the file says nothing, and what to do with bad
    rows (`good_rows` stores the good ones, `all_or_nothing` stores nothing if one is bad)."""

    mapping: dict[str, str | None]
    placeholders: frozenset[str] = field(
        default_factory=lambda: placeholder_set(DEFAULT_PLACEHOLDERS)
    )
    default_channel: str | None = None
    default_line_codes: tuple[str, ...] = ()
    mode: str = "good_rows"
    # The IANA zone of the file's times (None: the company's); stored as true instants.
    time_zone: str | None = None
    # The user's value mapping: field -> {folded source value -> option code, or
    # `value_mapping.LEAVE`}. Values without a choice take the remembered mapping or the
    # option they read as.
    value_choices: dict[str, dict[str, str]] = field(default_factory=dict)
    # The pool the new opportunities land in (a unit id, or `pools.COMPANY_POOL`; None:
    # dispatch), and whether rows of stored leads update them (see `leads.landing`).
    pool: int | None = None
    update_existing: bool = False

    def for_engine(self, source: str | None = None) -> EngineOptions:
        """The same as the import engine's options (the mode is the run's)."""
        defaults: dict[str, object] = {}
        if self.default_channel:
            defaults["channel"] = self.default_channel
        if self.default_line_codes:
            defaults["business_line"] = tuple(self.default_line_codes)
        return EngineOptions(
            mapping=dict(self.mapping),
            placeholders=tuple(self.placeholders),
            time_zone=self.time_zone,
            value_choices=self.value_choices,
            source=source,
            defaults=defaults,
            settings=LeadSettings(self.pool, self.update_existing),
        )


def word(text: str) -> str:
    """Text for matching names: case-folded, spaces collapsed."""
    return " ".join(str(text or "").split()).casefold()


def lookup(pairs: Iterable[tuple[str, Iterable[str]]]) -> dict[str, str]:
    """Matchable word -> code, from (code, names) pairs; the code matches itself."""
    table: dict[str, str] = {}
    for code, names in pairs:
        for name in (code, *names):
            if name:
                table.setdefault(word(name), code)
    return table
