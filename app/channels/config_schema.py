"""The shape of ``channel_configs/*.yaml``: one pydantic model per section, unknown keys refused.

Every model forbids extra keys so a typo (``modle:``) is an error instead of a silently ignored
setting. Provider sections live in ``channel_config_providers``; loading, file names and error
messages in ``channel_config``, which re-exports these models.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, StringConstraints, ValidationInfo, field_validator, model_validator

from app.channels.config_providers import Fraction, Providers, StrictModel, Text
from app.models import PIPELINE_ORDER, PipelineStep

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
PLACEHOLDER_RE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
TEMPLATE_FIELDS = ("title", "topic", "channel_name", "date")
FRAME_SIZES: dict[str, tuple[int, int]] = {"16:9": (1920, 1080), "9:16": (1080, 1920)}
DEFAULT_REVIEW_GATES: tuple[PipelineStep, ...] = (
    PipelineStep.PLAN,
    PipelineStep.ASSETS,
    PipelineStep.VIDEOS,
    PipelineStep.SOUND_EFFECTS,
    PipelineStep.ASSEMBLY,
)
YOUTUBE_TITLE_MAX = 100
YOUTUBE_DESCRIPTION_MAX_BYTES = 5000
YOUTUBE_TAGS_MAX_CHARS = 500

HexColour = Annotated[str, StringConstraints(pattern=r"^#[0-9A-Fa-f]{6}$")]


class NotionSettings(StrictModel):
    database_id: str | None = None

    @field_validator("database_id")
    @classmethod
    def _uuid_form(cls, value: str | None) -> str | None:
        """Notion shows ids with or without hyphens; store the hyphenated form its API returns."""
        if value is None:
            return None
        digits = value.replace("-", "").lower()
        if not re.fullmatch(r"[0-9a-f]{32}", digits):
            raise ValueError(
                "expected the 32-hex-digit id from the database's URL "
                "(notion.so/<workspace>/<THIS-PART>?v=...)"
            )
        return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


class Frame(StrictModel):
    aspect_ratio: Literal["16:9", "9:16"] = "16:9"

    @property
    def width(self) -> int:
        return FRAME_SIZES[self.aspect_ratio][0]

    @property
    def height(self) -> int:
        return FRAME_SIZES[self.aspect_ratio][1]

    @property
    def size(self) -> str:
        """``WIDTHxHEIGHT``, the form the scripts' ``--size`` takes."""
        return f"{self.width}x{self.height}"


class Budget(StrictModel):
    """Spending caps; ``None`` means no cap. Offline providers cost nothing."""

    per_video_usd: Annotated[Decimal, Field(gt=0, le=10_000)] | None = None
    per_day_usd: Annotated[Decimal, Field(gt=0, le=100_000)] | None = None

    @model_validator(mode="after")
    def _video_within_day(self) -> Budget:
        if self.per_video_usd and self.per_day_usd and self.per_video_usd > self.per_day_usd:
            raise ValueError("per_video_usd is larger than per_day_usd: raise the daily cap")
        return self


def template_placeholders(template: str) -> list[str]:
    return PLACEHOLDER_RE.findall(template)


def render_template(template: str, values: dict[str, str]) -> str:
    """Fill ``{{ name }}`` placeholders; unknown names were refused when the config loaded."""
    return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), ""), template)


def _check_template(value: str, *, max_literal: int, label: str) -> str:
    unknown = sorted({n for n in template_placeholders(value) if n not in TEMPLATE_FIELDS})
    if unknown:
        raise ValueError(
            f"unknown placeholder {{{{ {unknown[0]} }}}}; use one of "
            + ", ".join(f"{{{{ {n} }}}}" for n in TEMPLATE_FIELDS)
        )
    literal = PLACEHOLDER_RE.sub("", value)
    if "{{" in literal or "}}" in literal:
        raise ValueError("unbalanced '{{' or '}}': placeholders look like {{ title }}")
    if "<" in literal or ">" in literal:
        raise ValueError(f"YouTube refuses '<' and '>' in a {label}")
    if len(literal.encode()) > max_literal:
        raise ValueError(
            f"the {label} template's fixed text is {len(literal.encode())} bytes; "
            f"YouTube allows {max_literal} in total"
        )
    return value


class PublishSchedule(StrictModel):
    """Upload as private and let YouTube publish at the next ``time`` in ``timezone``."""

    time: dt.time
    timezone: str = "UTC"
    min_delay_minutes: int = Field(default=60, ge=0, le=10_080)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}: use an IANA name such as UTC or Europe/London"
            ) from None
        return value

    def next_publish_at(self, after: dt.datetime) -> dt.datetime:
        """The first scheduled time at least ``min_delay_minutes`` after ``after`` (aware)."""
        zone = ZoneInfo(self.timezone)
        earliest = after.astimezone(zone) + dt.timedelta(minutes=self.min_delay_minutes)
        candidate = dt.datetime.combine(earliest.date(), self.time, tzinfo=zone)
        if candidate < earliest:
            candidate = dt.datetime.combine(
                earliest.date() + dt.timedelta(days=1), self.time, tzinfo=zone
            )
        return candidate


class Thumbnail(StrictModel):
    """The custom thumbnail: a frame of the final video (default a third of the way in), or one
    of the plan's assets by name. YouTube takes it only from verified channels; a refusal is
    logged and the upload still counts."""

    enabled: bool = True
    frame_at_s: float | None = Field(default=None, ge=0)
    asset: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Thumbnail:
        if self.frame_at_s is not None and self.asset is not None:
            raise ValueError("give frame_at_s or asset, not both")
        return self


EnvVarName = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{0,127}$")]


class YouTubeOAuthClient(StrictModel):
    """The channel's own Google Cloud OAuth client, hence its own daily quota. Only the names of
    the environment variables holding its id and secret live here, never the values."""

    client_id_env: EnvVarName
    client_secret_env: EnvVarName


class YouTubeDefaults(StrictModel):
    privacy: Literal["public", "unlisted", "private"] = "private"
    category_id: str = "22"
    # What the narration speaks and the title is written in: the video's default language and
    # audio language, and the caption track's language (BCP-47, as YouTube takes it).
    language: str = "en"
    made_for_kids: bool = False
    contains_synthetic_media: bool = True
    tags: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]] = Field(
        default_factory=list
    )
    title_template: str = "{{ title }}"
    description_template: str = "{{ title }}"
    publish_at: PublishSchedule | None = None
    thumbnail: Thumbnail = Field(default_factory=Thumbnail)
    # None: the fleet's YOUTUBE_CLIENT_ID/YOUTUBE_CLIENT_SECRET (and the fleet's shared quota).
    oauth_client: YouTubeOAuthClient | None = None

    @field_validator("category_id", mode="before")
    @classmethod
    def _category(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and not re.fullmatch(r"\d{1,3}", value):
            raise ValueError(f"{value!r} is not a YouTube category number (22 = People & Blogs)")
        return value

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*", value):
            raise ValueError(
                f"{value!r} is not a language code; use a BCP-47 code such as en, de, pt-BR"
            )
        return value

    @field_validator("tags")
    @classmethod
    def _tags_fit(cls, value: list[str]) -> list[str]:
        bad = [t for t in value if "<" in t or ">" in t]
        if bad:
            raise ValueError(f"tag {bad[0]!r} contains '<' or '>', which YouTube refuses")
        total = sum(len(t) + (2 if " " in t else 0) for t in value) + max(len(value) - 1, 0)
        if total > YOUTUBE_TAGS_MAX_CHARS:
            raise ValueError(f"tags add up to {total} characters; YouTube allows 500")
        return value

    @field_validator("title_template")
    @classmethod
    def _title(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("title template is empty; use at least {{ title }}")
        return _check_template(value, max_literal=YOUTUBE_TITLE_MAX, label="title")

    @field_validator("description_template")
    @classmethod
    def _description(cls, value: str) -> str:
        return _check_template(
            value, max_literal=YOUTUBE_DESCRIPTION_MAX_BYTES, label="description"
        )

    @model_validator(mode="after")
    def _schedule_needs_private(self) -> YouTubeDefaults:
        if self.publish_at is not None and self.privacy != "private":
            raise ValueError(
                "publish_at needs privacy: private (YouTube only schedules private videos)"
            )
        return self


def _check_media(value: str, suffixes: tuple[str, ...]) -> str:
    if not value.strip():
        raise ValueError("path is empty")
    if not value.lower().endswith(suffixes):
        raise ValueError(f"expected a file ending in {', '.join(suffixes)}")
    return value


class Watermark(StrictModel):
    path: str
    position: Literal["top-left", "top-right", "bottom-left", "bottom-right"] = "bottom-right"
    opacity: Fraction = 0.8
    scale: float = Field(default=0.12, gt=0, le=0.5)

    @field_validator("path")
    @classmethod
    def _png(cls, value: str) -> str:
        return _check_media(value, (".png",))


class Music(StrictModel):
    path: str
    volume: Fraction = 0.15

    @field_validator("path")
    @classmethod
    def _audio(cls, value: str) -> str:
        return _check_media(value, (".mp3", ".wav", ".m4a", ".ogg", ".flac"))


class Captions(StrictModel):
    enabled: bool = False
    font_size: int = Field(default=48, ge=8, le=200)
    colour: HexColour = "#FFFFFF"
    outline_colour: HexColour = "#000000"
    outline: int = Field(default=3, ge=0, le=20)
    position: Literal["top", "middle", "bottom"] = "bottom"


class Branding(StrictModel):
    """Media paths are relative to ``WORKSPACE_ROOT`` unless absolute."""

    intro: str | None = None
    outro: str | None = None
    watermark: Watermark | None = None
    music: Music | None = None
    captions: Captions = Field(default_factory=Captions)

    @field_validator("intro", "outro")
    @classmethod
    def _clip(cls, value: str | None) -> str | None:
        return None if value is None else _check_media(value, (".mp4", ".mov", ".mkv", ".webm"))


class ProviderConcurrency(StrictModel):
    """Per-channel caps on calls in flight to each paid service (fleet limits still apply)."""

    gemini: int | None = Field(default=None, ge=1, le=50)
    kling: int | None = Field(default=None, ge=1, le=50)
    elevenlabs: int | None = Field(default=None, ge=1, le=50)


class ChannelConfig(StrictModel):
    slug: str
    name: Text
    active: bool = True
    priority: int = Field(default=0, ge=-1000, le=1000)
    max_concurrent: int = Field(default=1, ge=1, le=20)
    notion: NotionSettings = Field(default_factory=NotionSettings)
    providers: Providers
    frame: Frame = Field(default_factory=Frame)
    review_gates: list[PipelineStep] = Field(default_factory=lambda: list(DEFAULT_REVIEW_GATES))
    budget: Budget = Field(default_factory=Budget)
    youtube: YouTubeDefaults = Field(default_factory=YouTubeDefaults)
    branding: Branding = Field(default_factory=Branding)
    concurrency: ProviderConcurrency = Field(default_factory=ProviderConcurrency)

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str, info: ValidationInfo) -> str:
        if not SLUG_RE.fullmatch(value) or len(value) > 64:
            raise ValueError(
                f"{value!r} is not a slug: use lowercase letters, digits and single hyphens "
                "(e.g. deep-sea-tales), at most 64 characters"
            )
        stem = (info.context or {}).get("file_stem")
        if stem is not None and value != stem:
            raise ValueError(
                f"{value!r} must equal the file name {stem!r}: "
                f"rename the file to {value}.yaml or set slug: {stem}"
            )
        return value

    @field_validator("review_gates")
    @classmethod
    def _gates(cls, value: list[PipelineStep]) -> list[PipelineStep]:
        seen = [g for i, g in enumerate(value) if g in value[:i]]
        if seen:
            raise ValueError(f"gate {seen[0].value!r} is listed twice")
        if PipelineStep.UPLOAD in value:
            raise ValueError("a gate after upload holds nothing back: remove 'upload'")
        return sorted(value, key=PIPELINE_ORDER.index)

    def has_gate(self, step: PipelineStep) -> bool:
        return step in self.review_gates
