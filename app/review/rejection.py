"""Rejecting a review gate: work out exactly what to regenerate, then send the task back for it.

``prepare_rejection`` only reads (so a bulk review can validate every task before changing any);
``apply_rejection`` records the review, applies plan replacements, resets the chosen items in
every step they occur in, and restarts the earliest of those steps. Steps in between whose
items are all kept are passed through without stopping at their gates (``start_step``).

At the plan gate: replacements edit the plan and the task waits again; otherwise a generated
plan is made again by the planner with the reviewer's notes, and a hand-written plan is kept
(notes recorded, the task waits for replacements or an approval).
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import AppError, ConflictError
from app.models import (
    Channel,
    ItemStatus,
    PipelineStep,
    Review,
    ReviewDecision,
    StepStatus,
    Task,
    TaskItem,
    TaskStatus,
)
from app.pipeline.items import scene_item
from app.pipeline.orchestrator import audit, get_step_row, start_step
from app.pipeline.state import ensure_transition
from app.pipeline.steps import build_item_specs
from app.planning.plan import PlanValidationError, ProductionPlan, parse_plan
from app.review.redo import SCENE_STEPS, ItemRef, RedoMap, step_index, with_dependents
from app.review.schemas import RejectRequest, redo_record
from app.spend.budget import BUDGET_HOLD

HAND_WRITTEN_PLAN_SOURCES = frozenset({"api", "notion"})


class RedoInvalidError(AppError):
    """The rejection names something the task's plan does not have, or makes the plan invalid."""

    status_code = 422
    code = "REDO_INVALID"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems), details={"problems": problems})
        self.problems = problems


@dataclass
class Rejection:
    task: Task
    gate: PipelineStep
    notes: str
    record: dict[str, Any]
    plan: dict[str, Any] | None = None  # the edited plan, when replacements changed it
    redo: dict[PipelineStep, list[str]] = field(default_factory=dict)
    restart_at: PipelineStep | None = None  # None: nothing made so far changes; wait again
    replan: bool = False


async def ensure_at_gate(session: AsyncSession, task: Task, action: str) -> None:
    """409 unless the task waits at a review gate (a budget hold is not one: approve or cancel)."""
    if task.status != TaskStatus.AWAITING_REVIEW:
        raise ConflictError(
            f"task {task.id} is {task.status.value} at step {task.step.value}, not waiting for "
            f"review: only a task in awaiting_review can be {action}",
            code="NOT_AWAITING_REVIEW",
            details={"status": task.status.value, "step": task.step.value},
        )
    step_row = await get_step_row(session, task.id, task.step)
    if step_row.error_code == BUDGET_HOLD and step_row.status != StepStatus.COMPLETED:
        raise ConflictError(
            f"task {task.id} is held by its budget before step {task.step.value}, not at a "
            "review gate: approve to spend over the budget, or cancel it",
            code="BUDGET_HOLD",
            details={"step": task.step.value, "reason": task.status_reason},
        )


async def replan_notes(session: AsyncSession, task_id: uuid.UUID) -> str | None:
    """The notes the planner must address: those of the plan review that asked for a new plan,
    while it is the latest plan review (so a retried re-plan still gets them)."""
    review = await session.scalar(
        select(Review)
        .where(Review.task_id == task_id, Review.gate == PipelineStep.PLAN)
        .order_by(Review.created_at.desc(), Review.id.desc())
        .limit(1)
    )
    if review is None or review.decision != ReviewDecision.REJECTED:
        return None
    return review.notes if review.redo.get("replan") else None


def _replaced_plan(
    plan: dict[str, Any], request: RejectRequest, problems: list[str]
) -> dict[str, Any]:
    data = copy.deepcopy(plan)
    scenes = {scene["number"]: scene for scene in data["scenes"]}
    assets = {asset["name"]: asset for asset in data["assets"]}
    for change in request.scene_replacements:
        if change.scene not in scenes:
            problems.append(_no_scene(change.scene, len(scenes), "scene_replacements"))
            continue
        for name in ("motion_prompt", "narration", "sfx_prompt"):
            value = getattr(change, name)
            if value is not None:
                scenes[change.scene][name] = value
    for asset_change in request.asset_replacements:
        if asset_change.asset not in assets:
            problems.append(_no_asset(asset_change.asset, sorted(assets), "asset_replacements"))
            continue
        assets[asset_change.asset]["prompt"] = asset_change.prompt
    return data


def _no_scene(number: int, count: int, where: str) -> str:
    return f"{where}: scene {number} is not in the plan: the plan has scenes 1-{count}"


def _no_asset(name: str, names: list[str], where: str) -> str:
    return f"{where}: asset '{name}' is not in the plan: its assets are {', '.join(names)}"


def _roots(
    task: Task, channel: Channel, plan: ProductionPlan, request: RejectRequest, problems: list[str]
) -> list[ItemRef]:
    gate = task.step
    target = request.step or gate
    if target in (PipelineStep.PLAN, PipelineStep.UPLOAD) or step_index(target) > step_index(gate):
        problems.append(
            f"step: {target.value} cannot be redone at the {gate.value} review: name a step "
            f"from assets up to {gate.value}"
        )
        return []
    scenes = {scene.number: scene for scene in plan.scenes}
    roots: list[ItemRef] = []
    if request.scenes and target not in SCENE_STEPS:
        problems.append(
            f"scenes: the {target.value} step has no scene items: name assets to redo, or give "
            "step (videos, narration, ...) for the scenes"
        )
    for number in request.scenes if target in SCENE_STEPS else []:
        scene = scenes.get(number)
        if scene is None:
            problems.append(_no_scene(number, len(scenes), "scenes"))
        elif target == PipelineStep.COMPOSITES and scene.layout == "single":
            problems.append(f"scenes: scene {number} has no composite (its layout is single)")
        else:
            roots.append((target, scene_item(number)))
    names = [asset.name for asset in plan.assets]
    for name in request.assets:
        if name in names:
            roots.append((PipelineStep.ASSETS, name))
        else:
            problems.append(_no_asset(name, names, "assets"))
    for change in request.scene_replacements:
        key = scene_item(change.scene)
        if change.motion_prompt is not None:
            roots.append((PipelineStep.VIDEOS, key))
        if change.narration is not None:
            roots.append((PipelineStep.NARRATION, key))
        if change.sfx_prompt is not None:
            roots.append((PipelineStep.SOUND_EFFECTS, key))
    roots += [(PipelineStep.ASSETS, change.asset) for change in request.asset_replacements]
    whole_step = request.names_nothing() or (request.step is not None and not request.scenes)
    if whole_step:
        specs = build_item_specs(task=task, channel=channel, step=target)
        roots += [(target, spec.key) for spec in specs]
    return roots


async def prepare_rejection(session: AsyncSession, task: Task, request: RejectRequest) -> Rejection:
    """What rejecting ``task``'s gate with ``request`` would change; raises, changes nothing."""
    await ensure_at_gate(session, task, "rejected")
    channel = await session.get(Channel, task.channel_id)
    assert channel is not None
    gate = task.step
    rejection = Rejection(task=task, gate=gate, notes=request.notes, record=redo_record(request))
    problems: list[str] = []
    if task.plan is None:
        raise ConflictError(f"task {task.id} has no plan yet", code="NO_PLAN")
    replaced = request.scene_replacements or request.asset_replacements
    new_plan = _replaced_plan(task.plan, request, problems) if replaced else task.plan
    if gate == PipelineStep.PLAN:
        if request.step or request.scenes or request.assets:
            problems.append(
                "at the plan review name no step, scenes or assets: the planner rewrites the "
                "whole plan; use scene_replacements or asset_replacements to change parts of it"
            )
    if problems:
        raise RedoInvalidError(problems)
    try:
        plan = parse_plan(new_plan)
    except PlanValidationError as exc:
        raise RedoInvalidError([f"plan after replacements: {m}" for m in exc.messages]) from None
    if replaced:
        rejection.plan = plan.model_dump(mode="json")
    if gate == PipelineStep.PLAN:
        if not replaced and task.plan_source not in HAND_WRITTEN_PLAN_SOURCES:
            rejection.replan = True
            rejection.record["replan"] = True
            rejection.redo = {PipelineStep.PLAN: ["plan"]}
            rejection.restart_at = PipelineStep.PLAN
        return rejection
    roots = _roots(task, channel, plan, request, problems)
    if problems:
        raise RedoInvalidError(problems)
    await _choose_items(session, rejection, with_dependents(plan, roots))
    return rejection


async def _choose_items(session: AsyncSession, rejection: Rejection, redo: RedoMap) -> None:
    """Keep items up to the gate (they are what the reviewer saw) and those that exist after it
    (made before an earlier rejection sent the task back); the rest are built fresh anyway."""
    rows = await session.execute(
        select(TaskItem.step, TaskItem.item_key).where(TaskItem.task_id == rejection.task.id)
    )
    existing: set[tuple[PipelineStep, str]] = {(row[0], row[1]) for row in rows}
    gate_index = step_index(rejection.gate)
    chosen: dict[PipelineStep, list[str]] = {}
    for step in sorted(redo, key=step_index):
        keys = sorted(
            key for key in redo[step] if step_index(step) <= gate_index or (step, key) in existing
        )
        if keys:
            chosen[step] = keys
    rejection.redo = chosen
    rejection.record["items"] = {step.value: keys for step, keys in chosen.items()}
    earlier = [step for step in chosen if step_index(step) <= gate_index]
    rejection.restart_at = earlier[0] if earlier else None


async def _reset_items(session: AsyncSession, rejection: Rejection) -> None:
    task = rejection.task
    for step, keys in rejection.redo.items():
        items = await session.scalars(
            select(TaskItem)
            .where(TaskItem.task_id == task.id, TaskItem.step == step)
            .where(TaskItem.item_key.in_(keys))
            .with_for_update()
        )
        for item in items:
            item.status = ItemStatus.PENDING
            item.attempts = 0
            item.output_keys, item.remote_ids, item.result = {}, {}, {}
            item.error_code = item.error_message = None
            item.lease_owner = item.lease_expires_at = None
            item.started_at = item.completed_at = None
        if step != rejection.restart_at:
            row = await get_step_row(session, task.id, step)
            if row.status == StepStatus.COMPLETED:
                row.status = StepStatus.PENDING


async def apply_rejection(session: AsyncSession, rejection: Rejection, *, actor: str) -> None:
    task, gate = rejection.task, rejection.gate
    session.add(
        Review(
            task_id=task.id,
            gate=gate,
            decision=ReviewDecision.REJECTED,
            notes=rejection.notes,
            redo=rejection.record,
            actor=actor,
        )
    )
    audit(
        session,
        actor=actor,
        action="review.rejected",
        task=task,
        details={"gate": gate.value, "notes": rejection.notes, **rejection.record},
    )
    if rejection.plan is not None:
        task.plan = rejection.plan
    await _reset_items(session, rejection)
    said = f"rejected at the {gate.value} review: {rejection.notes}"
    if rejection.restart_at is None:
        if gate == PipelineStep.PLAN and rejection.plan is None:
            task.status_reason = (
                f"{said}; the plan was written by hand, so it is kept: send scene or asset "
                "replacements to change it, or approve it"
            )
        else:
            task.status_reason = (
                f"{said}; the plan is updated and nothing made so far depends on the change: "
                "approve to continue"
            )
        return
    ensure_transition(task.status, TaskStatus.RUNNING)
    task.status_reason = f"redoing after the {gate.value} review: {rejection.notes}"
    restart = rejection.restart_at
    await start_step(session, task, restart, actor=actor, redo=set(rejection.redo[restart]))
