"""The video resource sent with ``videos.insert``, rendered from the channel's templates.

The config loader already refuses templates whose fixed text breaks YouTube's limits; what it
cannot know is the task's own text. So the rendered title and description are checked again
here, and a violation names the template that produced it (and the channel), because that,
or the task's title/topic, is what the operator has to change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from app.channels.config import ChannelConfig
from app.channels.config_schema import (
    YOUTUBE_DESCRIPTION_MAX_BYTES,
    YOUTUBE_TITLE_MAX,
    render_template,
)


class MetadataError(Exception):
    """The rendered metadata breaks a YouTube rule; ``template`` is the config field to fix."""

    def __init__(self, template: str, message: str) -> None:
        super().__init__(message)
        self.template = template
        self.message = message


def template_values(
    *, title: str, topic: str | None, channel_name: str, now: datetime
) -> dict[str, str]:
    return {
        "title": title.strip(),
        "topic": (topic or "").strip(),
        "channel_name": channel_name,
        "date": now.astimezone(UTC).date().isoformat(),
    }


def _check(text: str, *, field: str, slug: str, what: str, max_len: int, in_bytes: bool) -> str:
    where = f"channel {slug}: youtube.{field}"
    size = len(text.encode()) if in_bytes else len(text)
    unit = "bytes" if in_bytes else "characters"
    if size > max_len:
        raise MetadataError(
            f"youtube.{field}",
            f"{where} renders a {what} of {size} {unit}; YouTube allows {max_len}: "
            "shorten the template or the task's title/topic",
        )
    if "<" in text or ">" in text:
        raise MetadataError(
            f"youtube.{field}",
            f"{where} renders a {what} containing '<' or '>', which YouTube refuses: "
            "remove them from the task's title/topic",
        )
    return text


def clip_credits(results: Sequence[Mapping[str, Any] | None]) -> list[str]:
    """One line per distinct stock clip ("Video by NAME on Pexels: URL"), in scene order.

    The stock vendors ask that the videographer and the vendor be credited where the video is
    shown, so the clip step's attribution travels into the description.
    """
    lines: list[str] = []
    for result in results:
        attribution = (result or {}).get("attribution")
        credit = attribution.get("credit") if isinstance(attribution, Mapping) else None
        if isinstance(credit, str) and credit and credit not in lines:
            lines.append(credit.replace("<", "").replace(">", ""))
    return lines


def _with_credits(description: str, credits: Sequence[str]) -> str:
    """The description plus as many credit lines as fit YouTube's byte limit."""
    if not credits:
        return description
    text = f"{description}\n\n" if description else ""
    for line in credits:
        candidate = f"{text}{line}\n"
        if len(candidate.strip().encode()) > YOUTUBE_DESCRIPTION_MAX_BYTES:
            break
        text = candidate
    return text.strip()


def build_video_resource(
    config: ChannelConfig,
    *,
    title: str,
    topic: str | None,
    channel_name: str,
    now: datetime,
    credits: Sequence[str] = (),
) -> dict[str, Any]:
    """``{"snippet": ..., "status": ...}`` for ``part=snippet,status``; raises ``MetadataError``.

    ``credits`` (stock clip attributions) are appended after the channel's description.
    """
    youtube = config.youtube
    values = template_values(title=title, topic=topic, channel_name=channel_name, now=now)
    rendered_title = " ".join(render_template(youtube.title_template, values).split())
    if not rendered_title:
        raise MetadataError(
            "youtube.title_template",
            f"channel {config.slug}: youtube.title_template renders an empty title; "
            "YouTube requires one",
        )
    description = render_template(youtube.description_template, values).strip()
    for text, what, max_len, in_bytes in (
        (rendered_title, "title", YOUTUBE_TITLE_MAX, False),
        (description, "description", YOUTUBE_DESCRIPTION_MAX_BYTES, True),
    ):
        field = f"{what}_template"
        _check(text, field=field, slug=config.slug, what=what, max_len=max_len, in_bytes=in_bytes)
    description = _with_credits(description, credits)
    snippet: dict[str, Any] = {
        "title": rendered_title,
        "description": description,
        "categoryId": youtube.category_id,
        "defaultLanguage": youtube.language,
        "defaultAudioLanguage": youtube.language,
    }
    if youtube.tags:
        snippet["tags"] = list(youtube.tags)
    status: dict[str, Any] = {
        "privacyStatus": youtube.privacy,
        "selfDeclaredMadeForKids": youtube.made_for_kids,
        "containsSyntheticMedia": youtube.contains_synthetic_media,
    }
    if youtube.publish_at is not None:  # the config refuses a schedule unless private
        publish_at = youtube.publish_at.next_publish_at(now).astimezone(UTC)
        status["publishAt"] = publish_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"snippet": snippet, "status": status}
