"""Bring a database to the newest schema: `python -m db.migrate [URL]`."""

from __future__ import annotations

import sys

from alembic import command
from alembic.config import Config

from db.engine import PROJECT_ROOT, database_url


def alembic_config(url: str | None = None) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["url"] = url or database_url()
    config.attributes["configure_logger"] = False
    return config


def upgrade_to_head(url: str | None = None) -> None:
    """Run every migration not yet applied."""
    command.upgrade(alembic_config(url), "head")


def downgrade_to_base(url: str | None = None) -> None:
    """Undo every migration (used by the migration tests)."""
    command.downgrade(alembic_config(url), "base")


if __name__ == "__main__":
    upgrade_to_head(sys.argv[1] if len(sys.argv) > 1 else None)
    print("database is at the newest schema")
