"""Load and validate ``channel_configs/*.yaml``; every problem names the file and the field.

Decisions:
- ``slug`` is required and must equal the file name (``deep-sea-tales.yaml`` holds slug
  ``deep-sea-tales``): the slug is the channel's permanent key in the database, so renaming a
  file must never silently rename (or fork) a channel.
- All files are checked before anything is reported, so one run lists every problem.
- YAML is read with a ``SafeLoader`` subclass (safe constructors only) that refuses duplicate
  keys, which PyYAML otherwise resolves silently (last one wins), and that reads ``16:9`` and
  ``17:00`` as text rather than YAML 1.1 base-60 numbers (969 and 1020). Aliases (``*name``)
  are refused (a recursive or exponential alias could hang the loader).
- A paid provider needs an API key, but nothing here checks keys: the same file is valid on a
  machine that has them; the start-up checks refuse to run a channel whose keys are missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from app.channels.config_errors import describe_error, field_path
from app.channels.config_providers import Providers
from app.channels.config_schema import (
    DEFAULT_REVIEW_GATES,
    Branding,
    Budget,
    ChannelConfig,
    Frame,
    YouTubeDefaults,
    render_template,
)

__all__ = [
    "DEFAULT_REVIEW_GATES",
    "Branding",
    "Budget",
    "ChannelConfig",
    "ChannelConfigError",
    "ConfigProblem",
    "Frame",
    "Providers",
    "YouTubeDefaults",
    "load_channel_config",
    "load_channel_configs",
    "render_template",
]

CONFIG_SUFFIXES = (".yaml", ".yml")
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_MAX_TAB_REPORTS = 3
# A real channel config is a few KB; PyYAML needs ~2 s per MB, so a stray huge file would stall
# every start-up for minutes before failing anyway.
MAX_CONFIG_BYTES = 1024 * 1024

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with one file; ``field`` is a dotted path, ``None`` for the whole file."""

    file: str
    field: str | None
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}: " if self.field else f"{self.file}: "
        suffix = f" (line {self.line})" if self.line and self.field else ""
        return f"{where}{self.message}{suffix}"


class ChannelConfigError(Exception):
    """Every problem found in the channel configs, one per line of the message."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        if len(problems) == 1:
            text = str(problems[0])
        else:
            text = f"{len(problems)} problems in channel configs:\n" + "\n".join(
                f"  {p}" for p in problems
            )
        super().__init__(text)


class _ConfigLoader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1 base-60 numbers (so ``16:9`` stays text)."""


_ConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_INT_TAG, _FLOAT_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ConfigLoader.add_implicit_resolver(
    _INT_TAG,
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)
_ConfigLoader.add_implicit_resolver(
    _FLOAT_TAG,
    re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def display_path(path: Path) -> str:
    """The path relative to the working directory when it is inside it (shorter messages)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _walk_nodes(
    node: yaml.Node, path: Loc, lines: dict[Loc, int], visited: set[int]
) -> list[tuple[Loc, str]]:
    """Record each key's line; return (path, message) for duplicate keys and aliases.

    Aliases are refused: a config gains little from them, and a node reached twice could make
    this walk (and validation) loop or blow up exponentially.
    """
    if id(node) in visited:
        return [(path, "aliases (*name) are not supported in channel configs; write the value out")]
    visited.add(id(node))
    found: list[tuple[Loc, str]] = []
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            line = key_node.start_mark.line + 1
            if key in seen:
                found.append(
                    (
                        (*path, key),
                        f"duplicate key (first on line {seen[key]}, again on line {line}); keep one",
                    )
                )
                continue
            seen[key] = line
            lines[(*path, key)] = line
            found += _walk_nodes(value_node, (*path, key), lines, visited)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found += _walk_nodes(item, (*path, index), lines, visited)
    return found


def _tab_problems(shown: str, text: str) -> list[ConfigProblem]:
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            problems.append(
                ConfigProblem(
                    shown,
                    None,
                    f"line {number} is indented with a tab; YAML indentation must use spaces",
                )
            )
        if len(problems) >= _MAX_TAB_REPORTS:
            break
    return problems


class _FileProblemsError(Exception):
    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems


def _whole_file(shown: str, message: str) -> _FileProblemsError:
    return _FileProblemsError([ConfigProblem(shown, None, message)])


def _parse(shown: str, raw: bytes, lines: dict[Loc, int]) -> dict[str, Any]:
    """Bytes to a mapping, filling ``lines`` with each key's line number for later messages."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _whole_file(
            shown,
            f"is not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}); "
            "save it with UTF-8 encoding",
        ) from None
    tabs = _tab_problems(shown, text)
    if tabs:
        raise _FileProblemsError(tabs)
    try:
        loader = _ConfigLoader(text)
    except yaml.reader.ReaderError as exc:
        raise _whole_file(shown, _reader_message(text, exc)) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise _whole_file(
                shown, "file is empty; a channel config needs at least slug, name and providers"
            )
        structural = _walk_nodes(node, (), lines, set())
        if structural:
            raise _FileProblemsError(
                [ConfigProblem(shown, field_path(loc), message) for loc, message in structural]
            )
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        raise _whole_file(shown, _syntax_message(exc)) from None
    except yaml.reader.ReaderError as exc:
        raise _whole_file(shown, _reader_message(text, exc)) from None
    except yaml.YAMLError as exc:
        raise _whole_file(shown, f"YAML error: {exc}") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a single value ({type(data).__name__})"
        raise _whole_file(
            shown, f"the top level must be a mapping of keys (slug: ..., name: ...), not {kind}"
        )
    return data


def _reader_message(text: str, exc: yaml.reader.ReaderError) -> str:
    """PyYAML reports a control character by offset only; people need a line and column."""
    before = text[: exc.position]
    line = before.count("\n") + 1
    column = exc.position - (before.rfind("\n") + 1) + 1
    char = exc.character if isinstance(exc.character, str) else chr(exc.character)
    return (
        f"contains the control character U+{ord(char):04X} at line {line}, column {column}; "
        "YAML allows only printable text: remove it"
    )


def _syntax_message(exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    message = f"YAML syntax error{where}: {exc.problem or exc.context}"
    if exc.context and exc.problem and exc.context_mark:
        message += f" ({exc.context} that starts on line {exc.context_mark.line + 1})"
    return message


def _line_for(loc: Loc, lines: dict[Loc, int]) -> int | None:
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _validate(
    shown: str, stem: str, data: dict[str, Any], lines: dict[Loc, int]
) -> tuple[ChannelConfig | None, list[ConfigProblem]]:
    try:
        config = ChannelConfig.model_validate(data, context={"file_stem": stem})
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            loc, message = describe_error(error, data)
            problems.append(ConfigProblem(shown, field_path(loc), message, _line_for(loc, lines)))
        return None, problems
    return config, []


def _load(path: Path) -> tuple[ChannelConfig | None, list[ConfigProblem]]:
    shown = display_path(path)
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            message = (
                f"is {size} bytes; a channel config is at most {MAX_CONFIG_BYTES} bytes "
                "(a few KB is usual): is this the right file?"
            )
            return None, [ConfigProblem(shown, None, message)]
        raw = path.read_bytes()
    except OSError as exc:
        return None, [ConfigProblem(shown, None, f"cannot be read: {exc.strerror}")]
    lines: dict[Loc, int] = {}
    try:
        data = _parse(shown, raw, lines)
    except _FileProblemsError as exc:
        return None, exc.problems
    return _validate(shown, path.stem, data, lines)


def load_channel_config(path: Path) -> ChannelConfig:
    """One file; raises ``ChannelConfigError`` listing everything wrong with it."""
    config, problems = _load(Path(path))
    if problems or config is None:
        raise ChannelConfigError(problems)
    return config


def load_channel_configs(directory: Path) -> list[ChannelConfig]:
    """Every ``*.yaml``/``*.yml`` in ``directory`` (hidden files skipped), ordered by file name.

    Raises ``ChannelConfigError`` with the problems of all files at once, including slugs used
    by two files (``demo.yaml`` next to ``demo.yml``).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ChannelConfigError(
            [
                ConfigProblem(
                    display_path(directory),
                    None,
                    "channel config folder not found; create it or set CHANNEL_CONFIGS_DIR",
                )
            ]
        )
    files = sorted(
        p
        for p in directory.iterdir()
        if p.suffix in CONFIG_SUFFIXES and not p.name.startswith(".") and p.is_file()
    )
    configs: list[ChannelConfig] = []
    problems: list[ConfigProblem] = []
    owner: dict[str, Path] = {}
    for path in files:
        config, found = _load(path)
        problems += found
        if config is None:
            continue
        if config.slug in owner:
            problems.append(
                ConfigProblem(
                    display_path(path),
                    "slug",
                    f"slug {config.slug!r} is also used by {display_path(owner[config.slug])}; "
                    "every channel needs its own slug: remove or rename one of the two files",
                )
            )
            continue
        owner[config.slug] = path
        configs.append(config)
    if problems:
        raise ChannelConfigError(problems)
    return configs
