"""Reading a changed metadata.json from the parse of its previous version (document.parse_metadata_since): the result
is always what a whole parse gives -- the same document or the same error -- and only appended records are parsed.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline_recorder import LivePipelineRecorder, RunStore, new_run_id
from pipeline_recorder.document import MetadataDocument, ParsedRun, parse_metadata, parse_metadata_since
from pipeline_recorder.errors import CorruptRunError
from pipeline_recorder.http.documents import Documents
from pipeline_recorder.naming import METADATA_FILENAME, entity_filename
from pipeline_recorder.runformat import new_header

WHERE = Path("run/metadata.json")
OWNER = {"pid": 1, "host": "h", "started": 1.0}


def header(run_id: str = "20250101_000000_abcd1234") -> dict[str, Any]:
    return new_header(run_id=run_id, config_name="c", execution_mode="m", safety_level="s", user_id="u",
                      expected_outputs=["text"], owner=OWNER)


def entity(sequence: int, revision: int = 1, meta: Any = None, entity_type: str = "text") -> dict[str, Any]:
    return {"sequence": sequence, "type": entity_type, "filename": entity_filename(sequence, entity_type, "txt"),
            "timestamp": "t", "metadata": {} if meta is None else {"m": meta}, "size": 1, "sha256": "0" * 64,
            "mime_type": "text/plain", "revision": revision}


def outcome(data: bytes, previous: ParsedRun | None) -> tuple[str, Any]:
    try:
        return "doc", parse_metadata_since(data, WHERE, previous)
    except CorruptRunError as exc:
        return "error", str(exc)


def whole(data: bytes) -> tuple[str, Any]:
    try:
        return "doc", parse_metadata(data, WHERE)
    except CorruptRunError as exc:
        return "error", str(exc)


def same_as_whole(data: bytes, previous: ParsedRun | None) -> ParsedRun | None:
    """Parse ``data`` from ``previous`` and check the outcome equals a whole parse (document, key order, error)."""
    kind, got = outcome(data, previous)
    expected_kind, expected = whole(data)
    assert kind == expected_kind
    if kind == "error":
        assert got == expected
        return None
    assert got.doc == expected
    assert list(got.doc) == list(expected)
    assert json.dumps(got.doc) == json.dumps(expected)
    return got  # type: ignore[no-any-return]


# -- the incremental path is taken when records were only appended -------------------------------------------------


def test_appended_records_are_parsed_alone_and_the_earlier_ones_are_shared() -> None:
    doc = MetadataDocument(header(), [entity(1), entity(2)])
    first = same_as_whole(doc.to_bytes(), None)
    assert first is not None and first.shared == 0
    doc.header["revision"] += 1
    doc.add_entity(entity(3, 2))
    second = same_as_whole(doc.to_bytes(), first)
    assert second is not None and second.shared == 2
    assert second.doc["entities"][0] is first.doc["entities"][0]  # shared, not parsed again
    assert second.doc["entities"] is not first.doc["entities"]  # the earlier document is left as it was
    assert len(first.doc["entities"]) == 2


def test_a_header_only_change_reuses_every_record() -> None:
    doc = MetadataDocument(header(), [entity(1)])
    first = same_as_whole(doc.to_bytes(), None)
    doc.header["current_state"] = {"stage": 3, "step": "x", "progress": "0/1"}
    doc.header["revision"] += 1
    second = same_as_whole(doc.to_bytes(), first)
    assert second is not None and second.shared == 1 and second.doc["current_state"]["stage"] == 3


def test_the_first_records_of_an_empty_run_are_parsed_from_its_empty_version() -> None:
    doc = MetadataDocument(header(), [])
    first = same_as_whole(doc.to_bytes(), None)
    doc.add_entity(entity(1))
    second = same_as_whole(doc.to_bytes(), first)
    assert second is not None and second.doc["entities"] == [entity(1)]


# -- every other change falls back to the whole parse, with the same result ---------------------------------------


def _first(entities: list[dict[str, Any]]) -> tuple[MetadataDocument, ParsedRun]:
    doc = MetadataDocument(header(), entities)
    parsed = same_as_whole(doc.to_bytes(), None)
    assert parsed is not None
    return doc, parsed


def test_a_repair_that_rewrites_an_earlier_record_is_parsed_whole() -> None:
    _, first = _first([entity(1), entity(2)])
    changed = MetadataDocument(header(), [entity(1, meta="repaired"), entity(2), entity(3)]).to_bytes()
    second = same_as_whole(changed, first)
    assert second is not None and second.shared == 0 and second.doc["entities"][0]["metadata"] == {"m": "repaired"}


def test_a_version_with_fewer_records_is_parsed_whole() -> None:
    _, first = _first([entity(1), entity(2)])
    for fewer in ([entity(1)], []):
        second = same_as_whole(MetadataDocument(header(), fewer).to_bytes(), first)
        assert second is not None and second.shared == 0 and len(second.doc["entities"]) == len(fewer)


def test_a_hand_made_file_is_parsed_whole_before_and_after() -> None:
    full = {**header(), "entities": [entity(1)]}
    first = same_as_whole(json.dumps(full, indent=4).encode(), None)
    assert first is not None and first.start == -1
    full["entities"].append(entity(2))
    second = same_as_whole(json.dumps(full, indent=4).encode(), first)
    assert second is not None and second.shared == 0


def test_a_header_not_laid_out_as_the_writer_does_is_parsed_whole() -> None:
    doc, first = _first([entity(1)])
    doc.add_entity(entity(2))
    data = doc.to_bytes().replace(b'"status": "running"', b'"status":"running"')
    second = same_as_whole(data, first)
    assert second is not None and second.shared == 0


@pytest.mark.parametrize("bad", [
    entity(1),  # a sequence listed twice
    {**entity(3), "filename": "03_image.png"},  # a filename that does not fit
    {"sequence": 3},  # keys missing
])
def test_an_appended_record_that_fails_a_check_gives_the_whole_parse_error(bad: dict[str, Any]) -> None:
    doc, first = _first([entity(1), entity(2)])
    doc.add_entity(bad)
    kind, message = outcome(doc.to_bytes(), first)
    assert kind == "error" and message == whole(doc.to_bytes())[1]


def test_an_appended_record_with_a_smaller_unique_sequence_is_accepted_as_the_whole_parse_does() -> None:
    doc, first = _first([entity(5)])
    doc.add_entity(entity(3))
    second = same_as_whole(doc.to_bytes(), first)
    assert second is not None and not second.increasing and [e["sequence"] for e in second.doc["entities"]] == [5, 3]


def test_a_header_that_fails_a_check_gives_the_whole_parse_error() -> None:
    doc, first = _first([entity(1)])
    doc.header["status"] = "bogus"
    doc.add_entity(entity(2))
    assert outcome(doc.to_bytes(), first) == whole(doc.to_bytes()) and whole(doc.to_bytes())[0] == "error"


def test_a_truncated_file_gives_the_whole_parse_error() -> None:
    doc, first = _first([entity(1)])
    doc.add_entity(entity(2))
    data = doc.to_bytes()[:-9]
    assert outcome(data, first) == whole(data) and whole(data)[0] == "error"


# -- property: any sequence of versions ------------------------------------------------------------------------

VALUES = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.text(max_size=8),
                   st.floats(allow_nan=False, allow_infinity=False))
STEPS = st.lists(st.one_of(
    st.tuples(st.just("append"), st.integers(1, 3), VALUES),
    st.tuples(st.just("state"), st.integers(0, 99), st.text(max_size=6)),
    st.tuples(st.just("rewrite"), st.integers(0, 5), VALUES),
    st.tuples(st.just("drop"), st.integers(0, 5), st.none()),
    st.tuples(st.just("hand"), st.sampled_from([None, 1, 2, 4]), st.none()),
    st.tuples(st.just("bad"), st.sampled_from(["dup", "lower", "filename", "keys", "json"]), st.none()),
    st.tuples(st.just("garble"), st.integers(0, 10**6), st.binary(min_size=1, max_size=3)),
), min_size=1, max_size=12)


def _version(doc: MetadataDocument, step: tuple[str, Any, Any]) -> tuple[MetadataDocument, bytes]:
    """The next file version after ``step``; ``doc`` is what the writer holds afterwards."""
    kind, arg, value = step
    last = doc.entities[-1]["sequence"] if doc.entities else 0
    doc.header["revision"] += 1
    if kind == "append":
        for offset in range(arg):
            doc.add_entity(entity(last + 1 + offset, doc.header["revision"], value))
    elif kind == "state":
        doc.header["current_state"] = {"stage": arg, "step": value, "progress": "0/1"}
    elif kind == "rewrite" and doc.entities:
        entities = [dict(e) for e in doc.entities]
        entities[arg % len(entities)]["metadata"] = {"rewritten": value}
        doc = MetadataDocument(doc.header, entities)
    elif kind == "drop" and doc.entities:
        doc = MetadataDocument(doc.header, doc.entities[: arg % len(doc.entities)])
    elif kind == "hand":
        return doc, json.dumps(doc.to_dict(), indent=arg, ensure_ascii=False).encode()
    elif kind == "bad":
        broken = MetadataDocument(doc.header, list(doc.entities))
        record = {"dup": entity(max(last, 1)), "lower": entity(0), "keys": {"sequence": last + 1},
                  "filename": {**entity(last + 1), "filename": "x.txt"}}.get(arg)
        if record is not None:
            broken.add_entity(record)
            return doc, broken.to_bytes()
        return doc, broken.to_bytes()[:-7] + b",\n    {\n  ]\n}\n"
    elif kind == "garble":
        data = bytearray(doc.to_bytes())
        at = arg % len(data)
        data[at:at + len(value)] = value
        return doc, bytes(data)
    return doc, doc.to_bytes()


def test_any_sequence_of_versions_parses_as_the_whole_parse_does() -> None:
    """Every version parses (or fails) exactly as a whole parse does. The cases are counted over all examples:
    the test fails if the cheap path, the whole parse or the failure path was never exercised."""
    seen: Counter[str] = Counter()

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(start=st.integers(0, 4), steps=STEPS)
    def check(start: int, steps: list[Any]) -> None:
        doc = MetadataDocument(header(), [entity(n) for n in range(1, start + 1)])
        previous = same_as_whole(doc.to_bytes(), None)
        written = True  # previous is the parse of a version in the writer's layout
        for step in steps:
            doc, data = _version(doc, step)
            parsed = same_as_whole(data, previous)
            if parsed is None:
                seen["unreadable"] += 1
            elif previous is not None and parsed.shared == len(previous.doc["entities"]) and parsed.shared:
                seen["incremental"] += 1
            else:
                seen["whole"] += 1
            if parsed is not None and previous is not None and written and step[0] in ("append", "state"):
                assert parsed.shared == len(previous.doc["entities"])  # the cheap path was taken
            if parsed is not None:  # a reader keeps its last good parse when a version cannot be read
                previous = parsed
                written = data == doc.to_bytes()

    check()
    assert seen["incremental"] >= 50 and seen["whole"] >= 50 and seen["unreadable"] >= 20, seen


# -- the three readers --------------------------------------------------------------------------------------------


def _expected(base: Path, run_id: str) -> dict[str, Any]:
    return parse_metadata((RunStore(base).run_folder(run_id) / METADATA_FILENAME).read_bytes(), WHERE)


def test_a_recorder_sees_records_another_writer_appended_as_a_whole_read_does(base: Path) -> None:
    run_id = new_run_id()
    reader = LivePipelineRecorder(run_id, "c", "m", "s", base_path=base)
    reader.save_entity("text", "mine")
    writer = LivePipelineRecorder.open(run_id, base_path=base)
    for n in range(3):
        writer.save_entity("text", f"theirs {n}")
        expected = _expected(base, run_id)
        assert reader.get_entities() == expected["entities"]
        assert reader.get_status()["revision"] == expected["revision"]
    reader.save_entity("text", "mine again")  # written from the incrementally read document
    assert [e["sequence"] for e in _expected(base, run_id)["entities"]] == [1, 2, 3, 4, 5]
    # Written in the writer's layout from what it had read incrementally: the file is exactly what serialising
    # its own whole parse gives.
    written = (RunStore(base).run_folder(run_id) / METADATA_FILENAME).read_bytes()
    assert MetadataDocument.from_dict(parse_metadata(written, WHERE)).to_bytes() == written


def test_the_change_feed_and_the_status_cache_read_appended_records_as_a_whole_read_does(base: Path) -> None:
    rec = LivePipelineRecorder(new_run_id(), "c", "m", "s", base_path=base)
    store = RunStore(base)
    documents = Documents(store)
    for n in range(4):
        rec.save_entity("text", f"entity {n}")
        if n == 2:
            rec.set_state(2, "middle")
        expected = _expected(base, rec.run_id)
        assert store.apply_liveness(rec.run_id, dict(store.parsed(rec.run_id).doc)) == expected
        snapshot = documents.snapshot(rec.run_id)
        assert snapshot.doc == expected
        assert snapshot.parsed.shared == (n if n else 0)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
def test_the_status_cache_gives_each_version_the_digest_a_fresh_cache_gives(tmp_path: Path, steps: list[Any]) -> None:
    run_id = header()["run_id"]
    store = RunStore(tmp_path / "digests")
    path = store.run_folder(run_id) / METADATA_FILENAME
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = MetadataDocument(header(), [entity(1)])
    path.write_bytes(doc.to_bytes())
    cached = Documents(store)
    digests = {doc.to_bytes(): cached.snapshot(run_id).digest}
    for number, step in enumerate(steps, 1):
        doc, data = _version(doc, step)
        path.write_bytes(data)
        os.utime(path, ns=(number * 10**9, number * 10**9))  # a new version even if a garble hit the header
        try:
            fresh = Documents(store).snapshot(run_id)
        except CorruptRunError:
            continue
        snapshot = cached.snapshot(run_id)
        assert (snapshot.doc, snapshot.digest) == (fresh.doc, fresh.digest)
        assert digests.setdefault(data, snapshot.digest) == snapshot.digest  # same bytes, same ETag
        assert [known for known, digest in digests.items() if digest == snapshot.digest] == [data]
