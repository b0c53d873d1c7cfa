"""Measurements the audio script tests assert on: loudness, level, spectrum, decoded samples.

They decode with the same FFmpeg the scripts use (imageio-ffmpeg), so a file that passes here is one
a player, and the assembly step, can read.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np


def _ffmpeg(*args: str) -> subprocess.CompletedProcess[bytes]:
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", *args]
    proc = subprocess.run(cmd, capture_output=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-500:]
    return proc


def samples(path: Path, rate: int = 48000) -> np.ndarray:
    """Decoded audio as float32, shape (frames, channels), at its own channel count."""
    channels = 2 if "stereo" in describe(path) else 1
    raw = _ffmpeg("-i", str(path), "-f", "f32le", "-ac", str(channels), "-ar", str(rate), "pipe:1")
    return np.frombuffer(raw.stdout, dtype=np.float32).reshape(-1, channels)


def describe(path: Path) -> str:
    """FFmpeg's one-line description of the first audio stream (codec, rate, layout)."""
    proc = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
        capture_output=True,
        check=False,
    )
    match = re.search(r"Audio: (.*)", proc.stderr.decode(errors="replace"))
    assert match, f"no audio stream in {path}"
    return match.group(1)


def mean_volume(path: Path) -> float:
    """volumedetect's mean level in dB (digital silence reads about -91)."""
    log = _ffmpeg("-i", str(path), "-af", "volumedetect", "-f", "null", "-").stderr.decode()
    return float(re.findall(r"mean_volume: (-?[\d.]+) dB", log)[-1])


def loudness(path: Path) -> tuple[float, float]:
    """EBU R128 integrated loudness (LUFS) and loudness range (LU)."""
    log = _ffmpeg("-i", str(path), "-af", "ebur128", "-f", "null", "-").stderr.decode()
    summary = log[log.rfind("Summary:") :]
    lufs = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))  # type: ignore[union-attr]
    lra = float(re.search(r"LRA:\s+(-?[\d.]+) LU", summary).group(1))  # type: ignore[union-attr]
    return lufs, lra


def spectral_centroid(path: Path) -> float:
    """Where the energy sits in frequency (Hz): low for a hum, high for rain."""
    mono = samples(path).mean(axis=1)
    spectrum = np.abs(np.fft.rfft(mono))
    freqs = np.fft.rfftfreq(len(mono), 1 / 48000)
    return float((spectrum * freqs).sum() / spectrum.sum())


def dynamics_db(path: Path, window: float = 0.1) -> float:
    """Loudest 100 ms window over the median window, in dB: high for a hit, near 0 for a bed."""
    mono = samples(path).mean(axis=1)
    size = int(48000 * window)
    frames = mono[: len(mono) // size * size].reshape(-1, size)
    rms = np.sqrt(np.mean(frames**2, axis=1)) + 1e-9
    return float(20 * np.log10(rms.max() / np.median(rms)))
