"""The one table of allowed task status transitions, enforced for API, Notion and workers alike."""

from __future__ import annotations

from app.models import PIPELINE_ORDER, PipelineStep, TaskStatus

S = TaskStatus

ALLOWED_TRANSITIONS: dict[TaskStatus, frozenset[TaskStatus]] = {
    S.DRAFT: frozenset({S.QUEUED, S.CANCELLED}),
    S.QUEUED: frozenset({S.RUNNING, S.DRAFT, S.CANCELLED}),
    S.RUNNING: frozenset({S.AWAITING_REVIEW, S.FAILED, S.CANCELLED, S.PUBLISHED}),
    S.AWAITING_REVIEW: frozenset({S.RUNNING, S.FAILED, S.CANCELLED}),
    S.FAILED: frozenset({S.RUNNING, S.QUEUED, S.CANCELLED}),
    S.CANCELLED: frozenset({S.QUEUED, S.DRAFT}),
    S.PUBLISHED: frozenset(),
}


class InvalidTransitionError(Exception):
    """A status change the transition table does not allow."""

    def __init__(self, current: TaskStatus, target: TaskStatus) -> None:
        self.current = current
        self.target = target
        allowed = ", ".join(sorted(ALLOWED_TRANSITIONS[current])) or "nothing (terminal)"
        super().__init__(
            f"a task cannot go from {current} to {target}; from {current} it may go to {allowed}"
        )


def can_transition(current: TaskStatus, target: TaskStatus) -> bool:
    return target in ALLOWED_TRANSITIONS[current]


def ensure_transition(current: TaskStatus, target: TaskStatus) -> None:
    if not can_transition(current, target):
        raise InvalidTransitionError(current, target)


def next_step(step: PipelineStep) -> PipelineStep | None:
    """The step after ``step``, or None after the last one."""
    index = PIPELINE_ORDER.index(step)
    return PIPELINE_ORDER[index + 1] if index + 1 < len(PIPELINE_ORDER) else None


NOTION_LABELS: dict[PipelineStep, tuple[str, str, str]] = {
    # step: (running label, ready-for-review label, error label)
    PipelineStep.PLAN: ("Planning", "Plan Ready", "Plan Error"),
    PipelineStep.ASSETS: ("Generating Assets", "Assets Ready", "Asset Error"),
    PipelineStep.COMPOSITES: ("Compositing", "Composites Ready", "Composite Error"),
    PipelineStep.VIDEOS: ("Generating Video", "Video Ready", "Video Error"),
    PipelineStep.NARRATION: ("Generating Narration", "Narration Ready", "Narration Error"),
    PipelineStep.SOUND_EFFECTS: ("Generating Sound", "Audio Ready", "Sound Error"),
    PipelineStep.ASSEMBLY: ("Assembling", "Final Review", "Assembly Error"),
    PipelineStep.UPLOAD: ("Uploading", "Upload Ready", "Upload Error"),
}


def notion_label(status: TaskStatus, step: PipelineStep) -> str:
    """The Notion "Status" label derived from the (status, step) pair."""
    running, ready, error = NOTION_LABELS[step]
    return {
        S.DRAFT: "Draft",
        S.QUEUED: "Queued",
        S.RUNNING: running,
        S.AWAITING_REVIEW: ready,
        S.FAILED: error,
        S.CANCELLED: "Cancelled",
        S.PUBLISHED: "Published",
    }[status]
