"""How a history file's values read onto the company's lists: one small function per
column (channel, stage, lost reason), each answering a code or refusing the value with
its reason, and what stages a row's own data proves it reached.

Each resolver reads the option list once and remembers each distinct value, so a file of
many rows costs one lookup per distinct word.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session

from crm_core.imports.leads.columns import word
from crm_core.models import DEFAULT_STAGES, OPEN_STAGES
from crm_core.platform.i18n import N_, NC_
from crm_core.platform.metadata import find_option
from crm_core.sales.stages import funnel_rank


class Unreadable(ValueError):
    """A value that is no option of its list: the reason (a message) and its fields."""

    def __init__(self, message: str, /, **params: object) -> None:
        super().__init__(message)
        self.reason, self.params = message, params


def _remembered(read: Callable[[str], str]) -> Callable[[str], str]:
    seen: dict[str, str | Unreadable] = {}

    def resolve(text: str) -> str:
        if text not in seen:
            try:
                seen[text] = read(text)
            except Unreadable as refusal:
                seen[text] = refusal
        found = seen[text]
        if isinstance(found, Unreadable):
            raise found
        return found

    return resolve


def channel_resolver(session: Session) -> Callable[[str], str]:
    """A file's channel word -> the channel's code (code or either label, any case or
    width); an unknown word is refused. A disabled channel still reads: history keeps it."""

    def read(text: str) -> str:
        option = find_option(session, "channel", text)
        if option is None:
            raise Unreadable(N_("Unknown or disabled channel {channel}."), channel=text)
        return option.code

    return _remembered(read)


def stage_resolver(session: Session, stage_map: dict[str, str]) -> Callable[[str], str]:
    """A file's stage word -> our stage: the importer's stage map first (the source's own
    words), then the stage list's codes and labels; anything else is refused."""
    mapped = {word(k): v for k, v in stage_map.items()}

    def read(text: str) -> str:
        stage = mapped.get(word(text))
        if stage is None:
            option = find_option(session, "stage", text)
            stage = option.code if option is not None else None
        if stage not in DEFAULT_STAGES:
            raise Unreadable(NC_("history_import.error", "Unknown stage: {stage}."), stage=text)
        return stage

    return _remembered(read)


def lost_reason_resolver(session: Session) -> Callable[[str], str]:
    """A file's lost reason -> the lost reason's code; an unknown one is refused."""

    def read(text: str) -> str:
        option = find_option(session, "lost_reason", text)
        if option is None:
            raise Unreadable(N_("Unknown lost reason {reason}."), reason=text)
        return option.code

    return _remembered(read)


def proven_stage(stage: str, stage_before: str | None, qualified: bool) -> str:
    """The furthest open stage a row's own data proves: an open row its stage; a closed
    row the stage it was at before closing (when the file says), or `qualified` when the
    file names who qualified it, or `new`. A won row never gains trial stages it did not
    have: its win is counted from its stage, not from here."""
    if stage in OPEN_STAGES:
        return stage
    proven = "new"
    if stage_before in OPEN_STAGES:
        proven = stage_before
    if qualified and funnel_rank("qualified") > funnel_rank(proven):
        proven = "qualified"
    return proven
