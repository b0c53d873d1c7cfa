"""Provider choices per pipeline step, with each provider's settings and prices.

A step accepts a shorthand (``video: kenburns``) or a mapping with the chosen ``provider`` plus a
settings block per provider of that step, so switching provider is one word and the other
provider's settings stay in place. Prices are what the cost ledger records per call; set them to
your plan's rates. Naming a paid provider is not checked against API keys here (the start-up
checks do that), since the same file is valid on a machine that has them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
Usd = Annotated[Decimal, Field(ge=0, le=10_000)]
Fraction = Annotated[float, Field(ge=0, le=1)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
HttpUrl = Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$", max_length=300)]


def is_local(url: str | None) -> bool:
    """A URL on this machine (a local model server, which needs no API key)."""
    return (urlsplit(url).hostname if url else None) in LOOPBACK_HOSTS


class StrictModel(BaseModel):
    """Base of every config section: unknown keys are errors; loaded configs are read-only."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _Step(StrictModel):
    """A pipeline step's provider choice; a bare string is shorthand for ``{provider: NAME}``."""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"provider": data} if isinstance(data, str) else data


class OpenAIServer(StrictModel):
    """What every ``openai`` block shares: the server. ``base_url`` defaults to ``OPENAI_BASE_URL``
    (ending in ``/v1``); the key is the channel's stored ``openai`` credential, else
    ``OPENAI_API_KEY``, and a server on this machine (Ollama, vLLM, Kokoro) needs none."""

    base_url: HttpUrl | None = None

    @property
    def local(self) -> bool:
        """A server on this machine, which needs no API key."""
        return is_local(self.base_url)


class GeminiImageSettings(StrictModel):
    model: Text = "gemini-3.1-flash-image"
    image_size: Literal["1K", "2K", "4K"] = "2K"
    cost_per_image_usd: Usd = Decimal("0.039")


class LocalImageSettings(StrictModel):
    seed: int | None = None


class OpenAIImageSettings(OpenAIServer):
    """``POST /images/generations`` on any OpenAI-compatible server. ``size`` is what the server is
    asked to draw (default from the asset's aspect: 1536x1024, 1024x1536, 1024x1024, the GPT image
    sizes; DALL-E 3 draws 1792x1024); the picture is then fitted to the frame. ``quality`` is
    low/medium/high/auto for GPT image models, standard/hd for DALL-E 3, and sets the price: the
    default is gpt-image-1 at medium quality and 1536x1024."""

    model: Text = "gpt-image-1"
    size: (
        Literal["auto", "1024x1024", "1536x1024", "1024x1536", "1792x1024", "1024x1792",
                "512x512", "256x256"] | None
    ) = None  # fmt: skip
    quality: Literal["auto", "low", "medium", "high", "standard", "hd"] | None = "medium"
    cost_per_image_usd: Usd = Decimal("0.063")


class ImageStep(_Step):
    provider: Literal["gemini", "openai", "local"]
    gemini: GeminiImageSettings = Field(default_factory=GeminiImageSettings)
    openai: OpenAIImageSettings = Field(default_factory=OpenAIImageSettings)
    local: LocalImageSettings = Field(default_factory=LocalImageSettings)


class KlingSettings(StrictModel):
    """KIE.ai Kling: the model and its extra ``input`` fields vary by model generation."""

    model: Text = "kling/v2-5-turbo-image-to-video-pro"
    image_field: Literal["image_url", "image_urls"] = "image_url"
    duration_s: int = Field(default=5, ge=1, le=15)
    input: dict[str, str | int | float | bool | list[str]] = Field(default_factory=dict)
    timeout_s: int = Field(default=1200, ge=60, le=7200)
    cost_per_second_usd: Usd = Decimal("0.042")

    @field_validator("input")
    @classmethod
    def _no_reserved_input(cls, value: dict[str, Any]) -> dict[str, Any]:
        reserved = {"prompt", "image_url", "image_urls", "duration"} & set(value)
        if reserved:
            names = ", ".join(sorted(reserved))
            raise ValueError(f"{names}: filled in per scene by the pipeline; remove from input")
        return value


class KenBurnsSettings(StrictModel):
    zoom: float = Field(default=1.15, ge=1.0, le=2.0)
    fps: int = Field(default=30, ge=12, le=60)


class StockSettings(StrictModel):
    """Pexels or Pixabay stock clips (free; credited in the description).

    ``reuse_window_videos``: a clip used in any of the channel's last N videos is not picked again
    (YouTube's "reused content" policy punishes repeats).
    """

    reuse_window_videos: int = Field(default=30, ge=0, le=10_000)


class VideoStep(_Step):
    """``fallback`` renders a scene from its still when a stock provider has no usable clip."""

    provider: Literal["kling", "kenburns", "pexels", "pixabay"]
    fallback: Literal["kenburns"] | None = "kenburns"
    kling: KlingSettings = Field(default_factory=KlingSettings)
    kenburns: KenBurnsSettings = Field(default_factory=KenBurnsSettings)
    pexels: StockSettings = Field(default_factory=StockSettings)
    pixabay: StockSettings = Field(default_factory=StockSettings)


class ElevenLabsVoiceSettings(StrictModel):
    voice_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{8,40}$")] = (
        "21m00Tcm4TlvDq8ikWAM"
    )
    model_id: Text = "eleven_multilingual_v2"
    stability: Fraction = 0.5
    similarity_boost: Fraction = 0.75
    style: Fraction = 0.0
    speed: float = Field(default=1.0, ge=0.7, le=1.2)
    use_speaker_boost: bool = True
    output_format: Text = "mp3_44100_128"
    cost_per_1k_chars_usd: Usd = Decimal("0.30")


class EspeakVoiceSettings(StrictModel):
    voice: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_+-]{2,40}$")] = "en-us"
    rate: int = Field(default=165, ge=80, le=450)
    pitch: int = Field(default=50, ge=0, le=99)


class HibariVoiceSettings(StrictModel):
    """The offline neural English voice; only the voice bundled in the wheel works without a network."""

    voice: Literal["heart"] = "heart"
    speed: float = Field(default=1.0, ge=0.5, le=2.0)


class OpenAIVoiceSettings(OpenAIServer):
    """``POST /audio/speech`` on any OpenAI-compatible server (OpenAI until its announced shutdown of
    these models, OpenRouter, a local Kokoro or Piper server): model and voice are the server's names.
    """

    model: Text = "gpt-4o-mini-tts"
    voice: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.+-]{1,60}$")] = "coral"
    speed: float = Field(default=1.0, ge=0.25, le=4.0)
    instructions: Annotated[str, StringConstraints(max_length=500)] | None = None
    cost_per_1k_chars_usd: Usd = Decimal("0.015")


class VoiceStep(_Step):
    provider: Literal["elevenlabs", "openai", "hibari", "espeak"]
    elevenlabs: ElevenLabsVoiceSettings = Field(default_factory=ElevenLabsVoiceSettings)
    openai: OpenAIVoiceSettings = Field(default_factory=OpenAIVoiceSettings)
    hibari: HibariVoiceSettings = Field(default_factory=HibariVoiceSettings)
    espeak: EspeakVoiceSettings = Field(default_factory=EspeakVoiceSettings)


class ElevenLabsSfxSettings(StrictModel):
    prompt_influence: Fraction = 0.3
    duration_s: float | None = Field(default=None, ge=0.5, le=30)
    cost_per_call_usd: Usd = Decimal("0.04")


class SynthSfxSettings(StrictModel):
    seed: int | None = None


class SfxStep(_Step):
    provider: Literal["elevenlabs", "synth"]
    elevenlabs: ElevenLabsSfxSettings = Field(default_factory=ElevenLabsSfxSettings)
    synth: SynthSfxSettings = Field(default_factory=SynthSfxSettings)


class GeminiPlannerSettings(StrictModel):
    model: Text = "gemini-2.5-flash"
    cost_per_call_usd: Usd = Decimal("0.01")


class OpenAIPlannerSettings(OpenAIServer):
    """Any OpenAI-compatible chat server; prices are per million tokens of your vendor and model.

    ``expected_*_tokens`` only feed the cost estimate; the ledger records the tokens the server
    reports.
    """

    model: Text = "gpt-4o-mini"
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_output_tokens: int = Field(default=16_000, ge=256, le=200_000)
    max_tokens_field: Literal["max_completion_tokens", "max_tokens"] = "max_completion_tokens"
    cost_per_1m_input_tokens_usd: Usd = Decimal("0.15")
    cost_per_1m_output_tokens_usd: Usd = Decimal("0.60")
    expected_input_tokens: int = Field(default=2_500, ge=0, le=1_000_000)
    expected_output_tokens: int = Field(default=6_000, ge=0, le=1_000_000)

    def price(self, input_tokens: int, output_tokens: int) -> Decimal:
        """USD for one call's tokens at this channel's prices."""
        return (
            self.cost_per_1m_input_tokens_usd * input_tokens
            + self.cost_per_1m_output_tokens_usd * output_tokens
        ) / 1_000_000

    @property
    def estimated_cost_usd(self) -> Decimal:
        return self.price(self.expected_input_tokens, self.expected_output_tokens)


class TemplatePlannerSettings(StrictModel):
    """The offline planner: how many scenes (default: 6 plus one per story-direction sentence)."""

    scenes: int | None = Field(default=None, ge=6, le=16)
    scene_duration_s: float = Field(default=5.0, ge=2.0, le=20.0)


class PlannerStep(_Step):
    provider: Literal["gemini", "openai", "template"]
    gemini: GeminiPlannerSettings = Field(default_factory=GeminiPlannerSettings)
    openai: OpenAIPlannerSettings = Field(default_factory=OpenAIPlannerSettings)
    template: TemplatePlannerSettings = Field(default_factory=TemplatePlannerSettings)


class Providers(StrictModel):
    image: ImageStep
    video: VideoStep
    voice: VoiceStep
    sfx: SfxStep
    planner: PlannerStep

    @property
    def paid(self) -> frozenset[str]:
        """Paid services this channel calls: what the start-up checks need keys for."""
        chosen = {
            self.image.provider,
            self.video.provider,
            self.voice.provider,
            self.sfx.provider,
            self.planner.provider,
        }
        if not self.openai_key_needed:
            chosen.discard("openai")
        return frozenset(chosen & {"gemini", "openai", "kling", "elevenlabs", "pexels", "pixabay"})

    @property
    def openai_key_roles(self) -> tuple[str, ...]:
        """The steps that call an OpenAI-compatible server off this machine (those need the key)."""
        servers: dict[str, tuple[str, OpenAIServer]] = {
            "planner": (self.planner.provider, self.planner.openai),
            "image": (self.image.provider, self.image.openai),
            "voice": (self.voice.provider, self.voice.openai),
        }
        return tuple(
            role
            for role, (provider, server) in servers.items()
            if provider == "openai" and not server.local
        )

    @property
    def openai_key_needed(self) -> bool:
        """Whether a step calls an OpenAI-compatible server that is not on this machine."""
        return bool(self.openai_key_roles)
