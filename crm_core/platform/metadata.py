"""The option lists behind dropdowns (元数据): channels, campaigns, intention levels, lost
reasons, follow-up results, tags and stage labels, and the business lines (业务线) that
teams, stages and rules belong to.

Reading is not scoped: an option list is not business data. Changing one needs
`manage_metadata` and is audited. An option is never deleted: disabling it keeps it on
history and in reports while no dropdown offers it any more.
"""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import func
from sqlmodel import Session, col, select

from crm_core.models import BusinessLine, MetadataOption
from crm_core.platform import audit
from crm_core.platform.actor import Actor
from crm_core.platform.errors import NotFound, ValidationError
from crm_core.platform.i18n.markers import N_
from crm_core.platform.permissions import Permission

# The lists an administrator edits. Stages are fixed codes (the stage machine knows them);
# only their labels change.
CATEGORIES = (
    "channel",
    "campaign",
    "intention_level",
    "lost_reason",
    "follow_up_result",
    "tag",
    "stage",
    "qa_violation",
)
# Where a channel's leads come from, for the channel reports.
CHANNEL_GROUPS = ("paid", "organic", "referral", "offline", "other")
CODE_LENGTH = 60
LABEL_LENGTH = 120
# How long a code may be where rows store it: a lead's channel holds 40 characters, an
# opportunity's intention level one letter.
CODE_LENGTHS = {category: CODE_LENGTH for category in CATEGORIES} | {
    "channel": 40,
    "intention_level": 1,
}
# Campaigns and tags are their own words: the code keeps the first spelling as it is.
WORD_CODES = ("campaign", "tag")

UNKNOWN_CATEGORY = N_("There is no option list called {category}.")
CODE_TAKEN = N_("The list already has an option {code}.")
LABEL_TAKEN = N_("The list already has an option called {label}.")
LABEL_REQUIRED = N_("An option needs a label.")
LABEL_TOO_LONG = N_("A label may have at most {limit} characters.")
UNKNOWN_GROUP = N_("A channel's group is one of: {groups}.")
STAGES_FIXED = N_("Stages are fixed; only their labels can change.")
LINE_CODE_TAKEN = N_("There is already a business line {code}.")
LINE_NAME_REQUIRED = N_("A business line needs a name.")
CODE_TOO_LONG = N_("A code may have at most {limit} characters.")


def list_options(
    session: Session, category: str, *, active_only: bool = True
) -> list[MetadataOption]:
    """The company-wide options of `category`, in their display order."""
    query = (
        select(MetadataOption)
        .where(MetadataOption.category == category, col(MetadataOption.business_line_id).is_(None))
        .order_by(MetadataOption.sort_order, MetadataOption.code)
    )
    if active_only:
        query = query.where(MetadataOption.active)
    return list(session.exec(query).all())


def option_label(option: MetadataOption, language: str) -> str:
    """The option's label in `language` (Chinese for anything but English)."""
    return option.label_en if language == "en" else option.label_zh


def fold(text: str) -> str:
    """How option words compare: case, width and surrounding space do not count."""
    return unicodedata.normalize("NFKC", str(text)).strip().casefold()


def find_option(
    session: Session, category: str, text: str, *, active_only: bool = False
) -> MetadataOption | None:
    """The option of `category` whose code or label (either language) reads as `text`,
    ignoring case and width: `Google`, `google` and `GOOGLE` are one channel."""
    wanted = fold(text)
    if not wanted:
        return None
    for option in list_options(session, category, active_only=active_only):
        if wanted in (fold(option.code), fold(option.label_en), fold(option.label_zh)):
            return option
    return None


def code_for(label: str) -> str:
    """A stable code made from a label: lower-case ASCII words joined by `_`; a label with
    no ASCII letters (Chinese) keeps its own characters."""
    text = unicodedata.normalize("NFKC", label).strip().casefold()
    ascii_code = re.sub(r"[^a-z0-9]+", "_", text).strip("_")
    if ascii_code and len(ascii_code) * 2 >= len(re.sub(r"\s+", "", text)):
        return ascii_code[:CODE_LENGTH]
    return re.sub(r"\s+", "_", text)[:CODE_LENGTH]


def default_code(category: str, label: str) -> str:
    """The code an option gets when none is given: the label's own words for campaigns and
    tags, its first letter for an intention level, else a code made from the label."""
    if category in WORD_CODES:
        return " ".join(label.split())[: CODE_LENGTHS[category]]
    if category == "intention_level":
        return label.strip()[:1].upper()
    return code_for(label)[: CODE_LENGTHS[category]]


def _check_category(category: str) -> None:
    if category not in CATEGORIES:
        raise ValidationError(UNKNOWN_CATEGORY, category=category)


def _check_label(label: str) -> str:
    label = (label or "").strip()
    if not label:
        raise ValidationError(LABEL_REQUIRED)
    if len(label) > LABEL_LENGTH:
        raise ValidationError(LABEL_TOO_LONG, limit=LABEL_LENGTH)
    return label


def _check_group(category: str, group: str | None) -> str | None:
    if category != "channel" or group is None:
        return None
    if group not in CHANNEL_GROUPS:
        raise ValidationError(UNKNOWN_GROUP, groups=", ".join(CHANNEL_GROUPS))
    return group


def snapshot(option: MetadataOption) -> dict:
    return {
        "category": option.category,
        "code": option.code,
        "label_en": option.label_en,
        "label_zh": option.label_zh,
        "group": option.option_group,
        "sort_order": option.sort_order,
        "active": option.active,
    }


def _ensure_unique(
    session: Session, category: str, code: str, labels: tuple[str, ...], skip: int | None
) -> None:
    for other in list_options(session, category, active_only=False):
        if other.id == skip:
            continue
        if fold(other.code) == fold(code):
            raise ValidationError(CODE_TAKEN, code=code)
        taken = {fold(other.label_en), fold(other.label_zh)}
        for label in labels:
            if fold(label) in taken:
                raise ValidationError(LABEL_TAKEN, label=label)


def create_option(
    session: Session,
    actor: Actor,
    category: str,
    *,
    label_en: str,
    label_zh: str | None = None,
    code: str | None = None,
    group: str | None = None,
) -> MetadataOption:
    """Add an option to a list (not to stages, which are fixed). The code defaults to one
    made from the English label; code and labels are unique in the list regardless of case.
    Audited; flushes."""
    actor.require(Permission.MANAGE_METADATA)
    _check_category(category)
    if category == "stage":
        raise ValidationError(STAGES_FIXED)
    label_en = _check_label(label_en)
    label_zh = _check_label(label_zh) if label_zh and label_zh.strip() else label_en
    code = (code or "").strip() or default_code(category, label_en)
    if len(code) > CODE_LENGTHS[category]:
        raise ValidationError(CODE_TOO_LONG, limit=CODE_LENGTHS[category])
    _ensure_unique(session, category, code, (label_en, label_zh), None)
    last = session.exec(
        select(func.max(MetadataOption.sort_order)).where(
            MetadataOption.category == category, col(MetadataOption.business_line_id).is_(None)
        )
    ).one()
    option = MetadataOption(
        category=category,
        code=code,
        label_en=label_en,
        label_zh=label_zh,
        option_group=_check_group(category, group),
        sort_order=(last or 0) + 1,
    )
    session.add(option)
    session.flush()
    audit.record(
        session, actor, "metadata.create", "metadata_option", option.id, None, snapshot(option)
    )
    return option


def update_option(
    session: Session,
    actor: Actor,
    option_id: int,
    *,
    label_en: str | None = None,
    label_zh: str | None = None,
    group: str | None = None,
    active: bool | None = None,
    sort_order: int | None = None,
) -> MetadataOption:
    """Rename, regroup, reorder, disable or enable one option; its code never changes, so
    every row that holds it keeps reading right. Audited; flushes."""
    actor.require(Permission.MANAGE_METADATA)
    option = session.get(MetadataOption, option_id)
    if option is None:
        raise NotFound()
    before = snapshot(option)
    new_en = _check_label(label_en) if label_en is not None else option.label_en
    new_zh = _check_label(label_zh) if label_zh is not None else option.label_zh
    _ensure_unique(session, option.category, option.code, (new_en, new_zh), option.id)
    if active is False and option.category == "stage":
        raise ValidationError(STAGES_FIXED)
    option.label_en, option.label_zh = new_en, new_zh
    if group is not None:
        option.option_group = _check_group(option.category, group)
    if active is not None:
        option.active = active
    if sort_order is not None:
        option.sort_order = sort_order
    session.add(option)
    session.flush()
    after = snapshot(option)
    if after != before:
        audit.record(session, actor, "metadata.update", "metadata_option", option.id, before, after)
    return option


def list_business_lines(session: Session, *, active_only: bool = True) -> list[BusinessLine]:
    """Every business line, by code."""
    query = select(BusinessLine).order_by(BusinessLine.code)
    if active_only:
        query = query.where(BusinessLine.active)
    return list(session.exec(query).all())


def find_business_line(session: Session, text: str) -> BusinessLine | None:
    """The business line whose code or name reads as `text`, ignoring case and width."""
    wanted = fold(text)
    for line in list_business_lines(session, active_only=False):
        if wanted in (fold(line.code), fold(line.name)):
            return line
    return None


def _line_snapshot(line: BusinessLine) -> dict:
    return {"code": line.code, "name": line.name, "active": line.active}


def create_business_line(
    session: Session, actor: Actor, *, name: str, code: str | None = None
) -> BusinessLine:
    """Add a business line; the code defaults to one made from the name. Audited; flushes."""
    actor.require(Permission.MANAGE_METADATA)
    name = (name or "").strip()
    if not name:
        raise ValidationError(LINE_NAME_REQUIRED)
    if len(name) > LABEL_LENGTH:
        raise ValidationError(LABEL_TOO_LONG, limit=LABEL_LENGTH)
    code = ((code or "").strip() or code_for(name))[:40]
    for other in list_business_lines(session, active_only=False):
        if fold(other.code) == fold(code):
            raise ValidationError(LINE_CODE_TAKEN, code=code)
        if fold(other.name) == fold(name):
            raise ValidationError(LABEL_TAKEN, label=name)
    line = BusinessLine(code=code, name=name)
    session.add(line)
    session.flush()
    audit.record(
        session, actor, "business_line.create", "business_line", line.id, None, _line_snapshot(line)
    )
    return line


def update_business_line(
    session: Session,
    actor: Actor,
    line_id: int,
    *,
    name: str | None = None,
    active: bool | None = None,
) -> BusinessLine:
    """Rename, disable or enable a business line. A disabled line keeps its teams, rules and
    history; it is no longer offered for new leads. Audited; flushes."""
    actor.require(Permission.MANAGE_METADATA)
    line = session.get(BusinessLine, line_id)
    if line is None:
        raise NotFound()
    before = _line_snapshot(line)
    if name is not None:
        name = name.strip()
        if not name:
            raise ValidationError(LINE_NAME_REQUIRED)
        for other in list_business_lines(session, active_only=False):
            if other.id != line.id and fold(other.name) == fold(name):
                raise ValidationError(LABEL_TAKEN, label=name)
        line.name = name
    if active is not None:
        line.active = active
    session.add(line)
    session.flush()
    after = _line_snapshot(line)
    if after != before:
        audit.record(
            session, actor, "business_line.update", "business_line", line.id, before, after
        )
    return line
