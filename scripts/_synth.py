"""Keyword-driven FFmpeg recipes for the offline sound-effect provider.

A prompt such as "heavy rain with distant thunder" picks the recipes whose keywords it contains
(rain, thunder), each recipe becomes a small FFmpeg filter graph built from noise, sine and
expression sources, and the graphs are mixed. Seeds are fixed per prompt so the same prompt always
gives the same audio. Levels are settled afterwards by the caller with a measured loudness pass;
the per-recipe ``gain`` only balances recipes against each other inside a mix.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

RATE = 48000
FRAME = 256  # samples per generated frame: volume envelopes step every 5 ms, too fine to hear
MAX_RECIPES = 4


@dataclass
class Graph:
    """Builds one ``-filter_complex`` string; every method returns the label of a stereo stream."""

    duration: float
    seed: int
    parts: list[str] = field(default_factory=list)
    count: int = 0

    def _add(self, chain: str, inputs: tuple[str, ...] = ()) -> str:
        self.count += 1
        label = f"n{self.count}"
        self.parts.append("".join(f"[{i}]" for i in inputs) + chain + f"[{label}]")
        return label

    def _next_seed(self) -> int:
        self.seed = (self.seed * 1103515245 + 12345) % 2**31
        return self.seed

    def noise(self, color: str, filters: str = "", *, density: float | None = None) -> str:
        """Stereo noise from two differently seeded sources, so beds have width."""
        sides = []
        for _ in range(2):
            src = f"anoisesrc=color={color}:seed={self._next_seed()}:r={RATE}:d={self.duration:.4f}:n={FRAME}"
            if density is not None:
                src += f":density={density}"
            sides.append(self._add(src + (f",{filters}" if filters else "")))
        return self._add("join=inputs=2:channel_layout=stereo", tuple(sides))

    def expr(self, left: str, right: str | None = None, filters: str = "") -> str:
        """A signal written as an FFmpeg expression of ``t`` (one per channel)."""
        exprs = f"{left}|{right if right is not None else left}"
        src = f"aevalsrc=exprs='{exprs}':s={RATE}:d={self.duration:.4f}:n={FRAME}:c=stereo"
        return self._add(src + (f",{filters}" if filters else ""))

    def mix(self, labels: list[str], weights: list[float]) -> str:
        if len(labels) == 1 and weights[0] == 1.0:
            return labels[0]
        w = " ".join(f"{x:.4f}" for x in weights)
        return self._add(
            f"amix=inputs={len(labels)}:normalize=0:duration=longest:weights='{w}'", tuple(labels)
        )

    def then(self, label: str, filters: str) -> str:
        return self._add(filters, (label,))


def env(expr: str) -> str:
    """A per-frame volume envelope (the expression may use ``t``)."""
    return f"volume='{expr}':eval=frame"


def burst(at: float, attack: float, decay: float) -> str:
    """0 before ``at``, then a fast rise and an exponential decay: the shape of a hit."""
    tt = f"(t-{at:.4f})"
    return f"gte(t,{at:.4f})*(1-exp(-{tt}*{attack:g}))*exp(-{tt}*{decay:g})"


# ---------------------------------------------------------------- recipes


def rain(g: Graph) -> str:
    bed = g.noise("pink", "highpass=f=400,lowpass=f=7000")
    drops = g.noise("velvet", "highpass=f=1800,lowpass=f=9000", density=0.002)
    return g.mix([bed, drops], [1.0, 0.25])


def wind(g: Graph) -> str:
    low = g.noise(
        "brown", "bandpass=f=350:width_type=h:w=260," + env("0.3+0.7*pow(sin(PI*t/7.3),2)")
    )
    high = g.noise(
        "pink", "bandpass=f=1100:width_type=h:w=500," + env("0.1+0.5*pow(sin(PI*t/7.3+1.2),2)")
    )
    return g.then(g.mix([low, high], [1.0, 0.5]), env("0.6+0.4*sin(2*PI*t/11+0.5)"))


def thunder(g: Graph) -> str:
    d = g.duration
    hits = [(0.05 * d, 1.0, 1.3), (0.45 * d, 0.7, 1.8), (0.72 * d, 0.45, 2.5)]
    rumble_env = "0.06" + "".join(f"+{a}*{burst(at, 12, k)}" for at, a, k in hits)
    crack_env = "+".join(f"{a}*{burst(at, 200, 14)}" for at, a, _ in hits)
    rumble = g.noise("brown", "lowpass=f=160,lowpass=f=220," + env(rumble_env))
    crack = g.noise("white", "highpass=f=1200,lowpass=f=6000," + env(crack_env))
    return g.mix([rumble, crack], [1.0, 0.12])


def hum(g: Graph) -> str:
    tone = (
        "(0.5*sin(2*PI*60*t)+0.3*sin(2*PI*120*t)+0.15*sin(2*PI*180*t)+0.08*sin(2*PI*300*t))"
        "*(0.92+0.08*sin(2*PI*0.7*t))"
    )
    air = g.noise("pink", "lowpass=f=500")
    return g.mix([g.expr(tone), air], [1.0, 0.05])


def engine(g: Graph) -> str:
    f = "(38+3*sin(2*PI*0.4*t))"
    idle = f"0.5*sin(2*PI*{f}*t+0.9*sin(2*PI*{f}*t))+0.2*sin(4*PI*{f}*t)"
    rumble = g.noise("brown", "lowpass=f=300")
    return g.mix([g.expr(idle, filters="lowpass=f=900"), rumble], [1.0, 0.6])


def whoosh(g: Graph) -> str:
    centre, spread = 0.4 * g.duration, min(0.25, g.duration / 8)
    bands = []
    for i, fc in enumerate((300, 700, 1500, 3000, 5500)):
        peak = centre + (i - 2) * spread * 0.6
        shape = f"exp(-pow(t-{peak:.4f},2)/{2 * spread * spread:.5f})"
        bands.append(
            g.noise("pink", f"bandpass=f={fc}:width_type=h:w={fc * 0.7:.0f}," + env(shape))
        )
    return g.mix(bands, [1.0, 1.0, 1.2, 1.4, 1.6])


def impact(g: Graph) -> str:
    tt = "(t-0.03)"
    thump = f"gte(t,0.03)*sin(2*PI*(48*{tt}+4*(1-exp(-18*{tt}))))*exp(-5*{tt})*(1-exp(-600*{tt}))"
    click = g.noise("brown", "lowpass=f=2500," + env(burst(0.03, 800, 30)))
    return g.mix([g.expr(thump), click], [1.0, 0.8])


def explosion(g: Graph) -> str:
    blast = g.noise("brown", "lowpass=f=400," + env(burst(0.03, 60, 1.2)))
    debris = g.noise("white", "lowpass=f=4000," + env(burst(0.03, 300, 7)))
    return g.mix([blast, debris, impact(g)], [1.0, 0.25, 0.8])


def fire(g: Graph) -> str:
    roar = g.noise("brown", "lowpass=f=600," + env("0.7+0.3*sin(2*PI*0.9*t)*sin(2*PI*0.37*t)"))
    crackle = g.noise("velvet", "highpass=f=1200", density=0.0006)
    return g.mix([roar, crackle], [1.0, 0.5])


def waves(g: Graph) -> str:
    swell = "0.15+0.85*pow(sin(PI*t/6+0.5),2)"
    return g.noise("pink", "highpass=f=80,lowpass=f=1800," + env(swell))


def water(g: Graph) -> str:
    flow = g.noise("pink", "bandpass=f=1600:width_type=h:w=1400,tremolo=f=6:d=0.3")
    bubbles = g.noise("white", "bandpass=f=3500:width_type=h:w=1500,tremolo=f=11:d=0.6")
    return g.mix([flow, bubbles], [1.0, 0.3])


def birds(g: Graph) -> str:
    m1, m2 = "mod(t,1.1)", "mod(t+0.45,0.73)"
    one = f"lt({m1},0.16)*pow(sin(PI*{m1}/0.16),2)*sin(2*PI*3400*t+3*sin(2*PI*22*t))"
    two = f"lt({m2},0.09)*pow(sin(PI*{m2}/0.09),2)*sin(2*PI*(4300*t+9000*pow({m2},2)))"
    song = g.expr(f"0.6*({one})+0.25*({two})", f"0.25*({one})+0.6*({two})")
    forest = g.noise("pink", "lowpass=f=3000")
    return g.mix([song, forest], [1.0, 0.06])


def crickets(g: Graph) -> str:
    m = "mod(t,0.6)"
    chirp = f"lt({m},0.15)*(0.5+0.5*sin(2*PI*30*t))*sin(2*PI*4700*t)"
    night = g.noise("pink", "lowpass=f=600")
    return g.mix([g.expr(chirp, f"0.6*{chirp}"), night], [0.5, 0.15])


def footsteps(g: Graph) -> str:
    m = "mod(t-0.05,0.55)"
    step = f"gte(t,0.05)*((random(0)*2-1)*0.6*exp(-40*{m})+sin(2*PI*85*{m})*exp(-30*{m}))"
    return g.expr(step, filters="lowpass=f=1500")


def crowd(g: Graph) -> str:
    voices = []
    for fc, rate in ((300, 3.1), (700, 4.3), (1200, 5.7), (2500, 2.3)):
        voices.append(
            g.noise("pink", f"bandpass=f={fc}:width_type=h:w={fc * 0.6:.0f},tremolo=f={rate}:d=0.7")
        )
    return g.mix(voices, [1.0, 1.0, 0.8, 0.5])


def beep(g: Graph) -> str:
    tones = []
    for at, f in ((0.05, 880), (0.25, 1320)):
        window = f"between(t,{at},{at + 0.12})*pow(sin(PI*(t-{at})/0.12),2)"
        tones.append(f"{window}*sin(2*PI*{f}*t)")
    return g.expr("0.5*(" + "+".join(tones) + ")")


def bell(g: Graph) -> str:
    partials = "(sin(2*PI*880*t)+0.5*sin(2*PI*2210*t)+0.3*sin(2*PI*3530*t))"
    return g.expr(f"0.4*{burst(0.03, 300, 2.5)}*{partials}")


def clock(g: Graph) -> str:
    m = "mod(t,0.5)"
    tick = f"(random(0)*2-1)*exp(-900*{m})+0.4*sin(2*PI*3000*t)*exp(-300*{m})"
    return g.expr(tick, filters="highpass=f=1500")


def ambient(g: Graph) -> str:
    pad = "(0.3*sin(2*PI*110*t)+0.2*sin(2*PI*164.81*t)+0.12*sin(2*PI*220.4*t))*(0.8+0.2*sin(2*PI*0.15*t))"
    air = g.noise("pink", "lowpass=f=900")
    return g.mix([g.expr(pad, filters="lowpass=f=400"), air], [0.25, 0.5])


@dataclass(frozen=True)
class Recipe:
    name: str
    words: tuple[str, ...]
    build: Callable[[Graph], str]
    # Balances recipes inside a mix: measured so each alone lands near -24 LUFS (beds) or -20
    # LUFS (accents, which should stand out of a bed they are mixed with).
    gain_db: float = 0.0
    accent: bool = False  # a hit rather than a bed: allowed to sit louder and peakier


RECIPES: tuple[Recipe, ...] = (
    Recipe("rain", ("rain", "drizzle", "rainfall", "downpour", "shower", "storm", "thunderstorm"), rain, -9.4),
    Recipe("wind", ("wind", "breeze", "gust", "gale", "storm", "blizzard", "howl"), wind, -2.1),
    Recipe("thunder", ("thunder", "lightning", "storm", "thunderstorm"), thunder, 6.8, accent=True),
    Recipe("hum", ("hum", "buzz", "electric", "machine", "fridge", "server", "drone"), hum, -16.3),
    Recipe("engine", ("engine", "motor", "car", "truck", "traffic", "vehicle", "city"), engine, -14.8),
    Recipe("whoosh", ("whoosh", "swoosh", "swish", "swoop", "transition", "fly"), whoosh, -4.1, accent=True),
    Recipe("impact", ("impact", "hit", "thud", "punch", "slam", "knock", "bang", "crash", "drop"), impact, -5.8, accent=True),
    Recipe("explosion", ("explosion", "explode", "blast", "boom", "detonate"), explosion, -1.4, accent=True),
    Recipe("fire", ("fire", "flame", "campfire", "burn", "crackle", "fireplace"), fire, -7.0),
    Recipe("waves", ("ocean", "wave", "sea", "surf", "beach", "tide", "shore"), waves, -5.1),
    Recipe("water", ("water", "stream", "river", "brook", "creek", "fountain", "splash", "drip"), water, -5.7),
    Recipe("birds", ("bird", "chirp", "tweet", "songbird", "forest", "morning"), birds, -11.6),
    Recipe("crickets", ("cricket", "insect", "night", "cicada"), crickets, -10.5),
    Recipe("footsteps", ("footstep", "step", "walk", "running", "stomp"), footsteps, -3.7, accent=True),
    Recipe("crowd", ("crowd", "people", "chatter", "murmur", "cafe", "restaurant", "audience", "market", "city"), crowd, -3.7),
    Recipe("beep", ("beep", "ui", "click", "notification", "alert", "interface", "button"), beep, -6.3, accent=True),
    Recipe("bell", ("bell", "chime", "ding", "gong"), bell, -4.8, accent=True),
    Recipe("clock", ("clock", "tick"), clock, 4.9, accent=True),
)  # fmt: skip
AMBIENT = Recipe("ambient", (), ambient, -3.8)


_ENDINGS = "s|es|y|ing|ed|er|ers|ies"


def _forms(keyword: str) -> re.Pattern[str]:
    """The keyword and its usual inflections (rainy, humming, exploding), but not other words
    that merely start with it (window is not wind)."""
    stems = [re.escape(keyword), re.escape(keyword + keyword[-1])]
    if keyword.endswith("e"):
        stems.append(re.escape(keyword[:-1]))
    return re.compile(f"(?:{'|'.join(stems)})(?:{_ENDINGS})?")


def matches(recipe: Recipe, word: str) -> bool:
    return any(word == k or _forms(k).fullmatch(word) for k in recipe.words)


def pick(prompt: str) -> list[Recipe]:
    """The recipes a prompt names, in the order first mentioned; the ambient bed when none."""
    chosen: list[Recipe] = []
    for word in re.findall(r"[a-z]+", prompt.lower()):
        for recipe in RECIPES:
            if recipe not in chosen and matches(recipe, word):
                chosen.append(recipe)
    return chosen[:MAX_RECIPES] or [AMBIENT]


def build(prompt: str, duration: float) -> tuple[str, str, list[Recipe]]:
    """A filter graph rendering ``duration`` seconds for ``prompt``; returns (graph, out label, recipes)."""
    recipes = pick(prompt)
    g = Graph(duration=duration, seed=zlib.crc32(prompt.encode()) % 100_000 + 1)
    labels = [r.build(g) for r in recipes]
    out = g.mix(labels, [10 ** (r.gain_db / 20) for r in recipes])
    out = g.then(out, f"aformat=sample_fmts=flt:sample_rates={RATE}:channel_layouts=stereo")
    return ";".join(g.parts), out, recipes
