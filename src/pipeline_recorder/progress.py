"""Progress of a run: pure functions over the expected outputs and the entities saved so far."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

ERROR_TYPE = "error"


def completed_outputs(entity_types: Iterable[str]) -> list[str]:
    """Distinct entity types saved so far, in order of first appearance; errors are not outputs."""
    seen: dict[str, None] = {}
    for entity_type in entity_types:
        if entity_type != ERROR_TYPE:
            seen.setdefault(entity_type, None)
    return list(seen)


def progress(expected: Sequence[str], completed: Iterable[str]) -> str:
    """``"k/n"``: n expected outputs, k of them with at least one entity. Errors and repeats never push k past n."""
    wanted = set(expected)
    done = sum(1 for entity_type in set(completed) if entity_type in wanted)
    return f"{done}/{len(wanted)}"
