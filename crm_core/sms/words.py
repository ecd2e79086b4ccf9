"""The sensitive-word list (敏感词): a word on it blocks an SMS, and flags a note or a call
summary for quality inspection. Words compare case- and width-insensitively."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from crm_core.models import SensitiveWord
from crm_core.platform import audit, clock
from crm_core.platform.actor import Actor
from crm_core.platform.errors import NotFound, ValidationError
from crm_core.platform.i18n import N_
from crm_core.platform.metadata import fold
from crm_core.platform.permissions import Permission

MAX_WORD = 60


@dataclass(frozen=True)
class WordRow:
    id: int
    word: str
    created_at: datetime


def _require_reader(actor: Actor) -> None:
    if not (actor.can(Permission.MANAGE_SMS) or actor.can(Permission.QA_INSPECT)):
        actor.require(Permission.MANAGE_SMS)


def list_words(session: Session, actor: Actor) -> list[WordRow]:
    """Every word on the list, alphabetically (SMS managers and QA inspectors)."""
    _require_reader(actor)
    rows = session.exec(select(SensitiveWord).order_by(SensitiveWord.word_key)).all()
    return [WordRow(w.id, w.word, w.created_at) for w in rows]


def add_words(session: Session, actor: Actor, text: str) -> list[str]:
    """Add the words of `text` (one per line, or separated by commas); return those that were
    new. A word already on the list, in any case or width, is not added twice."""
    actor.require(Permission.MANAGE_SMS)
    wanted: dict[str, str] = {}
    for part in text.replace("，", ",").replace(",", "\n").splitlines():
        word = " ".join(part.split())
        if not word:
            continue
        if len(word) > MAX_WORD:
            raise ValidationError(
                N_("“{word}” is longer than {limit} characters."), word=word[:20], limit=MAX_WORD
            )
        wanted.setdefault(fold(word), word)
    if not wanted:
        raise ValidationError(N_("Type at least one word."))
    known = set(
        session.exec(
            select(SensitiveWord.word_key).where(col(SensitiveWord.word_key).in_(list(wanted)))
        ).all()
    )
    added = [word for key, word in wanted.items() if key not in known]
    for key, word in wanted.items():
        if key not in known:
            session.add(
                SensitiveWord(
                    word=word, word_key=key, created_by_id=actor.user_id, created_at=clock.now()
                )
            )
    if added:
        audit.record(session, actor, "sensitive_word.add", "sensitive_word", None, None, added)
    session.flush()
    return added


def remove_word(session: Session, actor: Actor, word_id: int) -> None:
    """Take a word off the list (audited)."""
    actor.require(Permission.MANAGE_SMS)
    row = session.get(SensitiveWord, word_id)
    if row is None:
        raise NotFound(entity="sensitive_word", id=word_id)
    audit.record(session, actor, "sensitive_word.remove", "sensitive_word", word_id, row.word)
    session.delete(row)
    session.flush()


def word_keys(session: Session) -> dict[str, str]:
    """Folded word -> the word as listed, read once for a batch of texts."""
    return dict(session.exec(select(SensitiveWord.word_key, SensitiveWord.word)).all())


def words_in(text: str, words: dict[str, str]) -> list[str]:
    """The listed words that occur in `text` (case- and width-insensitive), as listed."""
    folded = fold(text)
    return sorted(word for key, word in words.items() if key in folded)


def find_words(session: Session, texts: Iterable[str]) -> list[str]:
    """The listed words found in any of `texts`."""
    words = word_keys(session)
    found: set[str] = set()
    for text in texts:
        found.update(words_in(text or "", words))
    return sorted(found)
