"""Drive the real fleet (web + workers as subprocesses) against this test's database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

API_TOKEN = "e2e-test-token-0123456789"

CHANNEL_YAML = """\
slug: {slug}
name: {name}
active: true
max_concurrent: {max_concurrent}
providers:
  planner:
    provider: template
    template:
      scenes: 6
      scene_duration_s: 2
  image: local
  video: kenburns
  voice:
    provider: espeak
    espeak:
      rate: 200
  sfx: synth
frame:
  aspect_ratio: "16:9"
review_gates: {gates}
branding:
  captions:
    enabled: true
"""


def write_channel(
    directory: Path, slug: str, *, gates: str = "[videos]", max_concurrent: int = 2
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{slug}.yaml").write_text(
        CHANNEL_YAML.format(
            slug=slug, name=slug.title(), gates=gates, max_concurrent=max_concurrent
        )
    )


def short_plan(scenes: int = 2) -> dict[str, Any]:
    """A small hand-written plan: a composite scene, a split scene, then singles; 2 s each."""
    layouts = [
        ("composite", ["hero", "forest"]),
        ("split", ["forest", "city"]),
        ("single", ["city"]),
    ]
    return {
        "title": "A short test film",
        "aspect_ratio": "16:9",
        "assets": [
            {"name": "hero", "kind": "character", "prompt": "a small robot"},
            {"name": "forest", "kind": "environment", "prompt": "a forest at dawn"},
            {"name": "city", "kind": "environment", "prompt": "a city at night"},
        ],
        "scenes": [
            {
                "number": n,
                "layout": layouts[min(n - 1, 2)][0],
                "images": layouts[min(n - 1, 2)][1],
                "narration": f"This is scene number {n}.",
                "motion_prompt": "slow zoom in",
                "sfx_prompt": "wind",
                "duration_s": 2,
            }
            for n in range(1, scenes + 1)
        ],
        "music": None,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path


@dataclass
class FleetHarness:
    workspace: Path
    configs: Path
    env_extra: dict[str, str] = field(default_factory=dict)
    # per process name (``worker-2``): e.g. its own WORKSPACE_ROOT, as on separate machines
    process_env: dict[str, dict[str, str]] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    procs: dict[str, Proc] = field(default_factory=dict)

    def env(self, name: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "API_TOKEN": API_TOKEN,
                "WORKSPACE_ROOT": str(self.workspace),
                "CHANNEL_CONFIGS_DIR": str(self.configs),
                "WORKER_NAME": name,
                "WORKER_HEARTBEAT_TIMEOUT_S": "4",
                "WORKER_DEQUEUE_TIMEOUT_S": "0.5",
                "WORKER_SHUTDOWN_GRACE_S": "5",
                "VIDGEN_ITEM_LEASE_S": "3",
                "VIDGEN_RETRY_DELAYS_S": "0.5,1,2,3",
                "PYTHONUNBUFFERED": "1",
                "LOG_LEVEL": "INFO",
            }
        )
        env.update(self.env_extra)
        env.update(self.process_env.get(name, {}))
        return env

    def spawn(self, name: str, *args: str) -> Proc:
        log = self.workspace / "logs" / f"{name}-{len(self.procs)}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        handle = log.open("ab")
        popen = subprocess.Popen(
            [sys.executable, "-m", "app.cli", *args],
            env=self.env(name),
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        proc = Proc(name, popen, log)
        self.procs[name] = proc
        return proc

    def start(self, workers: int = 3) -> None:
        self.spawn("web", "web", "--port", str(self.port))
        for index in range(1, workers + 1):
            self.spawn(f"worker-{index}", "worker")
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base_url}/ready", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.procs["web"].popen.poll() is not None:
                raise AssertionError(f"web exited: {self.logs('web')}")
            time.sleep(0.2)
        raise AssertionError(f"web not ready: {self.logs('web')}")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=30
        )

    def logs(self, name: str) -> str:
        proc = self.procs.get(name)
        return proc.log.read_text(errors="replace")[-6000:] if proc else ""

    def all_logs(self) -> str:
        return "\n".join(
            f"==== {p.name}\n{p.log.read_text(errors='replace')[-4000:]}"
            for p in self.procs.values()
        )

    def kill(self, name: str, sig: signal.Signals = signal.SIGKILL) -> None:
        proc = self.procs[name]
        try:
            os.killpg(proc.popen.pid, sig)
        except ProcessLookupError:
            pass
        proc.popen.wait(timeout=30)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.popen.poll() is None:
                try:
                    os.killpg(proc.popen.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for proc in self.procs.values():
            try:
                proc.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.popen.pid, signal.SIGKILL)
                proc.popen.wait(timeout=10)


def wait_for(
    client: httpx.Client,
    task_id: str,
    *,
    until: Callable[[dict[str, Any]], bool],
    approve: bool = True,
    timeout: float = 300,
    harness: FleetHarness | None = None,
) -> dict[str, Any]:
    """Poll the task; approve gates on the way; return the detail once ``until`` holds."""
    deadline = time.monotonic() + timeout
    detail: dict[str, Any] = {}
    while time.monotonic() < deadline:
        detail = client.get(f"/api/v1/tasks/{task_id}").json()["data"]
        if until(detail):
            return detail
        if detail["status"] == "failed":
            raise AssertionError(
                f"task failed at {detail['step']}: {detail['error_code']}: {detail['error_message']}"
            )
        if approve and detail["status"] == "awaiting_review":
            client.post(f"/api/v1/tasks/{task_id}/approve", json={})
        time.sleep(0.3)
    logs = harness.all_logs() if harness else ""
    raise AssertionError(
        f"timed out; last state {detail.get('status')}/{detail.get('step')}\n{logs}"
    )


def published(detail: dict[str, Any]) -> bool:
    return detail["status"] == "published"
