"""Reading a profile's YAML strictly: a key written twice is an error, not "the last one wins".

``yaml.safe_load`` keeps the last of two equal keys without a word, so a profile that sets
``epochs`` twice trains with whichever came last. ``load_unique_keys`` refuses it, naming the
key and both lines (as a YAML error); lists and mappings nested deeper than any profile needs are
refused (``NestedTooDeep``) before PyYAML's recursive composer could overflow the stack.
``description_text`` turns a profile's description into one line of text, whether it was written
as text or as a list of lines.
"""

from __future__ import annotations

from typing import Any

import yaml

from ..errors import LabError, quoted

MAX_DEPTH = 16  # a profile nests three deep (overrides: {experiment: {key: value}}); anchors and lists add a few


class _UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader whose mappings refuse a key that appears twice."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # "<<: *defaults": keys written here override the merged ones, as YAML means
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if isinstance(key, (str, int, float, bool)) and key in seen:
                # A YAMLError, so the caller's "not valid YAML" message names the file.
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {quoted(key)} appears twice (lines {seen[key]} and {line}); keep one",
                    key_node.start_mark)
            if isinstance(key, (str, int, float, bool)):
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


class NestedTooDeep(LabError):
    """A profile nests lists or mappings deeper than ``MAX_DEPTH``; the message names the line."""


def load_unique_keys(text: str) -> Any:
    """``yaml.safe_load`` that raises a ``yaml.YAMLError`` for a key written twice in one mapping,
    and ``NestedTooDeep`` for lists and mappings nested more than ``MAX_DEPTH`` deep."""
    _check_depth(text)
    return yaml.load(text, Loader=_UniqueKeyLoader)


def _check_depth(text: str) -> None:
    # PyYAML's parser keeps its own stack (no recursion), so its events show the depth safely.
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise NestedTooDeep(f"line {event.start_mark.line + 1} nests lists or mappings more than "
                                    f"{MAX_DEPTH} deep: a profile's values are plain numbers, words or short lists")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def description_text(value: Any, where: str) -> str:
    """A profile's ``description`` as one line: text, or a list of lines joined; nothing else."""
    if value is None:
        return ""
    if isinstance(value, list) and all(isinstance(line, str) for line in value):
        value = " ".join(value)
    if not isinstance(value, str):
        raise LabError(f"{where}: 'description' must be text, got {quoted(value)}")
    return " ".join(value.split())
