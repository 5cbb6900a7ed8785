"""Keys derived from one master secret, so each purpose gets its own key and rotation is one variable.

Production sets `PORTAL_SECRET_KEY`. Development keeps a random master in the data directory, so keys survive
restarts (session cookies, hashed authorization codes) without anyone having to configure one.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from kit.config import Settings


def master_key(settings: Settings) -> bytes:
    if settings.secret_key:
        return settings.secret_key.encode()
    path = Path(settings.data_dir) / "secret.key"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32).encode()
        # O_EXCL: when two processes start at once, the second reads what the first wrote
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes()
        with os.fdopen(fd, "wb") as f:
            f.write(key)
        return key


def derive(settings: Settings, purpose: str) -> bytes:
    return hmac.new(master_key(settings), purpose.encode(), hashlib.sha256).digest()
