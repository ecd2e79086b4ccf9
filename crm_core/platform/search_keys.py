"""Keys that make searches index lookups (a lead's name key), and the one way a search
matches part of a text with LIKE: the person's text taken literally, `%` and `_` included.

Every LIKE built from what someone typed goes through `contains`, `starts_with` or
`ends_with`; a LIKE over stored org paths (`/1/4/`, digits and slashes) needs none.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.sql.elements import ColumnElement

from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_

# The highest code point: every string that starts with a prefix p sorts between p and
# p + _TOP in byte order (UTF-8 keeps code point order).
_TOP = "\U0010ffff"


def name_key(name: str | None) -> str:
    """The name as searched: case-folded, inner whitespace collapsed to one space."""
    return " ".join((name or "").split()).casefold()


def prefix_range(prefix: str) -> tuple[str, str]:
    """(low, high) such that `low <= key < high` holds exactly for keys starting with `prefix`."""
    return prefix, prefix + _TOP


# --- Searches that match part of a text with LIKE -----------------------------------------

# The longest search text a search box takes: the longest searched columns (names,
# campaigns) hold 120 characters, so a longer text could never match. SQLite also refuses
# LIKE patterns past 50,000 bytes, which a pasted page of text would reach.
SEARCH_MAX_CHARS = 120
# The LIKE escape character (SQLAlchemy's own `autoescape` uses it too): unlike a backslash
# it means the same to SQLite and to PostgreSQL whatever `standard_conforming_strings` says.
LIKE_ESCAPE = "/"


def search_text(text: str | None) -> str | None:
    """What a person typed into a search box, ready to search: NUL characters (which
    PostgreSQL cannot compare) dropped, blanks around it stripped; None for nothing.

    Raise ValidationError `security.search_too_long` past `SEARCH_MAX_CHARS` characters.
    """
    cleaned = (text or "").replace("\x00", "").strip()
    if not cleaned:
        return None
    if len(cleaned) > SEARCH_MAX_CHARS:
        raise ValidationError(
            N_("The search is too long: at most {maximum} characters."), maximum=SEARCH_MAX_CHARS
        )
    return cleaned


def like_literal(text: str) -> str:
    """`text` as a LIKE pattern that matches exactly itself: `%` and `_` (and the escape
    character) lose their wildcard meaning. Use with `escape=LIKE_ESCAPE`."""
    return (
        text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", f"{LIKE_ESCAPE}%")
        .replace("_", f"{LIKE_ESCAPE}_")
    )


def contains(column: Any, text: str) -> ColumnElement[bool]:
    """`column` contains `text` literally, case ignored (on SQLite for ASCII letters)."""
    return column.ilike(f"%{like_literal(text)}%", escape=LIKE_ESCAPE)


def starts_with(column: Any, text: str) -> ColumnElement[bool]:
    """`column` starts with `text` literally, case ignored (on SQLite for ASCII letters)."""
    return column.ilike(f"{like_literal(text)}%", escape=LIKE_ESCAPE)


def ends_with(column: Any, text: str) -> ColumnElement[bool]:
    """`column` ends with `text` literally (digits of a phone, say), case as typed."""
    return column.like(f"%{like_literal(text)}", escape=LIKE_ESCAPE)
