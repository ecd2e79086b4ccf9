"""Credentials kept encrypted in the database (a provider's API secret): Fernet with the key
in `CRM_SECRET_KEY`, or a random key made once in the (git-ignored) data folder. Every
process of one deployment must share the key (docs/deploy.md); a secret is never shown
again once stored, only replaced."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from crm_core.platform.database import DATA_DIR
from crm_core.platform.errors import ValidationError
from crm_core.platform.i18n import N_


def _key() -> bytes:
    key = os.environ.get("CRM_SECRET_KEY", "").strip()
    if key:
        return key.encode()
    folder = Path(os.environ.get("CRM_DATA_DIR") or DATA_DIR)
    path = folder / "secret_key"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(Fernet.generate_key())
    return path.read_bytes().strip()


def encrypt(text: str) -> str:
    """`text` encrypted with the deployment's key."""
    return Fernet(_key()).encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    """The text of `token`; ValidationError when the key changed since it was stored."""
    try:
        return Fernet(_key()).decrypt(token.encode()).decode()
    except (InvalidToken, ValueError) as exc:
        raise ValidationError(
            N_("A stored secret cannot be read with this deployment's key: enter it again.")
        ) from exc
