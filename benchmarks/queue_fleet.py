"""The fleet under benchmark: ``vidgen web`` (API + dispatcher) and N ``vidgen worker`` processes.

Started exactly as ``vidgen up`` and the end-to-end tests start them (``python -m app.cli``),
with the benchmark's database, channel configs and environment; output goes to log files under
the run directory so no pipe reader competes for the CPU being measured.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from app.core.config import PROJECT_ROOT
from benchmarks._common import free_port, signal_group

BENCH_API_TOKEN = "bench-token-0123456789abcdef"
BENCH_CHANNEL = "bench"

# Paid providers, so items land in the kling / elevenlabs / gemini pools; under
# VIDGEN_BENCH_FAKE_LATENCIES no script runs and no key is used (the runner's bench hook returns
# before the credential lookup). No gates; 20 tasks at once (the config maximum).
CHANNEL_YAML = """\
slug: {slug}
name: Benchmark
active: true
max_concurrent: {max_concurrent}
providers:
  planner: template
  image: gemini
  video: kling
  voice: elevenlabs
  sfx: elevenlabs
frame:
  aspect_ratio: "16:9"
review_gates: []
"""


# The workers' start-up check refuses an active channel whose paid providers have no key; these
# stand-ins satisfy it on a machine with no vendor keys. They never leave the machine: no script
# runs under the bench hook. A key already in the environment is kept (and equally unused).
PLACEHOLDER_KEYS = {
    "GEMINI_API_KEY": "bench-unused-gemini",
    "KIE_API_KEY": "bench-unused-kie",
    "ELEVENLABS_API_KEY": "bench-unused-elevenlabs",
}


def write_channel(directory: Path, *, max_concurrent: int = 20) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    text = CHANNEL_YAML.format(slug=BENCH_CHANNEL, max_concurrent=max_concurrent)
    (directory / f"{BENCH_CHANNEL}.yaml").write_text(text)


@dataclass
class BenchFleet:
    run_dir: Path
    database_url: str
    env_extra: dict[str, str] = field(default_factory=dict)
    workers: int = 3
    port: int = field(default_factory=free_port)
    profile: bool = False  # workers under a CPU-time cProfile (``logs/<name>.prof`` at exit)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)

    def _env(self, name: str) -> dict[str, str]:
        env = {**PLACEHOLDER_KEYS, **os.environ}
        env.update(
            {
                "DATABASE_URL": self.database_url,
                "API_TOKEN": BENCH_API_TOKEN,
                "WORKSPACE_ROOT": str(self.run_dir / "workspace"),
                "CHANNEL_CONFIGS_DIR": str(self.run_dir / "channel_configs"),
                "WORKER_NAME": name,
                "PYTHONUNBUFFERED": "1",
                "LOG_LEVEL": "INFO",
            }
        )
        env.update(self.env_extra)
        return env

    def _spawn(self, name: str, *args: str) -> None:
        log = self.run_dir / "logs" / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        module, env = "app.cli", self._env(name)
        if self.profile and name.startswith("worker"):
            module = "benchmarks.queue_profile"
            env["BENCH_PROFILE_OUT"] = str(log.with_suffix(".prof"))
        with log.open("ab") as handle:
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", module, *args],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.logs[name] = log

    def start(self, timeout_s: float = 90) -> None:
        """Spawn web and workers and wait until all are ready; on failure, stop what started."""
        try:
            write_channel(self.run_dir / "channel_configs")
            self._spawn("web", "web", "--port", str(self.port))
            for index in range(1, self.workers + 1):
                self._spawn(f"worker-{index}", "worker")
            self._wait_ready(timeout_s)
        except BaseException:
            self.stop(grace_s=5)
            raise

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        waiting = {"web": "dispatch.leader_acquired"}
        waiting.update({f"worker-{i}": "worker.ready" for i in range(1, self.workers + 1)})
        while waiting:
            for name, marker in list(waiting.items()):
                if marker in self.logs[name].read_text(errors="replace"):
                    del waiting[name]
                elif self.procs[name].poll() is not None:
                    raise RuntimeError(f"{name} exited at start:\n{self.tail(name)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"fleet not ready: {sorted(waiting)}")
            time.sleep(0.1)
        ready = httpx.get(f"http://127.0.0.1:{self.port}/ready", timeout=5)
        if ready.status_code != 200:
            raise RuntimeError(f"web not ready: {ready.text}")

    def pids(self, prefix: str = "") -> list[int]:
        return [p.pid for name, p in self.procs.items() if name.startswith(prefix)]

    def tail(self, name: str, chars: int = 3000) -> str:
        return self.logs[name].read_text(errors="replace")[-chars:]

    def dead(self) -> list[str]:
        return [name for name, p in self.procs.items() if p.poll() is not None]

    def stop(self, grace_s: float = 20) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                signal_group(proc, signal.SIGKILL)
                proc.wait(timeout=10)
        self.procs.clear()
