"""Fernet encryption of stored secrets, with key rotation through ``MultiFernet``.

``FERNET_KEYS`` lists keys newest first: the first encrypts, all of them decrypt, so a new key is
added in front, ``vidgen keys rotate`` re-encrypts every stored token, and only then is the old
key dropped. Without ``FERNET_KEYS`` a development machine gets a key file under the workspace
(created once, mode 0600); production refuses to start without real keys. Errors never contain
a token, a key or a plaintext, and every plaintext seen here is registered with the log redactor.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from app.core.config import Settings, get_settings
from app.core.logging import register_secret

DEV_KEY_FILENAME = ".fernet_key"


class EncryptionConfigError(RuntimeError):
    """The keys are missing or malformed; the message says which entry, never its value."""


class SecretDecryptionError(Exception):
    """A stored secret could not be decrypted with any configured key."""


def generate_key() -> str:
    return Fernet.generate_key().decode()


class SecretBox:
    """Encrypts with the first key, decrypts with any; one instance per key list."""

    def __init__(self, keys: Sequence[str], *, source: str = "FERNET_KEYS") -> None:
        if not keys:
            raise EncryptionConfigError(f"no Fernet keys in {source}")
        fernets = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.encode()))
            except (ValueError, TypeError):
                raise EncryptionConfigError(
                    f"{source} entry #{position} is not a valid Fernet key (32 url-safe "
                    "base64-encoded bytes); make one with `vidgen keys generate`"
                ) from None
        self._primary = fernets[0]
        self._multi = MultiFernet(fernets)

    def encrypt(self, plaintext: str) -> str:
        register_secret(plaintext)
        return self._multi.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            plaintext = self._multi.decrypt(token.encode()).decode()
        except (InvalidToken, UnicodeError):
            raise SecretDecryptionError(
                "a stored secret could not be decrypted: it was encrypted with a key that is "
                "not in FERNET_KEYS, or it is damaged"
            ) from None
        register_secret(plaintext)
        return plaintext

    def rotate(self, token: str) -> str:
        """The same secret encrypted with the newest key (its original timestamp kept)."""
        try:
            return self._multi.rotate(token.encode()).decode()
        except InvalidToken:
            raise SecretDecryptionError(
                "a stored secret could not be re-encrypted: no key in FERNET_KEYS opens it"
            ) from None

    def uses_newest_key(self, token: str) -> bool:
        try:
            self._primary.decrypt(token.encode())
        except InvalidToken:
            return False
        return True


def _dev_key(workspace_root: Path) -> str:
    """Read the development key file, creating it atomically (mode 0600) the first time."""
    path = workspace_root / DEV_KEY_FILENAME
    if not path.exists():
        workspace_root.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f"{DEV_KEY_FILENAME}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(generate_key() + "\n")
            # link() fails if another process got there first: then its key wins, complete.
            os.link(temp, path)
        except FileExistsError:
            pass
        finally:
            temp.unlink(missing_ok=True)
    return path.read_text().strip()


def configured_keys(settings: Settings | None = None) -> list[str]:
    """``FERNET_KEYS`` (newest first), or the development key file outside production."""
    settings = settings or get_settings()
    if settings.fernet_keys:
        return [key.get_secret_value() for key in settings.fernet_keys]
    if settings.environment == "production":
        raise EncryptionConfigError(
            "FERNET_KEYS must be set in production (make a key with `vidgen keys generate`)"
        )
    return [_dev_key(settings.workspace_root)]


@lru_cache(maxsize=4)
def _box_for(keys: tuple[str, ...], source: str) -> SecretBox:
    return SecretBox(keys, source=source)


def secret_box(settings: Settings | None = None) -> SecretBox:
    """The box for the current settings (cached per key list, so rotation takes effect)."""
    settings = settings or get_settings()
    source = (
        "FERNET_KEYS" if settings.fernet_keys else str(settings.workspace_root / DEV_KEY_FILENAME)
    )
    return _box_for(tuple(configured_keys(settings)), source)


def encrypt(plaintext: str) -> str:
    return secret_box().encrypt(plaintext)


def decrypt(token: str) -> str:
    """Raises ``SecretDecryptionError`` (message free of token and key) when no key fits."""
    return secret_box().decrypt(token)


def rotate(token: str) -> str:
    return secret_box().rotate(token)
