"""Process configuration from environment variables (one typed ``Settings``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]

PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "dev-token"})


class Settings(BaseSettings):
    # hide_input_in_errors: a validation error must not echo the environment (it holds secrets)
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", case_sensitive=False, hide_input_in_errors=True
    )

    environment: Literal["development", "test", "production"] = "development"
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "json"

    database_url: str | None = None
    db_pool_size: int = 10
    db_max_overflow: int = 5
    db_pool_timeout: float = 30.0
    db_echo: bool = False

    workspace_root: Path = PROJECT_ROOT / "workspace"
    channel_configs_dir: Path = PROJECT_ROOT / "channel_configs"

    api_token: SecretStr | None = None
    fernet_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)

    port: int = 8000
    host: str = "127.0.0.1"
    # Request bodies over these sizes get 413 before they are read (webhooks carry small JSON).
    max_request_body_bytes: int = Field(default=1024 * 1024, ge=1)
    max_webhook_body_bytes: int = Field(default=256 * 1024, ge=1)
    # A scene's own clip or narration (POST /api/v1/tasks/{id}/media) is larger than any JSON body.
    max_media_upload_bytes: int = Field(default=512 * 1024 * 1024, ge=1)

    notion_api_token: SecretStr | None = None
    notion_webhook_secret: SecretStr | None = None
    gemini_api_key: SecretStr | None = None
    openai_api_key: SecretStr | None = None  # optional: a local OpenAI-compatible server needs none
    kie_api_key: SecretStr | None = None
    elevenlabs_api_key: SecretStr | None = None
    pexels_api_key: SecretStr | None = None
    pixabay_api_key: SecretStr | None = None
    youtube_client_id: str | None = None
    youtube_client_secret: SecretStr | None = None
    discord_webhook_url: SecretStr | None = None
    # Where people reach this deployment (https://vidgen.example.com): links in alerts.
    public_base_url: str | None = None

    # Fault injection (app/core/faults.py): ``step:item`` pairs whose first attempt a worker
    # holds forever, after writing a marker into the pause dir, so a crash drill can SIGKILL it
    # at that exact point. Off by default; refused in production.
    vidgen_fault_pause_at: str = ""
    vidgen_fault_pause_dir: Path = Path(".")

    notion_base_url: str = "https://api.notion.com/v1"
    notion_version: str = "2025-09-03"
    notion_poll_interval_seconds: float = Field(default=60.0, gt=0)
    notion_rate_per_second: float = Field(default=3.0, gt=0)
    gemini_base_url: str = "https://generativelanguage.googleapis.com"
    openai_base_url: str = "https://api.openai.com/v1"  # or OpenRouter, DeepSeek, Groq, Ollama...
    llm_retry_base_s: float = Field(default=1.0, gt=0)  # first backoff of a retried LLM call
    kie_base_url: str = "https://api.kie.ai/api/v1"
    catbox_upload_url: str = "https://catbox.moe/user/api.php"
    elevenlabs_base_url: str = "https://api.elevenlabs.io"
    pexels_base_url: str = "https://api.pexels.com"
    pixabay_base_url: str = "https://pixabay.com"
    youtube_base_url: str = "https://www.googleapis.com/youtube/v3"
    youtube_upload_base_url: str = "https://www.googleapis.com/upload/youtube/v3"
    youtube_analytics_base_url: str = "https://youtubeanalytics.googleapis.com/v2"
    google_token_url: str = "https://oauth2.googleapis.com/token"
    google_auth_url: str = "https://accounts.google.com/o/oauth2/v2/auth"

    # YouTube upload tuning and the per-channel daily quota ledger (costs default to the classic
    # table; e.g. YOUTUBE_QUOTA_COSTS='{"videos.insert": 1600}' overrides single entries).
    youtube_upload_chunk_bytes: int = Field(default=8 * 1024 * 1024, ge=256 * 1024)
    youtube_retry_base_s: float = Field(default=1.0, gt=0)
    youtube_reauth_park_s: float = Field(default=3600.0, gt=0)
    youtube_quota_daily_limit: int = Field(default=10_000, ge=1)
    youtube_quota_costs: dict[str, int] = Field(default_factory=dict)
    # The statistics collector (app/youtube/stats.py): how often the leader looks for due
    # fetches, and the units of each project's day it leaves to uploads (two uploads with
    # thumbnails by default), so statistics never crowd an upload out.
    youtube_stats_interval_s: float = Field(default=600.0, gt=0)
    youtube_upload_reserved_units: int = Field(default=3300, ge=0)

    # Artifact store (issue 9): "local" is the workspace (one machine, `vidgen up`); "s3" is any
    # S3-compatible bucket (R2, AWS S3, MinIO) that every process reaches, with a local cache each.
    artifact_store: Literal["local", "s3"] = "local"
    s3_endpoint_url: str | None = None
    s3_bucket: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_region: str = "auto"
    s3_multipart_threshold_bytes: int = Field(default=16 * 1024 * 1024, ge=5 * 1024 * 1024)
    artifact_cache_dir: Path | None = None  # default: WORKSPACE_ROOT/cache
    artifact_cache_max_bytes: int = Field(default=5 * 1024**3, ge=0)
    retention_days: float = Field(default=7, ge=0)
    retention_keep_final: bool = True
    retention_interval_s: float = Field(default=3600, gt=0)

    @model_validator(mode="after")
    def _s3_complete(self) -> Settings:
        """Name every missing variable at once, at start-up, not at the first upload."""
        if self.artifact_store == "s3":
            missing = [
                name
                for name, value in (
                    ("S3_BUCKET", self.s3_bucket),
                    ("S3_ACCESS_KEY_ID", self.s3_access_key_id),
                    ("S3_SECRET_ACCESS_KEY", self.s3_secret_access_key),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"ARTIFACT_STORE=s3 needs {', '.join(missing)} to be set")
        return self

    @property
    def cache_dir(self) -> Path:
        return (self.artifact_cache_dir or self.workspace_root / "cache").resolve()

    @field_validator("youtube_upload_chunk_bytes")
    @classmethod
    def _chunk_multiple(cls, value: int) -> int:
        """YouTube refuses a resumable chunk (other than the last) not a multiple of 256 KiB."""
        if value % (256 * 1024):
            raise ValueError("YOUTUBE_UPLOAD_CHUNK_BYTES must be a multiple of 262144 (256 KiB)")
        return value

    @field_validator("fernet_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        """``FERNET_KEYS`` is a comma-separated list, newest key first."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _normalise_dsn(cls, value: str | None) -> str | None:
        return normalise_database_url(value) if value else None

    @model_validator(mode="after")
    def _no_placeholders_in_production(self) -> Settings:
        if self.environment == "production":
            token = self.api_token.get_secret_value() if self.api_token else ""
            if token.lower() in PLACEHOLDER_SECRETS or len(token) < 16:
                raise ValueError("API_TOKEN must be set to a real secret (16+ chars) in production")
            if not self.fernet_keys:
                raise ValueError("FERNET_KEYS must be set in production")
            if self.vidgen_fault_pause_at:
                raise ValueError("VIDGEN_FAULT_PAUSE_AT is a crash drill: unset it in production")
        return self


def normalise_database_url(url: str) -> str:
    """Accept ``postgres://``, ``postgresql://`` and ``postgresql+asyncpg://``; return the asyncpg form."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("DATABASE_URL must start with postgresql:// or postgresql+asyncpg://")


def asyncpg_dsn(url: str) -> str:
    """The plain ``postgresql://`` form asyncpg and PgQueuer connect with."""
    return "postgresql://" + normalise_database_url(url)[len("postgresql+asyncpg://") :]


@lru_cache
def get_settings() -> Settings:
    return Settings()
