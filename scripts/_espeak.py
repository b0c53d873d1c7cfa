"""A minimal ctypes binding to the espeak-ng library shipped in the ``espeakng-loader`` wheel.

The wheel carries ``libespeak-ng.so`` and its data, so offline speech needs no system package. We
use the synchronous output mode: ``espeak_Synth`` calls our callback with 16-bit mono PCM chunks
and returns when the whole text is spoken, which keeps the binding free of threads and queues.
"""

from __future__ import annotations

import ctypes
import itertools
import re
import wave
from dataclasses import dataclass
from pathlib import Path

AUDIO_OUTPUT_SYNCHRONOUS = 2
ESPEAK_RATE = 1  # words per minute, 80..450
ESPEAK_PITCH = 3  # 0..100, 50 is the voice's normal pitch
ESPEAK_CHARS_UTF8 = 1
EE_OK = 0
EVENT_LIST_TERMINATED = 0
EVENT_WORD = 1

RATE_RANGE = (80, 450)
PITCH_RANGE = (0, 99)

# int callback(short *wav, int numsamples, espeak_EVENT *events); returning 1 aborts synthesis.
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class _Event(ctypes.Structure):
    """espeak_EVENT from speak_lib.h; the callback gets an array ended by LIST_TERMINATED."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # 1-based character offset in the text
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # ms from the start of the speech
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),  # a union of int / char* / char[8]: only its size matters here
    ]


class EspeakError(RuntimeError):
    """espeak-ng could not be loaded, did not accept a setting, or produced no audio."""


@dataclass(frozen=True)
class Word:
    word: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Speech:
    pcm: bytes  # 16-bit little-endian signed mono
    sample_rate: int
    word_events: tuple[tuple[int, int], ...] = ()  # (text_position, audio_position ms)

    @property
    def duration(self) -> float:
        return len(self.pcm) / 2 / self.sample_rate

    def write_wav(self, path: Path) -> None:
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(self.sample_rate)
            out.writeframes(self.pcm)

    def words(self, text: str) -> list[Word]:
        """One entry per whitespace-separated word of ``text``, timed by espeak's WORD events.

        A word starts at the first event inside it (a number may raise several events); a word
        with no event of its own (a lone dash) starts where the one before it did. Each word ends
        where the next one starts; the last where the audio ends.
        """
        spans = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
        starts: list[float | None] = [None] * len(spans)
        for position, ms in self.word_events:
            offset = position - 1
            for i, (a, b) in enumerate(spans):
                if a <= offset < b:
                    if starts[i] is None:
                        starts[i] = ms / 1000
                    break
        filled = _fill_gaps(starts, self.duration)
        ends = [*filled[1:], self.duration]
        return [
            Word(text[a:b], round(s, 3), round(max(e, s), 3))
            for (a, b), s, e in zip(spans, filled, ends, strict=True)
        ]


def _fill_gaps(starts: list[float | None], end: float) -> list[float]:
    """Known starts kept (never decreasing); words espeak ran together share the gap evenly."""
    known = [(i, s) for i, s in enumerate(starts) if s is not None]
    bounds = [(-1, 0.0), *known, (len(starts), end)]
    filled = [0.0] * len(starts)
    for (i, a), (j, b) in itertools.pairwise(bounds):
        if 0 <= i < len(starts):
            filled[i] = a
        step = (max(b, a) - a) / (j - i)
        for k in range(i + 1, j):
            filled[k] = a + step * (k - i)
    for k in range(1, len(filled)):
        filled[k] = max(filled[k], filled[k - 1])
    return filled


def _load() -> tuple[ctypes.CDLL, str]:
    try:
        import espeakng_loader
    except ImportError as exc:
        raise EspeakError("the espeakng-loader package is not installed") from exc
    try:
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        data_path = espeakng_loader.get_data_path()
    except (OSError, RuntimeError) as exc:
        raise EspeakError(f"cannot load espeak-ng: {exc}") from exc
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
    lib.espeak_SetSynthCallback.restype = None
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByName.restype = ctypes.c_int
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_SetParameter.restype = ctypes.c_int
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.c_void_p,
        ctypes.c_void_p,
    ]
    lib.espeak_Synth.restype = ctypes.c_int
    lib.espeak_Terminate.argtypes = []
    lib.espeak_Terminate.restype = ctypes.c_int
    return lib, data_path


def synthesize(text: str, *, voice: str = "en", rate: int = 165, pitch: int = 50) -> Speech:
    """Speak ``text`` into memory; raise EspeakError with espeak-ng's complaint if anything fails."""
    lib, data_path = _load()
    sample_rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path.encode(), 0)
    if sample_rate <= 0:
        raise EspeakError(f"espeak-ng failed to initialise (data at {data_path})")
    chunks: list[bytes] = []
    events: list[tuple[int, int]] = []

    def on_audio(wav: ctypes._Pointer[ctypes.c_short], count: int, event_ptr: int | None) -> int:
        if wav and count > 0:
            chunks.append(ctypes.string_at(wav, count * 2))
        if event_ptr:
            array = ctypes.cast(event_ptr, ctypes.POINTER(_Event))
            i = 0
            while array[i].type != EVENT_LIST_TERMINATED:
                if array[i].type == EVENT_WORD:
                    events.append((array[i].text_position, array[i].audio_position))
                i += 1
        return 0

    callback = _SYNTH_CALLBACK(on_audio)  # kept referenced until synthesis is over
    lib.espeak_SetSynthCallback(callback)
    try:
        if lib.espeak_SetVoiceByName(voice.encode()) != EE_OK:
            raise EspeakError(f"espeak-ng has no voice named {voice!r}")
        for param, value, name in ((ESPEAK_RATE, rate, "rate"), (ESPEAK_PITCH, pitch, "pitch")):
            if lib.espeak_SetParameter(param, value, 0) != EE_OK:
                raise EspeakError(f"espeak-ng rejected {name}={value}")
        encoded = text.encode("utf-8")
        buffer = ctypes.create_string_buffer(encoded)
        status = lib.espeak_Synth(buffer, len(encoded) + 1, 0, 0, 0, ESPEAK_CHARS_UTF8, None, None)
        if status != EE_OK:
            raise EspeakError(f"espeak-ng synthesis failed with status {status}")
    finally:
        lib.espeak_Terminate()
    pcm = b"".join(chunks)
    if not pcm:
        raise EspeakError("espeak-ng produced no audio for this text")
    return Speech(pcm=pcm, sample_rate=sample_rate, word_events=tuple(events))
