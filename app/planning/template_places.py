"""The offline planner's vocabulary: which places, things and people a brief's words call for.

The template planner has no model to read a topic, so it reads words. A sentence that names a
place (a harbour, a kitchen) gets that place; a sentence that names none gets the next place of
the topic's family (a sea story cycles lighthouse, open sea, harbour, deck, coast). Each place,
thing and person has the prompt phrase the planner writes into the plan; the phrases start with
the words the offline painter (``scripts/_procedural.py``) recognises, and read as a normal brief
to an image model too. The lists live here, apart from the planning logic, so growing the library
never touches the planner.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Place:
    words: tuple[str, ...]
    prompt: str
    thing: str | None = None  # what stands in it when the words name nothing


PLACES: dict[str, Place] = {
    "lighthouse": Place(
        ("lighthouse", "lighthouses", "beacon", "keeper", "keepers"),
        "a lighthouse on a rocky headland above the sea",
    ),
    "harbour": Place(
        ("harbour", "harbor", "port", "quay", "dock", "docks", "pier", "wharf"),
        "a harbour with a stone quay along the water",
        "boat",
    ),
    "ship_deck": Place(
        ("deck", "aboard", "crew", "sailors", "mast"),
        "the wooden deck of an old sailing vessel, open sea beyond the rail",
    ),
    "underwater": Place(
        ("underwater", "seabed", "reef", "coral", "deep", "octopus", "octopuses", "seaweed"),
        "underwater near the seabed, light rays and seaweed",
    ),
    "coast": Place(
        ("coast", "shore", "beach", "cliff", "cliffs", "rocks", "bay"),
        "a rocky coast with cliffs above the sea",
    ),
    "sea": Place(
        ("sea", "ocean", "waves", "voyage", "sail", "sailed", "sailing", "storm"),
        "the open sea stretching to the horizon",
        "ship",
    ),
    "market": Place(
        ("market", "markets", "bazaar", "stalls", "shop", "shops", "ingredients"),
        "a market street with striped stalls",
    ),
    "city": Place(
        (
            "city",
            "cities",
            "street",
            "streets",
            "skyline",
            "downtown",
            "traffic",
            "buildings",
            "canals",
        ),
        "a city street with tall buildings",
        "car",
    ),
    "village": Place(
        ("village", "villages", "town", "towns", "cottages", "peasants"),
        "a village on green hills",
        "house",
    ),
    "castle": Place(
        ("castle", "castles", "fortress", "palace", "king", "queen", "knight", "knights"),
        "a castle on a green hill",
    ),
    "kitchen": Place(
        (
            "kitchen",
            "cook",
            "cooks",
            "cooking",
            "bake",
            "baking",
            "oven",
            "stir",
            "boil",
            "recipe",
            "dough",
            "flour",
            "pan",
            "serve",
        ),
        "a warm kitchen with a counter and a window",
        "pot",
    ),
    "classroom": Place(
        ("classroom", "school", "teacher", "students", "lesson", "learn", "learned"),
        "a classroom with a blackboard and desks",
    ),
    "laboratory": Place(
        (
            "laboratory",
            "lab",
            "experiment",
            "experiments",
            "scientist",
            "scientists",
            "chemistry",
            "invention",
            "invented",
        ),
        "a laboratory with glass flasks on a bench",
    ),
    "library": Place(
        ("library", "books", "book", "archive", "records", "scholars", "written"),
        "a library with tall shelves of books",
    ),
    "farm": Place(
        ("farm", "farms", "field", "fields", "barn", "harvest", "wheat", "crops", "farmer"),
        "a farm with striped fields and a fence",
        "house",
    ),
    "river": Place(
        ("river", "rivers", "stream", "riverbank", "drink", "water"),
        "a river winding through green fields",
    ),
    "savanna": Place(
        ("savanna", "savannah", "grassland", "plains", "safari", "herd", "herds"),
        "a golden savanna with acacias",
    ),
    "jungle": Place(
        ("jungle", "rainforest", "tropical", "vines"),
        "a dense jungle with huge leaves and hanging vines",
    ),
    "forest": Place(
        ("forest", "forests", "woods", "woodland", "trees"),
        "a forest of tall pines",
    ),
    "mountain": Place(
        ("mountain", "mountains", "peak", "summit", "valley", "volcano", "volcanoes"),
        "snowy mountains above a green valley",
    ),
    "snowfield": Place(
        ("snow", "snowfield", "arctic", "antarctic", "glacier", "ice", "polar", "winter"),
        "a snowfield under a wide sky",
    ),
    "desert": Place(
        ("desert", "dune", "dunes", "sahara", "pyramid", "pyramids", "egypt", "camel"),
        "a desert with dunes and cacti",
    ),
    "cave": Place(
        ("cave", "caves", "cavern", "underground", "mine", "tunnel"),
        "a cave with a bright mouth and stalactites",
    ),
    "space": Place(
        (
            "space",
            "galaxy",
            "orbit",
            "orbits",
            "nebula",
            "cosmos",
            "universe",
            "planet",
            "planets",
            "astronaut",
            "astronauts",
            "saturn",
            "jupiter",
            "rings",
        ),
        "deep space among distant stars",
        "planet",
    ),
    "sky": Place(
        ("sky", "skies", "clouds", "flight", "fly", "flew", "birds", "wings", "telescope"),
        "a wide sky over low hills",
    ),
    "meadow": Place(
        ("meadow", "hills", "countryside", "park", "garden", "spring"),
        "a green meadow with round trees",
        "tree",
    ),
}

# A topic's family: the places its scenes cycle through when a sentence names no place itself.
FAMILIES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("sea", "ocean", "ship", "ships", "sail", "sailor", "sailors", "lighthouse", "lighthouses",
      "harbour", "harbor", "port", "coast", "navy", "pirate", "pirates", "boat", "boats", "island"),
     ("lighthouse", "sea", "harbour", "ship_deck", "coast")),
    (("recipe", "cook", "cooking", "bake", "baking", "bread", "soup", "food", "kitchen", "cake",
      "pasta", "pizza", "chef", "dish", "meal", "pancake", "pancakes", "cookies", "sourdough"),
     ("kitchen", "farm", "market", "kitchen")),
    (("space", "planet", "planets", "star", "stars", "moon", "mars", "saturn", "jupiter",
      "galaxy", "rocket", "astronaut", "orbit", "solar", "universe", "comet", "rings"),
     ("space", "sky", "space", "laboratory")),
    (("history", "war", "king", "queen", "empire", "ancient", "medieval", "revolution",
      "century", "castle", "knight", "knights", "rome", "roman", "viking", "vikings", "battle"),
     ("castle", "village", "library", "city")),
    (("science", "experiment", "chemistry", "physics", "discovery", "invention", "inventor",
      "electricity", "atom", "atoms", "school"),
     ("laboratory", "classroom", "library", "city")),
    (("city", "cities", "town", "street", "streets", "tokyo", "london", "paris", "york",
      "venice", "berlin", "skyline", "traffic", "subway", "downtown", "urban", "metro", "canals"),
     ("city", "market", "harbour", "city")),
    (("snow", "winter", "arctic", "antarctic", "ice", "glacier", "polar"),
     ("snowfield", "mountain", "sea")),
    (("desert", "sahara", "dune", "dunes", "egypt", "pyramid", "pyramids", "pharaoh"),
     ("desert", "river", "desert", "library")),
    (("cave", "caves", "underground", "mine", "mines"), ("cave", "mountain", "forest")),
    (("octopus", "octopuses", "reef", "coral", "jellyfish", "squid", "seahorse", "underwater"),
     ("underwater", "coast", "underwater", "sea")),
)  # fmt: skip
DEFAULT_FAMILY = ("meadow", "forest", "mountain", "river")
SPACE_FAMILY = FAMILIES[2][1]

# Animals the painter draws, and where they live (the family of an animal topic).
ANIMAL_HOMES: dict[str, tuple[str, ...]] = {
    "elephant": ("savanna", "river", "jungle"),
    "lion": ("savanna", "river", "savanna"),
    "giraffe": ("savanna", "river", "savanna"),
    "tiger": ("jungle", "river", "forest"),
    "parrot": ("jungle", "sky", "river"),
    "whale": ("sea", "underwater", "coast"),
    "dolphin": ("sea", "underwater", "coast"),
    "shark": ("underwater", "sea", "underwater"),
    "fish": ("underwater", "river", "sea"),
    "penguin": ("snowfield", "sea", "snowfield"),
    "cow": ("farm", "meadow", "farm"),
    "horse": ("farm", "meadow", "mountain"),
    "bear": ("forest", "river", "mountain"),
    "deer": ("forest", "meadow", "snowfield"),
    "wolf": ("forest", "snowfield", "mountain"),
    "fox": ("forest", "meadow", "snowfield"),
    "owl": ("forest", "sky", "forest"),
    "eagle": ("mountain", "sky", "forest"),
    "bird": ("sky", "forest", "meadow"),
}

# Things the painter stands in a scene: the words that ask for them, the phrase, where they fit.
WATER = frozenset({"sea", "coast", "lighthouse", "harbour", "ship_deck", "river"})
INDOOR = frozenset({"kitchen", "classroom", "laboratory", "library", "cave", "underwater"})


@dataclass(frozen=True)
class Thing:
    words: tuple[str, ...]
    phrase: str
    fits: frozenset[str] | None = None  # the place kinds it may appear in; None: any outdoors


THINGS: dict[str, Thing] = {
    "lighthouse": Thing(("lighthouse", "lighthouses", "beacon"), "a lighthouse",
                        frozenset({"sea", "coast", "harbour", "ship_deck", "lighthouse"})),
    "ship": Thing(("ship", "ships", "galleon", "vessel", "vessels"), "a sailing ship", WATER),
    "boat": Thing(("boat", "boats", "fishermen", "fisherman", "canoe"), "a fishing boat", WATER),
    "fire": Thing(("fire", "fires", "flame", "flames", "coal", "hearth", "campfire"), "an open fire",
                  frozenset({"lighthouse", "cave", "village", "castle", "meadow", "forest", "desert"})),
    "house": Thing(("house", "houses", "home", "homes", "cottage", "barn"), "a house"),
    "castle": Thing(("castle", "castles", "fortress"), "a castle"),
    "car": Thing(("car", "cars", "taxi", "taxis", "traffic"), "a car",
                 frozenset({"city", "market", "village"})),
    "tree": Thing(("tree", "trees", "oak"), "a big tree"),
    "pot": Thing(("recipe", "soup", "stew", "pot", "boil", "cook", "cooking", "dish", "bake",
                 "baking", "bread", "sourdough", "dough"), "a cooking pot",
                 frozenset({"kitchen"})),
    "planet": Thing(("planet", "planets", "saturn", "jupiter", "mars", "rings"), "a ringed planet",
                    frozenset({"space", "sky"})),
    "rocket": Thing(("rocket", "rockets", "launch", "launched", "spaceship"), "a rocket",
                    frozenset({"space", "sky", "desert"})),
    **{name: Thing((name, name + "s"), f"{'an' if name[0] in 'aeiou' else 'a'} {name}",
                   frozenset(ANIMAL_HOMES[name]) | ({"sky"} if name in ("bird", "eagle", "owl", "parrot") else set()))
       for name in ANIMAL_HOMES},
}  # fmt: skip

# People: a sentence naming one gets a character, drawn from these words by the painter.
PEOPLE: dict[str, tuple[tuple[str, ...], str]] = {
    "keeper": (("keeper", "keepers"), "a lighthouse keeper, an old man in a blue coat"),
    "sailor": (("sailor", "sailors", "captain", "crew", "fisherman", "fishermen"),
               "a sailor in a blue coat"),
    "chef": (("chef", "cook", "baker", "grandmother"), "a chef in a white apron"),
    "scientist": (("scientist", "scientists", "inventor", "researcher", "researchers"),
                  "a scientist with glasses"),
    "astronaut": (("astronaut", "astronauts", "cosmonaut"), "an astronaut in a white suit"),
    "king": (("king", "queen", "emperor", "pharaoh", "ruler"), "a king with a crown"),
    "knight": (("knight", "knights", "soldier", "soldiers", "warrior"), "a knight in grey armour"),
    "farmer": (("farmer", "farmers"), "a farmer in a green shirt"),
    "teacher": (("teacher", "teachers", "professor"), "a teacher with glasses"),
    "explorer": (("explorer", "explorers", "traveller", "travelers", "traveler"),
                 "an explorer in a brown jacket"),
    "child": (("child", "children", "kid", "kids", "girl", "boy"), "a child in a red shirt"),
}  # fmt: skip

NIGHT_WORDS = ("night", "nights", "midnight", "dark", "darkness", "moon", "moonlight", "stars")
SUNSET_WORDS = ("sunset", "dusk", "evening", "twilight", "dawn", "sunrise")
WEATHER_WORDS: dict[str, tuple[str, ...]] = {
    "stormy weather": ("storm", "stormy", "storms", "thunder", "lightning", "gale"),
    "in the rain": ("rain", "rainy", "raining", "drizzle"),
    "in thick fog": ("fog", "foggy", "mist", "misty"),
    "with snowflakes falling": ("snowing", "snowfall", "blizzard"),
}


def words_of(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def _hits(words: list[str], vocabulary: tuple[str, ...]) -> int:
    return sum(1 for w in words if w in vocabulary)


def place_for(words: list[str]) -> str | None:
    """The place a sentence names most (ties: the earlier in ``PLACES``), or None."""
    scored = [
        (_hits(words, place.words), -i, kind) for i, (kind, place) in enumerate(PLACES.items())
    ]
    best = max(scored)
    return best[2] if best[0] > 0 else None


def family_for(words: list[str]) -> tuple[str, ...]:
    """The places a topic's scenes cycle through: an animal's homes, else the best family."""
    animal = next((w.rstrip("s") for w in words if w.rstrip("s") in ANIMAL_HOMES), None)
    if animal is not None:
        return ANIMAL_HOMES[animal]
    scored = [(_hits(words, keys), -i, kinds) for i, (keys, kinds) in enumerate(FAMILIES)]
    best = max(scored)
    return best[2] if best[0] > 0 else DEFAULT_FAMILY


def things_for(words: list[str], kind: str) -> list[str]:
    """Things the words name that can stand in ``kind``, in the order they are named."""
    found: list[tuple[int, str]] = []
    for name, thing in THINGS.items():
        positions = [i for i, w in enumerate(words) if w in thing.words]
        fits = thing.fits if thing.fits is not None else frozenset(PLACES) - INDOOR
        if positions and kind in fits:
            found.append((positions[0], name))
    return [name for _, name in sorted(found)]


def person_for(words: list[str]) -> str | None:
    return next((role for role, (keys, _) in PEOPLE.items() if _hits(words, keys)), None)


def time_for(words: list[str]) -> str | None:
    if _hits(words, NIGHT_WORDS):
        return "night"
    if _hits(words, SUNSET_WORDS):
        return "sunset"
    return None


def weather_for(words: list[str]) -> str | None:
    return next((phrase for phrase, keys in WEATHER_WORDS.items() if _hits(words, keys)), None)
