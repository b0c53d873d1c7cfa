"""Offline demo speed: ``uv run python benchmarks/demo_speed.py [--seconds 60] [--quick] [--json]``.

In one run: ``vidgen demo --plan`` makes a video of about ``--seconds`` seconds (a hand-written
plan of equal scenes, so the length does not depend on a planner), exactly as a user runs it
(embedded PostgreSQL unless ``DATABASE_URL``, web + workers, offline providers); then the
yardstick, one x264 ``-preset medium`` encode (the final's CRF) of that video's own frames, on
the same machine right after. The figure that means something on a shared machine is the
ratio of the two. Prints a markdown table, then with ``--json`` one JSON object as the last
stdout line (``demo_s``, ``one_encode_s``, ``video_s`` and the per-step seconds).
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    # benchmarks/queue.py would shadow the stdlib's queue: put the project root first instead.
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import argparse
import json
import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import imageio_ffmpeg

from app.core.config import PROJECT_ROOT
from app.models import PipelineStep

ENCODE_PRESET, ENCODE_CRF = "medium", 20  # the final encode's (scripts/_assembly_media.py)
WORDS_PER_SECOND = 1.8  # narration shorter than its scene, so the plan sets the length
PLACES = ("harbour at dawn", "pine forest", "desert dunes", "city rooftops", "mountain lake")
_FINAL = re.compile(r"Final video:\s*(\S+)")
_TOTAL = re.compile(r"total time ([\d.]+) s")
STEP_NAMES = frozenset(step.value for step in PipelineStep)
_STEP = re.compile(r"^\W*([a-z_]+)\W+([\d.]+)\W*$")


def bench_plan(seconds: float, scenes: int) -> dict[str, Any]:
    """``scenes`` single-image scenes of equal length adding up to ``seconds``."""
    each = round(seconds / scenes, 2)
    words = "the light moves slowly across the water while the day begins".split()
    count = max(3, int(each * WORDS_PER_SECOND))
    narration = " ".join((words * 4)[:count]).capitalize() + "."
    return {
        "title": f"Demo speed, {seconds:g} seconds",
        "aspect_ratio": "16:9",
        "assets": [
            {"name": f"place{n}", "kind": "environment", "prompt": PLACES[n % len(PLACES)]}
            for n in range(scenes)
        ],
        "scenes": [
            {
                "number": n + 1,
                "layout": "single",
                "images": [f"place{n}"],
                "narration": narration,
                "motion_prompt": "slow push in" if n % 2 == 0 else "slow pan left",
                "sfx_prompt": "soft wind",
                "duration_s": each,
            }
            for n in range(scenes)
        ],
        "music": None,
    }


def run_demo(plan: dict[str, Any], workers: int) -> dict[str, Any]:
    """``vidgen demo --plan`` in a subprocess; its wall time, fleet time, steps and final MP4."""
    with tempfile.TemporaryDirectory(prefix="demo-speed-") as tmp:
        plan_file = Path(tmp) / "plan.json"
        plan_file.write_text(json.dumps(plan))
        started = time.monotonic()
        run = subprocess.run(
            [sys.executable, "-m", "app.cli", "demo", "--plan", str(plan_file),
             "--workers", str(workers)],
            cwd=PROJECT_ROOT,
            env={**os.environ, "COLUMNS": "250", "NO_COLOR": "1", "TERM": "dumb"},
            capture_output=True,
            text=True,
            timeout=3600,
        )  # fmt: skip
        wall = time.monotonic() - started
    final, total = _FINAL.search(run.stdout), _TOTAL.search(run.stdout)
    if run.returncode != 0 or final is None or total is None:
        raise SystemExit(f"vidgen demo failed ({run.returncode}):\n{run.stdout[-3000:]}{run.stderr[-3000:]}")  # fmt: skip
    steps = {}
    for line in run.stdout.splitlines():
        match = _STEP.match(line)
        if match and match.group(1) in STEP_NAMES:
            steps[match.group(1)] = float(match.group(2))
    return {
        "wall_s": wall,
        "demo_s": float(total.group(1)),
        "final": final.group(1),
        "steps": steps,
    }


def video_seconds(path: str) -> float:
    from app.artifacts.media_probe import media_duration

    return media_duration(Path(path))


def one_encode(path: str) -> float:
    """Seconds to decode ``path`` and encode its frames once at the final's settings."""
    started = time.monotonic()
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", path,
         "-map", "0:v:0", "-c:v", "libx264", "-preset", ENCODE_PRESET, "-crf", str(ENCODE_CRF),
         "-pix_fmt", "yuv420p", "-f", "null", "-"],
        check=True,
    )  # fmt: skip
    return time.monotonic() - started


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="video length (default 60)")
    parser.add_argument("--scenes", type=int, default=10)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a 6 s video of 2 scenes (smoke)")
    parser.add_argument(
        "--json", action="store_true", help="last stdout line: the figures as one JSON object"
    )
    ns = parser.parse_args()
    if ns.quick:
        ns.seconds, ns.scenes, ns.workers = 6.0, 2, 2
    return ns


def main() -> None:
    ns = _args()
    load = os.getloadavg()[0]
    demo = run_demo(bench_plan(ns.seconds, ns.scenes), ns.workers)
    video = video_seconds(demo["final"])
    encode = one_encode(demo["final"])
    figures = {
        "demo_s": round(demo["demo_s"], 2),
        "demo_wall_s": round(demo["wall_s"], 2),
        "one_encode_s": round(encode, 2),
        "video_s": round(video, 2),
        "demo_vs_one_encode": round(demo["demo_s"] / encode, 2),
        "steps_s": demo["steps"],
        "workers": ns.workers,
        "load_1min_at_start": load,
    }
    print(f"Offline demo speed ({os.cpu_count()} cores, 1-min load {load:.2f} at start)\n")
    print("| measure | seconds |\n|---|---:|")
    print(f"| `vidgen demo`, fleet start to final ({ns.workers} workers) | {demo['demo_s']:.1f} |")
    print(f"| `vidgen demo`, whole command | {demo['wall_s']:.1f} |")
    for step, seconds in demo["steps"].items():
        print(f"| step {step} | {seconds:.1f} |")
    print(f"| one x264 {ENCODE_PRESET} encode of the same frames | {encode:.1f} |")
    print(f"| video length | {video:.2f} |")
    print(f"\ndemo ÷ one encode: {figures['demo_vs_one_encode']:.2f} (goal ≤ 1.3)")
    if ns.json:
        print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
