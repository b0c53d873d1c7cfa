"""Which items are built from which: the graph a partial redo follows.

Item keys are the ones ``pipeline_items`` gives (assets by name, ``scene-NN`` per scene step,
assembly ``scene-NN`` segments plus ``final``, ``upload``). Regenerating an item makes everything
built from it stale, so a redo takes the named items and closes over this graph:
an asset → the assets that use it as a reference image → the composites of scenes showing it
(or the clip itself for a ``single`` scene) → clips → segments → the final cut → the upload.
"""

from __future__ import annotations

from collections.abc import Iterable

from app.models import PIPELINE_ORDER, PipelineStep
from app.pipeline.assembly import FINAL_ITEM
from app.pipeline.items import scene_item
from app.planning.plan import ProductionPlan

ItemRef = tuple[PipelineStep, str]
RedoMap = dict[PipelineStep, set[str]]

UPLOAD_ITEM = "upload"
SCENE_STEPS: frozenset[PipelineStep] = frozenset(
    {
        PipelineStep.COMPOSITES,
        PipelineStep.VIDEOS,
        PipelineStep.NARRATION,
        PipelineStep.SOUND_EFFECTS,
        PipelineStep.ASSEMBLY,
    }
)


def dependents(plan: ProductionPlan, ref: ItemRef) -> list[ItemRef]:
    """The items built directly from ``ref``."""
    step, key = ref
    if step == PipelineStep.ASSETS:
        found: list[ItemRef] = [(step, a.name) for a in plan.assets if key in a.references]
        for scene in plan.scenes:
            if key in scene.images:
                uses = PipelineStep.VIDEOS if scene.layout == "single" else PipelineStep.COMPOSITES
                found.append((uses, scene_item(scene.number)))
        return found
    if step == PipelineStep.COMPOSITES:
        return [(PipelineStep.VIDEOS, key)]
    if step in (PipelineStep.VIDEOS, PipelineStep.NARRATION, PipelineStep.SOUND_EFFECTS):
        return [(PipelineStep.ASSEMBLY, key)]
    if step == PipelineStep.ASSEMBLY:
        return [(PipelineStep.UPLOAD, UPLOAD_ITEM)] if key == FINAL_ITEM else [(step, FINAL_ITEM)]
    return []


def with_dependents(plan: ProductionPlan, roots: Iterable[ItemRef]) -> RedoMap:
    """``roots`` and everything built from them, transitively, per step."""
    redo: RedoMap = {}
    pending = list(roots)
    while pending:
        ref = pending.pop()
        keys = redo.setdefault(ref[0], set())
        if ref[1] in keys:
            continue
        keys.add(ref[1])
        pending.extend(dependents(plan, ref))
    return redo


def step_index(step: PipelineStep) -> int:
    return PIPELINE_ORDER.index(step)
