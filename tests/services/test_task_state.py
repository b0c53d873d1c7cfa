"""The task transition table: every allowed pair passes, every other pair is refused by name."""

from __future__ import annotations

import itertools

import pytest

from app.models import PipelineStep, TaskStatus
from app.pipeline.state import (
    ALLOWED_TRANSITIONS,
    InvalidTransitionError,
    can_transition,
    ensure_transition,
    next_step,
    notion_label,
)

S = TaskStatus
P = PipelineStep

# The lifecycle as specified; a change to the table must change this too, on purpose.
EXPECTED: dict[TaskStatus, set[TaskStatus]] = {
    S.DRAFT: {S.QUEUED, S.CANCELLED},
    S.QUEUED: {S.RUNNING, S.DRAFT, S.CANCELLED},
    S.RUNNING: {S.AWAITING_REVIEW, S.FAILED, S.CANCELLED, S.PUBLISHED},
    S.AWAITING_REVIEW: {S.RUNNING, S.FAILED, S.CANCELLED},
    S.FAILED: {S.RUNNING, S.QUEUED, S.CANCELLED},
    S.CANCELLED: {S.QUEUED, S.DRAFT},
    S.PUBLISHED: set(),
}
ALLOWED_PAIRS = [(a, b) for a, targets in EXPECTED.items() for b in sorted(targets)]
FORBIDDEN_PAIRS = [
    (a, b) for a, b in itertools.product(TaskStatus, TaskStatus) if b not in EXPECTED[a]
]


class TestTransitionTable:
    def test_table_covers_every_status_and_matches_the_lifecycle(self) -> None:
        assert set(ALLOWED_TRANSITIONS) == set(TaskStatus)
        assert {k: set(v) for k, v in ALLOWED_TRANSITIONS.items()} == EXPECTED

    def test_the_pairs_split_the_whole_square(self) -> None:
        assert len(ALLOWED_PAIRS) + len(FORBIDDEN_PAIRS) == len(TaskStatus) ** 2
        assert len(ALLOWED_PAIRS) == 17

    @pytest.mark.parametrize(("current", "target"), ALLOWED_PAIRS, ids=lambda s: str(s))
    def test_allowed_transition_passes(self, current: TaskStatus, target: TaskStatus) -> None:
        assert can_transition(current, target)
        ensure_transition(current, target)

    @pytest.mark.parametrize(("current", "target"), FORBIDDEN_PAIRS, ids=lambda s: str(s))
    def test_forbidden_transition_is_refused_naming_both_states(
        self, current: TaskStatus, target: TaskStatus
    ) -> None:
        assert not can_transition(current, target)
        with pytest.raises(InvalidTransitionError) as info:
            ensure_transition(current, target)
        assert info.value.current is current
        assert info.value.target is target
        assert f"from {current.value} to {target.value}" in str(info.value)

    def test_no_status_may_transition_to_itself(self) -> None:
        for status in TaskStatus:
            assert not can_transition(status, status)

    def test_published_is_terminal(self) -> None:
        assert ALLOWED_TRANSITIONS[S.PUBLISHED] == frozenset()
        for target in TaskStatus:
            with pytest.raises(InvalidTransitionError, match=r"nothing \(terminal\)"):
                ensure_transition(S.PUBLISHED, target)

    def test_refusal_lists_what_is_allowed_instead(self) -> None:
        with pytest.raises(InvalidTransitionError) as info:
            ensure_transition(S.DRAFT, S.PUBLISHED)
        assert str(info.value) == (
            "a task cannot go from draft to published; from draft it may go to cancelled, queued"
        )


class TestNextStep:
    def test_steps_follow_the_pipeline_order(self) -> None:
        order = [
            P.PLAN,
            P.ASSETS,
            P.COMPOSITES,
            P.VIDEOS,
            P.NARRATION,
            P.SOUND_EFFECTS,
            P.ASSEMBLY,
            P.UPLOAD,
        ]
        for step, following in itertools.pairwise(order):
            assert next_step(step) is following
        assert next_step(P.UPLOAD) is None

    def test_walking_from_plan_visits_every_step_once(self) -> None:
        seen: list[PipelineStep] = []
        step: PipelineStep | None = P.PLAN
        while step is not None:
            seen.append(step)
            step = next_step(step)
        assert seen == list(PipelineStep)


class TestNotionLabel:
    @pytest.mark.parametrize(
        ("status", "step", "label"),
        [
            (S.RUNNING, P.VIDEOS, "Generating Video"),
            (S.AWAITING_REVIEW, P.VIDEOS, "Video Ready"),
            (S.FAILED, P.VIDEOS, "Video Error"),
            (S.AWAITING_REVIEW, P.ASSEMBLY, "Final Review"),
            (S.RUNNING, P.PLAN, "Planning"),
            (S.PUBLISHED, P.UPLOAD, "Published"),
            (S.DRAFT, P.PLAN, "Draft"),
            (S.QUEUED, P.PLAN, "Queued"),
            (S.CANCELLED, P.NARRATION, "Cancelled"),
        ],
    )
    def test_label_for_pair(self, status: TaskStatus, step: PipelineStep, label: str) -> None:
        assert notion_label(status, step) == label

    def test_step_specific_labels_map_back_to_one_pair(self) -> None:
        """Running, review and error labels are distinct per step, so Notion can map them back."""
        seen: dict[str, tuple[TaskStatus, PipelineStep]] = {}
        for status in (S.RUNNING, S.AWAITING_REVIEW, S.FAILED):
            for step in PipelineStep:
                label = notion_label(status, step)
                assert label not in seen, f"{label!r} used by {seen[label]} and {(status, step)}"
                seen[label] = (status, step)
        assert len(seen) == 3 * len(PipelineStep)
