"""Campaigns and tags of a batch, stored under their list's spelling (元数据).

A campaign or tag the list knows (any case or width, code or label, active or disabled) is
stored as that option's code, so `Spring-2026` and `spring-2026` count as one campaign. One
the list does not know joins the list when the batch is written (`adopt_values`), so a lead
from an ad is never refused for its campaign's name; an administrator can rename, merge by
disabling, or disable it afterwards.
"""

from __future__ import annotations

from sqlmodel import Session

from crm_core.leads.intake.inputs import Clean
from crm_core.platform.actor import Actor
from crm_core.platform.metadata import CODE_LENGTHS, fold
from crm_core.platform.option_values import adopt_values, canonical_codes


def canonical_batch(session: Session, clean: list[Clean]) -> tuple[list[str], list[str]]:
    """Put the stored spelling of every campaign and tag into `clean` (in place); return the
    campaigns and tags no option names yet, for `adopt_batch`. Two reads, whatever the batch."""
    # In batch order: a new word keeps the spelling of its first row.
    campaigns = [c.values["campaign"] for c in clean if c.values.get("campaign") is not None]
    tags = [tag for c in clean for tag in c.tags]
    known_campaigns, new_campaigns = canonical_codes(session, "campaign", campaigns)
    known_tags, new_tags = canonical_codes(session, "tag", tags)
    # An unknown word is stored as the code it will get: its first spelling in the batch.
    for text in new_campaigns:
        known_campaigns[fold(text)] = text[: CODE_LENGTHS["campaign"]].strip()
    for text in new_tags:
        known_tags[fold(text)] = text[: CODE_LENGTHS["tag"]].strip()
    for item in clean:
        campaign = item.values.get("campaign")
        if campaign is not None:
            item.values["campaign"] = known_campaigns[fold(campaign)]
        if item.tags:
            item.tags = list(dict.fromkeys(known_tags[fold(tag)] for tag in item.tags))
    return new_campaigns, new_tags


def adopt_batch(
    session: Session, actor: Actor, campaigns: list[str], tags: list[str], source: str
) -> None:
    """Add the batch's new campaigns and tags to their lists (audited, origin: the entrance)."""
    if campaigns:
        adopt_values(session, actor, "campaign", campaigns, origin=source)
    if tags:
        adopt_values(session, actor, "tag", tags, origin=source)
