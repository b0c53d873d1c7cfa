"""Fernet secrets: round trip, key rotation, safe errors, the dev key file, stored credentials."""

from __future__ import annotations

import stat
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.channels.credentials import (
    credential_status,
    get_credential,
    mark_needs_reauth,
    reencrypt_all,
    set_credential,
)
from app.core import encryption
from app.core.config import Settings
from app.core.encryption import (
    DEV_KEY_FILENAME,
    EncryptionConfigError,
    SecretBox,
    SecretDecryptionError,
    _dev_key,
    configured_keys,
    generate_key,
)
from app.core.logging import redact_text
from app.models import Channel, ChannelCredential

SECRET = "sk_live_0123456789abcdefSECRET"


@pytest.fixture
def use_keys(monkeypatch: pytest.MonkeyPatch, clear_settings_cache: None) -> Callable[..., None]:
    """Set FERNET_KEYS (newest first) for code that reads the settings."""

    def apply(*keys: str) -> None:
        monkeypatch.setenv("FERNET_KEYS", ",".join(keys))
        from app.core.config import get_settings

        get_settings.cache_clear()

    return apply


def test_round_trip_and_token_hides_plaintext() -> None:
    box = SecretBox([generate_key()])
    token = box.encrypt(SECRET)
    assert SECRET not in token
    assert token.startswith("gAAAAA")
    assert box.decrypt(token) == SECRET
    assert box.encrypt(SECRET) != token  # fresh IV every time


def test_rotation_keeps_old_tokens_readable_then_moves_them_to_new_key() -> None:
    old, new = generate_key(), generate_key()
    token = SecretBox([old]).encrypt(SECRET)

    both = SecretBox([new, old])
    assert both.decrypt(token) == SECRET
    assert not both.uses_newest_key(token)

    rotated = both.rotate(token)
    assert rotated != token
    assert both.uses_newest_key(rotated)

    only_new = SecretBox([new])
    assert only_new.decrypt(rotated) == SECRET
    with pytest.raises(SecretDecryptionError):
        only_new.decrypt(token)


def test_wrong_key_error_leaks_nothing() -> None:
    key, other = generate_key(), generate_key()
    token = SecretBox([key]).encrypt(SECRET)
    with pytest.raises(SecretDecryptionError) as info:
        SecretBox([other]).decrypt(token)
    text = str(info.value)
    for leak in (token, key, other, SECRET):
        assert leak not in text
    assert info.value.__cause__ is None and info.value.__suppress_context__
    with pytest.raises(SecretDecryptionError) as info:
        SecretBox([other]).rotate(token)
    assert token not in str(info.value)


def test_damaged_token_is_a_decryption_error() -> None:
    box = SecretBox([generate_key()])
    token = box.encrypt(SECRET)
    with pytest.raises(SecretDecryptionError):
        box.decrypt(token[:-4] + "AAAA")
    with pytest.raises(SecretDecryptionError):
        box.decrypt("not a token")


def test_malformed_key_names_its_position_not_its_value() -> None:
    good, bad = generate_key(), "tooshort-but-secretish-value"
    with pytest.raises(EncryptionConfigError) as info:
        SecretBox([good, bad])
    assert "entry #2" in str(info.value)
    assert bad not in str(info.value) and good not in str(info.value)


def test_module_functions_follow_fernet_keys(use_keys: Callable[..., None]) -> None:
    old, new = generate_key(), generate_key()
    use_keys(old)
    token = encryption.encrypt(SECRET)
    use_keys(new, old)
    assert encryption.decrypt(token) == SECRET
    rotated = encryption.rotate(token)
    use_keys(new)
    assert encryption.decrypt(rotated) == SECRET
    with pytest.raises(SecretDecryptionError):
        encryption.decrypt(token)


def test_decrypted_secrets_are_redacted_from_logs() -> None:
    secret = f"plain-{uuid.uuid4().hex}"  # matches no built-in pattern
    assert secret in redact_text(f"calling with {secret}")
    key = generate_key()
    token = Fernet(key.encode()).encrypt(secret.encode()).decode()  # made without our module
    assert SecretBox([key]).decrypt(token) == secret
    assert redact_text(f"calling with {secret}") == "calling with [REDACTED]"


def test_dev_key_file_created_once_with_0600(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FERNET_KEYS", raising=False)
    settings = Settings(_env_file=None, environment="development", workspace_root=tmp_path)
    assert settings.fernet_keys == []
    first = configured_keys(settings)
    path = tmp_path / DEV_KEY_FILENAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert configured_keys(settings) == first
    assert SecretBox(first).decrypt(SecretBox(first).encrypt(SECRET)) == SECRET
    assert [p.name for p in tmp_path.iterdir()] == [DEV_KEY_FILENAME]  # no temp files left


def test_dev_key_file_race_yields_one_key(tmp_path: Path) -> None:
    """Processes starting together all end up with the same key (threads race the same way)."""
    workers = 8
    barrier = threading.Barrier(workers)

    def start() -> str:
        barrier.wait()
        return _dev_key(tmp_path / "ws")

    with ThreadPoolExecutor(workers) as pool:
        keys = set(pool.map(lambda _: start(), range(workers)))
    assert keys == {(tmp_path / "ws" / DEV_KEY_FILENAME).read_text().strip()}
    assert [p.name for p in (tmp_path / "ws").iterdir()] == [DEV_KEY_FILENAME]


def test_production_without_keys_is_refused(tmp_path: Path) -> None:
    settings = Settings.model_construct(
        environment="production", fernet_keys=[], workspace_root=tmp_path
    )
    with pytest.raises(EncryptionConfigError, match="FERNET_KEYS must be set in production"):
        configured_keys(settings)
    assert not (tmp_path / DEV_KEY_FILENAME).exists()


async def _channel(session: AsyncSession, slug: str) -> uuid.UUID:
    channel = Channel(slug=slug, name=slug.title())
    session.add(channel)
    await session.commit()
    return channel.id


async def test_credentials_are_stored_encrypted(
    db_session: AsyncSession, use_keys: Callable[..., None]
) -> None:
    use_keys(generate_key())
    channel_id = await _channel(db_session, "one")
    assert await get_credential(db_session, channel_id, "elevenlabs") is None

    await set_credential(db_session, channel_id, "elevenlabs", SECRET, {"plan": "creator"})
    await db_session.commit()
    stored = (await db_session.scalars(select(ChannelCredential))).one()
    assert SECRET not in stored.secret_encrypted
    assert await get_credential(db_session, channel_id, "elevenlabs") == SECRET

    await mark_needs_reauth(db_session, channel_id, "elevenlabs")
    await set_credential(db_session, channel_id, "elevenlabs", SECRET + "-v2")
    await db_session.commit()
    db_session.expunge_all()
    rows = (await db_session.scalars(select(ChannelCredential))).all()
    assert len(rows) == 1
    assert rows[0].meta == {"plan": "creator"}  # kept when not given
    assert rows[0].needs_reauth is False  # storing a new secret clears the flag
    assert await get_credential(db_session, channel_id, "elevenlabs") == SECRET + "-v2"

    with pytest.raises(ValueError, match="unknown credential provider 'kling'"):
        await set_credential(db_session, channel_id, "kling", SECRET)


async def test_credential_status_never_shows_the_secret(
    db_session: AsyncSession, use_keys: Callable[..., None]
) -> None:
    use_keys(generate_key())
    channel_id = await _channel(db_session, "two")
    await set_credential(db_session, channel_id, "youtube", SECRET)
    assert await mark_needs_reauth(db_session, channel_id, "youtube")
    assert not await mark_needs_reauth(db_session, channel_id, "gemini")
    await db_session.commit()

    status = await credential_status(db_session, channel_id)
    assert status["youtube"].present and status["youtube"].needs_reauth
    assert not status["gemini"].present and not status["gemini"].needs_reauth
    assert set(status) == {
        *("gemini", "openai", "kie", "pexels", "pixabay", "elevenlabs", "notion", "youtube")
    }
    assert SECRET not in repr(status)


async def test_reencrypt_all_moves_every_secret_to_the_new_key(
    db_session: AsyncSession, use_keys: Callable[..., None]
) -> None:
    old, new = generate_key(), generate_key()
    use_keys(old)
    first, second = await _channel(db_session, "a"), await _channel(db_session, "b")
    await set_credential(db_session, first, "gemini", SECRET + "-a")
    await set_credential(db_session, second, "kie", SECRET + "-b")
    await db_session.commit()

    use_keys(new, old)
    assert await reencrypt_all(db_session) == 2
    await db_session.commit()

    use_keys(new)  # old key retired
    assert await get_credential(db_session, first, "gemini") == SECRET + "-a"
    assert await get_credential(db_session, second, "kie") == SECRET + "-b"

    use_keys(generate_key())  # a key that opens nothing
    with pytest.raises(SecretDecryptionError) as info:
        await get_credential(db_session, first, "gemini")
    assert "gemini credential of channel" in str(info.value)
    with pytest.raises(SecretDecryptionError, match="nothing was re-encrypted"):
        await reencrypt_all(db_session)
