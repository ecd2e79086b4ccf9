"""Values that must come from an option list (元数据): checking a value before a row stores
it, reading the words of stored values, counting how many rows use each option, and the
campaigns and tags that arrive from outside and join their list by themselves.

A row stores an option's code. New rows may take only an active option; a row that holds a
disabled one keeps it and keeps reading with its label.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func
from sqlmodel import Session, col, select

from crm_core.models import Lead, LeadTag, MetadataOption, Opportunity
from crm_core.platform import audit
from crm_core.platform.actor import Actor
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n.markers import N_
from crm_core.platform.metadata import (
    CODE_LENGTHS,
    LABEL_LENGTH,
    find_option,
    fold,
    list_options,
    option_label,
    snapshot,
)

INTENTION_NOT_CHOOSABLE = N_("“{level}” is not an active intention level.")
NOT_CHOOSABLE = N_("“{value}” is not in its list, or is disabled there.")

# Where each list's codes are stored, for the usage counts (one GROUP BY each). Follow-up
# results are left out: counting them reads the whole follow-up table.
USAGE_COLUMNS = {
    "channel": Lead.channel,
    "campaign": Lead.campaign,
    "intention_level": Opportunity.intention_level,
    "lost_reason": Opportunity.lost_reason,
    "tag": LeadTag.tag,
    "stage": Opportunity.stage,
}


def option_codes(session: Session, category: str, *, active_only: bool = True) -> list[str]:
    """The codes of a list in display order: the active ones to choose from, or every one
    (active or not) to filter over history."""
    return [o.code for o in list_options(session, category, active_only=active_only)]


def option_labels(session: Session, category: str, language: str) -> dict[str, str]:
    """Code -> label in `language` of every option of a list, disabled ones included, so a
    stored value always reads with its words."""
    return {
        o.code: option_label(o, language)
        for o in list_options(session, category, active_only=False)
    }


def require_choosable(session: Session, category: str, value: str) -> str:
    """The code of the active option that `value` names (code or label, any case); refuse a
    value that is not in the list or whose option is disabled."""
    option = find_option(session, category, value, active_only=True)
    if option is None:
        raise ValidationError(NOT_CHOOSABLE, value=value)
    return option.code


def require_intention_level(session: Session, level: str) -> str:
    """`level` when it is an active intention level of the list (codes are one letter, as
    the opportunity stores them); refused otherwise."""
    if level not in option_codes(session, "intention_level"):
        raise ValidationError(INTENTION_NOT_CHOOSABLE, level=level)
    return level


def usage_counts(session: Session, category: str) -> dict[str, int]:
    """Code -> how many rows hold it (leads for channels, campaigns and tags; opportunities
    for intention levels, lost reasons and stages); empty for a list not counted."""
    column = USAGE_COLUMNS.get(category)
    if column is None:
        return {}
    rows = session.exec(select(column, func.count()).where(column.is_not(None)).group_by(column))
    return {code: int(n) for code, n in rows.all()}


def business_line_usage(session: Session) -> dict[int, int]:
    """Business line id -> how many opportunities it holds."""
    rows = session.exec(
        select(Opportunity.business_line_id, func.count()).group_by(Opportunity.business_line_id)
    )
    return {line_id: int(n) for line_id, n in rows.all()}


def canonical_codes(
    session: Session, category: str, texts: Iterable[str | None]
) -> tuple[dict[str, str], list[str]]:
    """How `texts` are stored: (folded text -> code of the option it names, active or not;
    the texts no option names, one spelling per folded text, first seen first).

    One read of the list for any number of texts, so a 200,000-row import pays it once."""
    by_word: dict[str, str] = {}
    for option in list_options(session, category, active_only=False):
        for word in (option.label_zh, option.label_en, option.code):
            by_word[fold(word)] = option.code
    known: dict[str, str] = {}
    unknown: dict[str, str] = {}
    for text in texts:
        word = fold(text or "")
        if not word:
            continue
        if word in by_word:
            known[word] = by_word[word]
        else:
            unknown.setdefault(word, " ".join(str(text).split()))
    return known, list(unknown.values())


def adopt_values(
    session: Session, actor: Actor, category: str, texts: Iterable[str], *, origin: str
) -> dict[str, str]:
    """Add the campaigns or tags that arrived from outside (a web form, an import) and are not
    in their list yet, each under its first spelling; return folded text -> code.

    The system adds them whoever brought them (no `manage_metadata` needed), so a lead is
    never refused for its campaign and reports group `Spring-2026` and `spring-2026`
    together; each addition is audited with the person who brought it and `origin`.
    Flushes."""
    if category not in ("campaign", "tag"):
        raise ValueError(category)
    known, unknown = canonical_codes(session, category, texts)
    if not unknown:
        return known
    last = session.exec(
        select(func.max(MetadataOption.sort_order)).where(
            MetadataOption.category == category, col(MetadataOption.business_line_id).is_(None)
        )
    ).one()
    added = []
    for order, text in enumerate(unknown, start=(last or 0) + 1):
        option = MetadataOption(
            category=category,
            code=text[: CODE_LENGTHS[category]].strip(),
            label_en=text[:LABEL_LENGTH],
            label_zh=text[:LABEL_LENGTH],
            sort_order=order,
        )
        session.add(option)
        added.append(option)
        known[fold(text)] = option.code
    session.flush()
    for option in added:
        after = {**snapshot(option), "origin": origin}
        audit.record(session, actor, "metadata.create", "metadata_option", option.id, None, after)
    return known


def catalogue_stored_values(session: Session) -> int:
    """Give each campaign and tag that stored leads hold but their list lacks an entry (for
    data written in bulk, as the demo company is); how many entries were added. Flushes."""
    added = 0
    for category, column in (("campaign", Lead.campaign), ("tag", LeadTag.tag)):
        stored = session.exec(select(column).where(column.is_not(None)).distinct()).all()
        _known, unknown = canonical_codes(session, category, stored)
        last = len(list_options(session, category, active_only=False))
        for order, text in enumerate(unknown, start=last + 1):
            session.add(
                MetadataOption(
                    category=category,
                    code=text[: CODE_LENGTHS[category]].strip(),
                    label_en=text[:LABEL_LENGTH],
                    label_zh=text[:LABEL_LENGTH],
                    sort_order=order,
                )
            )
        added += len(unknown)
    session.flush()
    return added
