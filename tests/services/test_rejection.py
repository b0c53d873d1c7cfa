"""Rejecting a gate regenerates only the named items and what is built from them."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.database import session_scope
from app.core.errors import ConflictError
from app.models import PipelineStep, Review, ReviewDecision, TaskStatus
from app.review import service as review_service
from app.review.rejection import RedoInvalidError
from app.review.schemas import RejectRequest
from tests.e2e.harness import short_plan
from tests.services.review_support import add_channel, add_task, drive, items, load, starts

# short_plan(4): 1 composite [hero, forest], 2 split [forest, city], 3 and 4 single [city]
ALL_ITEMS_ONCE = {
    "plan:plan", "assets:hero", "assets:forest", "assets:city",
    "composites:scene-01", "composites:scene-02",
    *(f"{step}:scene-0{n}" for step in ("videos", "narration", "sound_effects", "assembly") for n in range(1, 5)),
    "assembly:final", "upload:upload",
}  # fmt: skip


async def _reject(task_id: uuid.UUID, **fields: Any) -> None:
    async with session_scope() as session:
        await review_service.reject(
            session, task_id=task_id, actor="reviewer", request=RejectRequest(**fields)
        )


async def _approve(task_id: uuid.UUID) -> None:
    async with session_scope() as session:
        await review_service.approve(session, task_id=task_id, actor="reviewer", notes=None)


async def _at_gate(tmp_path: Path, gates: str) -> uuid.UUID:
    channel_id = await add_channel(tmp_path, gates=gates)
    task_id = await add_task(channel_id, short_plan(4))
    task = await drive(task_id)
    while task.status == TaskStatus.AWAITING_REVIEW and task.step != PipelineStep.ASSEMBLY:
        await _approve(task_id)
        task = await drive(task_id)
    assert (task.status, task.step) == (TaskStatus.AWAITING_REVIEW, PipelineStep.ASSEMBLY)
    return task_id


async def test_a_new_asset_prompt_redoes_the_asset_and_what_shows_it(
    app_db: AsyncEngine, tmp_path: Path
) -> None:
    task_id = await _at_gate(tmp_path, "[videos, assembly]")
    await _reject(
        task_id,
        notes="the robot should be taller",
        asset_replacements=[{"asset": "hero", "prompt": "a very tall robot"}],
    )
    task = await load(task_id)
    assert (task.status, task.step) == (TaskStatus.RUNNING, PipelineStep.ASSETS)
    assert task.plan is not None and task.plan["assets"][0]["prompt"] == "a very tall robot"
    hero = (await items(task_id, PipelineStep.ASSETS))["hero"]
    assert "a very tall robot" in hero.inputs["args"]

    # the redone clip is new work at the videos gate, so the task stops there again
    task = await drive(task_id)
    assert (task.status, task.step) == (TaskStatus.AWAITING_REVIEW, PipelineStep.VIDEOS)
    await _approve(task_id)
    task = await drive(task_id)
    assert (task.status, task.step) == (TaskStatus.AWAITING_REVIEW, PipelineStep.ASSEMBLY)
    await _approve(task_id)
    assert (await drive(task_id)).status == TaskStatus.PUBLISHED

    redone = {"assets:hero", "composites:scene-01", "videos:scene-01", "assembly:scene-01",
              "assembly:final"}  # fmt: skip
    counts = await starts(task_id)
    assert set(counts) == ALL_ITEMS_ONCE
    assert {key for key, count in counts.items() if count == 2} == redone
    assert all(count in (1, 2) for count in counts.values())


async def test_new_narration_redoes_the_voice_track_and_the_cut_and_skips_unchanged_gates(
    app_db: AsyncEngine, tmp_path: Path
) -> None:
    task_id = await _at_gate(tmp_path, "[videos, sound_effects, assembly]")
    await _reject(
        task_id,
        notes="scene 2 says the wrong thing",
        scene_replacements=[{"scene": 2, "narration": "The forest meets the city."}],
    )
    task = await load(task_id)
    assert (task.status, task.step) == (TaskStatus.RUNNING, PipelineStep.NARRATION)

    # narration is redone; sound effects (a gate) had nothing to redo and is not stopped at
    task = await drive(task_id)
    assert (task.status, task.step) == (TaskStatus.AWAITING_REVIEW, PipelineStep.ASSEMBLY)
    counts = await starts(task_id)
    assert {key for key, count in counts.items() if count == 2} == {
        "narration:scene-02",
        "assembly:scene-02",
        "assembly:final",
    }
    narration = (await items(task_id, PipelineStep.NARRATION))["scene-02"]
    assert "The forest meets the city." in narration.inputs["args"]
    segment = (await items(task_id, PipelineStep.ASSEMBLY))["scene-02"]
    assert segment.inputs["json_files"]["--scene"]["narration_text"] == "The forest meets the city."
    async with session_scope() as session:
        [review] = await session.scalars(
            select(Review).where(
                Review.task_id == task_id, Review.decision == ReviewDecision.REJECTED
            )
        )
    assert (review.decision, review.gate, review.actor) == (
        ReviewDecision.REJECTED,
        PipelineStep.ASSEMBLY,
        "reviewer",
    )
    assert review.notes == "scene 2 says the wrong thing"
    assert review.redo["items"] == {
        "narration": ["scene-02"],
        "assembly": ["final", "scene-02"],
    }


async def test_rejecting_with_nothing_named_redoes_the_whole_gate_step(
    app_db: AsyncEngine, tmp_path: Path
) -> None:
    channel_id = await add_channel(tmp_path, gates="[composites]")
    task_id = await add_task(channel_id, short_plan(4))
    assert (await drive(task_id)).step == PipelineStep.COMPOSITES
    await _reject(task_id, notes="all wrong")
    task = await drive(task_id)
    assert (task.status, task.step) == (TaskStatus.AWAITING_REVIEW, PipelineStep.COMPOSITES)
    counts = await starts(task_id)
    assert {key for key, count in counts.items() if count == 2} == {
        "composites:scene-01",
        "composites:scene-02",
    }
    assert counts["assets:hero"] == 1


async def test_a_bad_redo_is_refused_and_changes_nothing(
    app_db: AsyncEngine, tmp_path: Path
) -> None:
    channel_id = await add_channel(tmp_path, gates="[videos]")
    task_id = await add_task(channel_id, short_plan(4))
    before = await drive(task_id)
    assert before.step == PipelineStep.VIDEOS

    with pytest.raises(RedoInvalidError) as refused:
        await _reject(task_id, notes="n", scenes=[2, 9], assets=["dragon"])
    assert refused.value.problems == [
        "scenes: scene 9 is not in the plan: the plan has scenes 1-4",
        "assets: asset 'dragon' is not in the plan: its assets are hero, forest, city",
    ]
    with pytest.raises(RedoInvalidError) as bad_text:
        await _reject(
            task_id, notes="n", scene_replacements=[{"scene": 1, "narration": "[laughs] hi"}]
        )
    assert "stage direction" in str(bad_text.value)
    with pytest.raises(RedoInvalidError, match="narration cannot be redone at the videos review"):
        await _reject(task_id, notes="n", step="narration", scenes=[1])
    with pytest.raises(RedoInvalidError, match="the assets step has no scene items"):
        await _reject(task_id, notes="n", step="assets", scenes=[1])
    with pytest.raises(RedoInvalidError, match="has no composite"):
        await _reject(task_id, notes="n", step="composites", scenes=[3])

    after = await load(task_id)
    assert (after.status, after.plan) == (TaskStatus.AWAITING_REVIEW, before.plan)
    async with session_scope() as session:
        assert await session.scalar(select(func.count()).select_from(Review)) == 0


async def test_only_a_task_waiting_for_review_can_be_rejected(
    app_db: AsyncEngine, tmp_path: Path
) -> None:
    channel_id = await add_channel(tmp_path, gates="[videos]")
    task_id = await add_task(channel_id, short_plan(2))
    with pytest.raises(ConflictError, match="not waiting for review"):
        await _reject(task_id, notes="too early")


async def test_rejecting_a_generated_plan_plans_again_with_the_notes(
    app_db: AsyncEngine, tmp_path: Path
) -> None:
    channel_id = await add_channel(tmp_path, gates="[plan]")
    task_id = await add_task(channel_id, None)
    first = await drive(task_id)
    assert (first.status, first.step, first.plan_source) == (
        TaskStatus.AWAITING_REVIEW,
        PipelineStep.PLAN,
        "generated",
    )
    await _reject(task_id, notes="Make the robot the hero of every scene.")
    second = await drive(task_id)
    assert (second.status, second.step) == (TaskStatus.AWAITING_REVIEW, PipelineStep.PLAN)
    assert second.plan != first.plan  # the template planner folds the notes into its story
    assert (await starts(task_id))["plan:plan"] == 2


async def test_a_hand_written_plan_is_kept_unless_replacements_are_given(
    app_db: AsyncEngine, tmp_path: Path
) -> None:
    channel_id = await add_channel(tmp_path, gates="[plan]")
    task_id = await add_task(channel_id, short_plan(2))
    plan = (await drive(task_id)).plan
    await _reject(task_id, notes="too short")
    kept = await load(task_id)
    assert (kept.status, kept.plan) == (TaskStatus.AWAITING_REVIEW, plan)
    assert kept.status_reason is not None and "written by hand, so it is kept" in kept.status_reason

    await _reject(
        task_id,
        notes="better motion",
        scene_replacements=[{"scene": 2, "motion_prompt": "slow pan left", "sfx_prompt": "rain"}],
    )
    edited = await load(task_id)
    assert edited.status == TaskStatus.AWAITING_REVIEW
    assert edited.plan is not None
    assert (edited.plan["scenes"][1]["motion_prompt"], edited.plan["scenes"][1]["sfx_prompt"]) == (
        "slow pan left",
        "rain",
    )
    assert (await starts(task_id))["plan:plan"] == 1  # the planner never ran again
