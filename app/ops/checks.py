"""One start-up check's vocabulary: its result, its context, and the three verdicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from app.core.config import Settings

Profile = Literal["check", "web", "worker"]


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FATAL = "fatal"


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    detail: str
    fix: str = ""


@dataclass
class CheckContext:
    """What the checks share: the settings, the process profile and facts found along the way."""

    settings: Settings
    profile: Profile
    database_url: str | None = None  # set by the database check when the server answered
    schema_at_head: bool = False  # set by the migrations check
    # offline voice -> the active channels that speak with it; set by the provider-key check
    voice_channels: dict[str, list[str]] = field(default_factory=dict)


def ok(name: str, detail: str) -> CheckResult:
    return CheckResult(name, Status.OK, detail)


def warn(name: str, detail: str, fix: str = "") -> CheckResult:
    return CheckResult(name, Status.WARN, detail, fix)


def fatal(name: str, detail: str, fix: str = "") -> CheckResult:
    return CheckResult(name, Status.FATAL, detail, fix)
