"""A fake KIE.ai (Kling jobs API) that behaves like the real one on the points the scripts rely on.

Wire facts: shared/reference/external-apis.md section 3. Errors can come as an HTTP status or as HTTP 200
with the code in the body (both happen in the wild: the fake can do either). A task moves
waiting -> queuing -> generating -> success over successive polls; ``resultJson`` is a JSON *string*
whose ``resultUrls`` point at a file this fake serves itself. Tests script failures through the
attributes of ``FakeKie`` and read back what it saw (``create_calls``, ``received_images``).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

API_KEY = "kie-test-key"
MODELS = frozenset({"kling/v2-5-turbo-image-to-video-pro", "kling/v2-5-turbo-image-to-video-std"})
PROGRESSION = ("waiting", "queuing", "generating")


@dataclass
class Scripted:
    """One canned error answer: ``status`` is the HTTP status, ``code`` the body's code."""

    code: int
    msg: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Task:
    task_id: str
    model: str
    params: dict[str, Any]
    polls: int = 0
    created: float = field(default_factory=time.time)


@dataclass
class FakeKie:
    video: Path
    api_key: str = API_KEY
    # Scripted errors, answered (and removed) one per call before the normal answer.
    create_errors: list[Scripted] = field(default_factory=list)
    poll_errors: list[Scripted] = field(default_factory=list)
    generating_polls: int = 1  # polls answered "generating" before success
    hold_generating: bool = False  # stay "generating" until a test clears it
    fail_msg: str | None = None  # end in state "fail" with this failMsg
    poll_hang_seconds: float = 0.0  # answer recordInfo this late (or when the client gives up)
    download: str = "ok"  # "ok" | "garbage" (not a video) | "truncated" (first 40% of the file)
    fetch_images: bool = True  # fetch image_url like the real service does
    create_gate: threading.Event | None = None  # createTask makes its task once this is set
    create_calls: int = 0
    poll_calls: int = 0
    downloads: int = 0
    tasks: dict[str, Task] = field(default_factory=dict)
    received_images: list[bytes] = field(default_factory=list)

    def app(self) -> FastAPI:
        return _build(self)


def _answer(
    code: int, msg: str, data: Any = None, *, status: int = 200, **headers: str
) -> Response:
    return JSONResponse(
        {"code": code, "msg": msg, "data": data}, status_code=status, headers=headers
    )


def _scripted(item: Scripted) -> Response:
    return _answer(item.code, item.msg, status=item.status, **item.headers)


def _authorised(fake: FakeKie, request: Request) -> bool:
    return request.headers.get("authorization", "") == f"Bearer {fake.api_key}"


def _unauthorised() -> Response:
    return _answer(401, "You do not have access permissions", status=401)


def _build(fake: FakeKie) -> FastAPI:
    app = FastAPI()

    @app.post("/api/v1/jobs/createTask")
    async def create_task(request: Request) -> Response:
        fake.create_calls += 1
        if not _authorised(fake, request):
            return _unauthorised()
        if fake.create_errors:
            return _scripted(fake.create_errors.pop(0))
        try:
            body = await request.json()
        except ValueError:
            return _answer(422, "request body is not JSON")
        problem = _validate(body)
        if problem:
            return _answer(422, problem)
        params = body["input"]
        if fake.fetch_images:
            image = await _fetch(params["image_url"])
            if image is None:
                return _answer(422, "image_url could not be downloaded")
            fake.received_images.append(image)
        if fake.create_gate is not None:
            await asyncio.to_thread(fake.create_gate.wait, 120)
        task = Task(task_id=uuid.uuid4().hex, model=body["model"], params=params)
        fake.tasks[task.task_id] = task
        return _answer(200, "success", {"taskId": task.task_id})

    @app.get("/api/v1/jobs/recordInfo")
    async def record_info(request: Request, taskId: str = "") -> Response:  # noqa: N803
        fake.poll_calls += 1
        if not _authorised(fake, request):
            return _unauthorised()
        if fake.poll_hang_seconds:
            await _hang(request, fake.poll_hang_seconds)
        if fake.poll_errors:
            return _scripted(fake.poll_errors.pop(0))
        task = fake.tasks.get(taskId)
        if task is None:
            return _answer(404, f"task not found: {taskId}")
        task.polls += 1
        return _answer(200, "success", _record(fake, task, str(request.base_url)))

    @app.get("/files/{name}")
    async def video_file(name: str) -> Response:
        fake.downloads += 1
        data = fake.video.read_bytes()
        if fake.download == "garbage":
            data = b"<html><body>403 Forbidden</body></html>" * 50
        elif fake.download == "truncated":
            data = data[: len(data) * 2 // 5]
        return Response(data, media_type="video/mp4")

    return app


def _validate(body: Any) -> str | None:
    if not isinstance(body, dict) or body.get("model") not in MODELS:
        return "model is missing or not supported"
    params = body.get("input")
    if not isinstance(params, dict):
        return "input is required"
    if not str(params.get("prompt") or "").strip():
        return "input.prompt is required"
    url = params.get("image_url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return "input.image_url must be a public URL"
    if params.get("duration") not in ("5", "10"):
        return "input.duration must be the string 5 or 10"
    cfg = params.get("cfg_scale")
    if cfg is not None and not (isinstance(cfg, int | float) and 0 <= cfg <= 1):
        return "input.cfg_scale must be between 0 and 1"
    return None


async def _fetch(url: str) -> bytes | None:
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(url)
    except httpx.HTTPError:
        return None
    return response.content if response.is_success and response.content else None


async def _hang(request: Request, seconds: float) -> None:
    """Sleep, but stop as soon as the client hangs up so the server can shut down promptly."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not await request.is_disconnected():
        await asyncio.sleep(0.05)


def _record(fake: FakeKie, task: Task, base_url: str) -> dict[str, Any]:
    record: dict[str, Any] = {
        "taskId": task.task_id,
        "model": task.model,
        "param": json.dumps({"model": task.model, "input": task.params}),
        "resultJson": "",
        "failCode": "",
        "failMsg": "",
        "costTime": None,
        "completeTime": None,
        "createTime": int(task.created * 1000),
    }
    step = task.polls - 1
    pending = len(PROGRESSION) - 1 + fake.generating_polls
    if fake.hold_generating or step < pending:
        record["state"] = PROGRESSION[min(step, len(PROGRESSION) - 1)]
        return record
    record["completeTime"] = int(time.time() * 1000)
    record["costTime"] = int((time.time() - task.created) * 1000)
    if fake.fail_msg is not None:
        record.update(state="fail", failCode="501", failMsg=fake.fail_msg)
        return record
    url = f"{base_url.rstrip('/')}/files/{task.task_id}.mp4"
    record.update(state="success", resultJson=json.dumps({"resultUrls": [url]}))
    return record
