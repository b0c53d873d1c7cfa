"""Benchmark (not a test): one 16-scene video assembled three ways, wall time and peak memory.

    uv run python benchmarks/assembly.py [--runs 3] [--scenes 16] [--workdir DIR]

Methods (same inputs, same work, x264 preset medium for all):
- ours: ``assemble_video.py --scene`` per scene (each scene encoded once), then ``--manifest``
  over the finished segments (stream copy + two-pass loudnorm on the audio), timed separately;
- MoviePy 2.2.1 as MoneyPrinterTurbo uses it (concatenate_videoclips + CompositeAudioClip,
  write_videofile libx264), in its own uv environment because it pins Pillow < 12;
- one FFmpeg filter_complex pass (all inputs, trim/concat/amix/loudnorm in one command).

Peak memory is the largest summed RSS of the method's process tree, sampled every 50 ms with
psutil (MoviePy runs Python plus several FFmpeg readers and a writer at once). Medians of N runs
are printed as a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from assembly_methods import (
    FPS,
    PRESET,
    SceneMedia,
    ffmpeg,
    ffmpeg_one_pass_command,
    make_inputs,
    moviepy_command,
    moviepy_python,
    ours_final_command,
    ours_scene_commands,
)


@dataclass
class Sample:
    wall_s: float
    peak_mib: float
    cpu_s: float  # user + sys of every (reaped) descendant: robust when the machine is busy


@dataclass
class Row:
    name: str
    samples: list[Sample] = field(default_factory=list)
    note: str = ""

    def median(self, attr: str) -> float:
        return statistics.median(getattr(s, attr) for s in self.samples)


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def measure(cmds: list[list[str]]) -> Sample:
    """Run commands one after another; wall time of all, peak summed RSS of any one's tree."""
    peak = 0
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    for cmd in cmds:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ps = psutil.Process(proc.pid)
        stop = threading.Event()
        peaks: list[int] = [0]

        def sample(
            ps: psutil.Process = ps, peaks: list[int] = peaks, stop: threading.Event = stop
        ) -> None:
            while not stop.is_set():
                try:
                    peaks[0] = max(peaks[0], _tree_rss(ps))
                except psutil.NoSuchProcess:
                    return
                stop.wait(0.05)

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        _, err = proc.communicate()
        stop.set()
        thread.join()
        if proc.returncode != 0:
            raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd[:4])} ...\n{err[-2000:]}")
        peak = max(peak, peaks[0])
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Sample(wall, peak / 2**20, cpu)


def check_output(path: Path) -> str:
    """Duration and integrated loudness of a method's output, so the table compares like work."""
    import av

    with av.open(str(path)) as c:
        v = c.streams.video[0]
        frames, size = v.frames, f"{v.codec_context.width}x{v.codec_context.height}"
    stderr = subprocess.run(
        [ffmpeg(), "-hide_banner", "-nostats", "-i", str(path), "-af", "ebur128", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    match = re.search(r"I:\s*(-?[\d.]+) LUFS", stderr.split("Summary:")[-1])
    lufs = match.group(1) if match else "?"
    return f"{size}, {frames} frames ({frames / FPS:.2f} s), {lufs} LUFS"


def run(args: argparse.Namespace) -> None:
    work = args.workdir or Path(tempfile.mkdtemp(prefix="assembly-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    size = (1920, 1080)
    print(f"# inputs in {work}", file=sys.stderr)
    scenes: list[SceneMedia] = make_inputs(work / "inputs", args.scenes, args.clip_s, size)
    expected = sum(s.frames for s in scenes)
    python = moviepy_python(work)
    rows = {k: Row(k) for k in ("segments", "final", "ours", "moviepy", "ffmpeg")}
    outputs: dict[str, Path] = {}

    def ours(i: int) -> None:
        out = work / f"ours-{i}"
        out.mkdir(exist_ok=True)
        seg = measure(ours_scene_commands(scenes, out, size))
        outputs["ours"] = out / "final.mp4"
        fin = measure([ours_final_command(scenes, out, outputs["ours"])])
        rows["segments"].samples.append(seg)
        rows["final"].samples.append(fin)
        rows["ours"].samples.append(
            Sample(seg.wall_s + fin.wall_s, max(seg.peak_mib, fin.peak_mib), seg.cpu_s + fin.cpu_s)
        )

    def moviepy(i: int) -> None:
        outputs["moviepy"] = work / f"moviepy-{i}.mp4"
        rows["moviepy"].samples.append(
            measure([moviepy_command(python, scenes, work, outputs["moviepy"])])
        )

    def one_pass(i: int) -> None:
        outputs["ffmpeg"] = work / f"ffmpeg-{i}.mp4"
        rows["ffmpeg"].samples.append(measure([ffmpeg_one_pass_command(scenes, outputs["ffmpeg"])]))

    methods: dict[str, Callable[[int], None]] = {
        "ours": ours,
        "moviepy": moviepy,
        "ffmpeg": one_pass,
    }
    for i in range(args.runs):
        for name, method in methods.items():  # interleaved, so drift hits every method alike
            method(i)
            last = rows[name].samples[-1]
            print(
                f"# run {i + 1} {name}: {last.wall_s:.1f} s wall, {last.cpu_s:.1f} s CPU, "
                f"{last.peak_mib:.0f} MiB, load {os.getloadavg()[0]:.1f}",
                file=sys.stderr,
            )

    labels = {
        "segments": f"ours: {args.scenes} scene segments (--scene, sequential)",
        "final": "ours: final concat (stream copy) + 2-pass loudnorm",
        "ours": "ours: total",
        "moviepy": "MoviePy 2.2.1 (concatenate_videoclips + CompositeAudioClip)",
        "ffmpeg": "FFmpeg, one filter_complex pass",
    }
    load = os.getloadavg()
    print(
        f"\nload average at the end: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"\n{args.scenes} scenes of 1080p30, {expected} frames ({expected / FPS:.1f} s), "
          f"x264 preset {PRESET}, medians of {args.runs} run(s)\n")  # fmt: skip
    print("| method | wall time (s) | CPU time (s) | peak memory (MiB) |")
    print("|---|---:|---:|---:|")
    for key, label in labels.items():
        row = rows[key]
        print(
            f"| {label} | {row.median('wall_s'):.1f} | {row.median('cpu_s'):.1f} "
            f"| {row.median('peak_mib'):.0f} |"
        )
    print()
    for name in ("ours", "moviepy", "ffmpeg"):
        print(f"- {name} output: {check_output(outputs[name])}")
    if args.json:
        print(json.dumps({k: [s.__dict__ for s in r.samples] for k, r in rows.items()}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--scenes", type=int, default=16)
    p.add_argument("--clip-s", type=float, default=5.3, help="input clip length (trimmed to scene)")
    p.add_argument(
        "--workdir", type=Path, help="keep inputs and outputs here (default: a temp dir)"
    )
    p.add_argument("--json", action="store_true", help="also print every sample as JSON")
    run(p.parse_args())


if __name__ == "__main__":
    main()
