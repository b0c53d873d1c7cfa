"""The three ways benchmarks/assembly.py assembles the same 16 scenes, and their input media.

Every method gets the same inputs and the same work: each clip trimmed to its scene length
(narration + 0.5 s), narration and effects mixed, x264 preset medium, AAC, concatenated.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import imageio_ffmpeg

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "assemble_video.py"
FPS = 30
RATE = 48000
PADDING_S = 0.5
SFX_GAIN_DB = -6.0
PRESET = "medium"
CRF = 20


@dataclass(frozen=True)
class SceneMedia:
    number: int
    clip: str
    narration: str
    sfx: str
    frames: int  # scene length in frames: narration + padding, rounded

    @property
    def seconds(self) -> float:
        return self.frames / FPS


def ffmpeg() -> str:
    return str(imageio_ffmpeg.get_ffmpeg_exe())


def _run(args: list[str]) -> None:
    subprocess.run([ffmpeg(), "-hide_banner", "-v", "error", "-y", *args], check=True)


def make_inputs(
    directory: Path, count: int, clip_s: float, size: tuple[int, int]
) -> list[SceneMedia]:
    """1080p30 testsrc2 clips, speech-like narration (~4.5 s) and noise effects, made once."""
    import av

    directory.mkdir(parents=True, exist_ok=True)
    w, h = size
    scenes: list[SceneMedia] = []
    for n in range(1, count + 1):
        clip, narration, sfx = (directory / f"{kind}{n:02d}" for kind in ("clip", "narr", "sfx"))
        clip, narration, sfx = (
            clip.with_suffix(".mp4"),
            narration.with_suffix(".wav"),
            sfx.with_suffix(".wav"),
        )
        speech_s = 4.3 + 0.4 * ((n * 7) % 5) / 4  # 4.3 .. 4.7 s
        if not clip.exists():
            _run(["-f", "lavfi", "-i", f"testsrc2=s={w}x{h}:r={FPS}:d={clip_s},hue=h={n * 22}",
                  "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(clip)])  # fmt: skip
        if not narration.exists():
            # A voice-like signal: a pitched tone with syllable-rate tremolo over band-limited noise.
            _run(["-f", "lavfi", "-i", f"sine=f={150 + 10 * n}:d={speech_s}:sample_rate=22050",
                  "-f", "lavfi", "-i", f"anoisesrc=d={speech_s}:c=pink:a=0.15:r=22050",
                  "-filter_complex", "[0]volume=0.4,tremolo=f=4:d=0.9[t];[1]bandpass=f=1200:w=800[b];"
                  "[t][b]amix=inputs=2:normalize=0", "-ac", "1", str(narration)])  # fmt: skip
        if not sfx.exists():
            _run(["-f", "lavfi", "-i", f"anoisesrc=d={clip_s}:c=brown:a=0.4:r={RATE}",
                  "-ac", "2", str(sfx)])  # fmt: skip
        with av.open(str(narration)) as container:
            narration_s = container.duration / 1_000_000
        frames = round((narration_s + PADDING_S) * FPS)
        scenes.append(SceneMedia(n, str(clip), str(narration), str(sfx), frames))
    return scenes


# ---------------------------------------------------------------- ours


def ours_scene_commands(
    scenes: list[SceneMedia], work: Path, size: tuple[int, int]
) -> list[list[str]]:
    cmds = []
    for s in scenes:
        spec = work / f"scene{s.number:02d}.json"
        spec.write_text(json.dumps({
            "number": s.number, "clip": s.clip, "narration": s.narration, "sfx": s.sfx,
            "padding_s": PADDING_S, "sfx_gain_db": SFX_GAIN_DB, "size": f"{size[0]}x{size[1]}",
        }))  # fmt: skip
        cmds.append([sys.executable, str(SCRIPT), "--scene", str(spec),
                     "--output", str(work / f"seg{s.number:02d}.mp4"), "--preset", PRESET,
                     "--crf", str(CRF)])  # fmt: skip
    return cmds


def ours_final_command(scenes: list[SceneMedia], work: Path, output: Path) -> list[str]:
    manifest = work / "manifest.json"
    segments = [str(work / f"seg{s.number:02d}.mp4") for s in scenes]
    manifest.write_text(json.dumps({"segments": segments}))
    return [sys.executable, str(SCRIPT), "--manifest", str(manifest), "--output", str(output),
            "--preset", PRESET, "--crf", str(CRF)]  # fmt: skip


# ---------------------------------------------------------------- MoviePy (as MoneyPrinterTurbo)

MOVIEPY_WORKER = """
import json, sys
from moviepy import AudioFileClip, CompositeAudioClip, VideoFileClip, concatenate_videoclips
from moviepy.audio.fx import MultiplyVolume

spec = json.load(open(sys.argv[1]))
clips = []
for s in spec["scenes"]:
    seconds = s["frames"] / spec["fps"]
    video = VideoFileClip(s["clip"], audio=False).subclipped(0, seconds)
    voice = AudioFileClip(s["narration"])
    effects = AudioFileClip(s["sfx"]).subclipped(0, seconds).with_effects([MultiplyVolume(spec["sfx_gain"])])
    audio = CompositeAudioClip([voice, effects]).with_duration(seconds)
    clips.append(video.with_audio(audio))
final = concatenate_videoclips(clips)
final.write_videofile(
    spec["output"], codec="libx264", preset=spec["preset"], audio_codec="aac", audio_bitrate="192k",
    audio_fps=48000, fps=spec["fps"], threads=2, ffmpeg_params=["-crf", str(spec["crf"]), "-pix_fmt", "yuv420p"],
    logger=None,
)
"""


def moviepy_python(directory: Path) -> str:
    """An interpreter with MoviePy 2.2.1 in its own venv: it pins Pillow < 12, the project does not."""
    venv = directory / "moviepy-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run(["uv", "venv", "-q", "--python", sys.executable, str(venv)], check=True)
        subprocess.run(
            ["uv", "pip", "install", "-q", "--python", str(python), "moviepy==2.2.1"], check=True
        )
    return str(python)


def moviepy_command(python: str, scenes: list[SceneMedia], work: Path, output: Path) -> list[str]:
    worker, spec = work / "moviepy_worker.py", work / "moviepy_spec.json"
    worker.write_text(MOVIEPY_WORKER)
    spec.write_text(json.dumps({
        "scenes": [asdict(s) for s in scenes], "fps": FPS, "output": str(output), "preset": PRESET,
        "crf": CRF, "sfx_gain": 10 ** (SFX_GAIN_DB / 20),
    }))  # fmt: skip
    return [python, str(worker), str(spec)]


# ---------------------------------------------------------------- one FFmpeg filter_complex pass


def ffmpeg_one_pass_command(scenes: list[SceneMedia], output: Path) -> list[str]:
    n = len(scenes)
    inputs: list[str] = []
    for key in ("clip", "narration", "sfx"):
        for s in scenes:
            inputs += ["-i", getattr(s, key)]
    fmt = f"aresample={RATE},aformat=sample_fmts=fltp:channel_layouts=stereo"
    parts, pairs = [], []
    for i, s in enumerate(scenes):
        samples = s.frames * RATE // FPS
        cut = f"apad,atrim=end_sample={samples}"
        parts += [
            f"[{i}:v]trim=end_frame={s.frames},setpts=PTS-STARTPTS,fps={FPS},format=yuv420p[v{i}]",
            f"[{n + i}:a]{fmt},{cut},asplit=2[n{i}][k{i}]",
            f"[{2 * n + i}:a]{fmt},volume={SFX_GAIN_DB}dB,{cut}[s{i}]",
            f"[s{i}][k{i}]sidechaincompress=threshold=0.02:ratio=8:attack=20:release=400[d{i}]",
            f"[n{i}][d{i}]amix=inputs=2:normalize=0:duration=first[a{i}]",
        ]
        pairs.append(f"[v{i}][a{i}]")
    parts.append(f"{''.join(pairs)}concat=n={n}:v=1:a=1[v][a]")
    parts.append(f"[a]loudnorm=I=-14:TP=-1.5:LRA=11,aresample={RATE}[ao]")
    return [ffmpeg(), "-hide_banner", "-v", "error", "-y", *inputs, "-filter_complex", ";".join(parts),
            "-map", "[v]", "-map", "[ao]", "-c:v", "libx264", "-profile:v", "high", "-preset", PRESET,
            "-crf", str(CRF), "-pix_fmt", "yuv420p", "-r", str(FPS), "-c:a", "aac", "-b:a", "192k",
            "-ar", str(RATE), "-ac", "2", "-movflags", "+faststart", str(output)]  # fmt: skip
