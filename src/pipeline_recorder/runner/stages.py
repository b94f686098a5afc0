"""The pipeline stages of DESIGN.md section 5, written once: numbers, names and the entities each stage saves.

>>> STAGES[2].name
'interception'
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    """One stage of a pipeline run: ``set_state(number, name)`` marks it, ``entities`` are what it may save."""

    number: int
    name: str
    entities: tuple[str, ...]


PIPELINE_STARTING = Stage(0, "pipeline_starting", ("input",))
TRANSLATION_AND_SAFETY = Stage(1, "translation_and_safety", ("translation", "safety"))
INTERCEPTION = Stage(2, "interception", ("interception",))
PRE_OUTPUT_SAFETY = Stage(3, "pre_output_safety", ("safety_pre_output",))
MEDIA_GENERATION = Stage(4, "media_generation", ("output_image", "output_audio", "output_video"))

STAGES: tuple[Stage, ...] = (PIPELINE_STARTING, TRANSLATION_AND_SAFETY, INTERCEPTION, PRE_OUTPUT_SAFETY,
                             MEDIA_GENERATION)

# The media a config can produce, and the entity type each one is saved as in stage 4.
MEDIA_KINDS: tuple[str, ...] = ("image", "audio", "video")


def media_entity_type(kind: str) -> str:
    """``"image"`` -> ``"output_image"``: the entity type stage 4 saves for a media kind."""
    if kind not in MEDIA_KINDS:
        raise ValueError(f"unknown media kind {kind!r}; known are {', '.join(MEDIA_KINDS)}")
    return f"output_{kind}"


def expected_outputs(media: tuple[str, ...] | list[str]) -> list[str]:
    """The entity types a run of a config with these media outputs produces, in stage order.

    Stage 3 checks every output before it is shown, so ``safety_pre_output`` is expected for media and text-only
    configs alike (a text-only config's output is its interception text); only media configs expect ``output_*``.
    """
    return [
        *PIPELINE_STARTING.entities,
        *TRANSLATION_AND_SAFETY.entities,
        *INTERCEPTION.entities,
        *PRE_OUTPUT_SAFETY.entities,
        *(media_entity_type(kind) for kind in dict.fromkeys(media)),
    ]
