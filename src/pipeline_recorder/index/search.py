"""Full-text search of the listing (``?q=TEXT``): which words a run is found by, and what a query asks for.

A run is found by the words of its text entities (``text/plain``: the input, translations, the interception and
every text output), the first ``TEXT_BYTES`` of each. Both stores index the same words and read a query the same
way, so they give the same answers:

- words are runs of letters and digits (``_`` and punctuation separate them), case-folded, with accents removed
  (``Müller`` is found by ``muller`` and ``MÜLLER``); the stored text is those words, space-separated;
- a query is split the same way; a run matches when every query word is the start of one of its words
  (``hun`` finds ``Hund``; ``kleiner hund`` finds a run with both words, in any order);
- a query of more than ``MAX_QUERY_CHARS`` characters or ``MAX_QUERY_WORDS`` words, or without any letter or
  digit, is a ValidationError that says so.

The folder store keeps the words in its SQLite index (an FTS5 table over ``run_words``); the shared store in
PostgreSQL (a ``tsvector`` with a GIN index, ``stores/shared/listing.py``).
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import ValidationError
from ..stores.folder_files import open_regular  # the folder store's safe opener

log = logging.getLogger(__name__)

TEXT_BYTES = 16 * 1024  # of each text entity: enough for prompts and outputs, bounded for long texts
MAX_WORDS_CHARS = 64 * 1024  # the words kept per run
MAX_QUERY_CHARS = 200
MAX_QUERY_WORDS = 16
_WORD = re.compile(r"[^\W_]+")
_TEXT_MIME = "text/plain"

# The folder store's tables: the words per run, and an FTS5 index over them kept in step by triggers (an
# "external content" table: the words are stored once, in run_words). Self-contained: the listing's own tables
# (schema.py) know nothing of these.
#
# Each run's ``key`` (the FTS rowid) is ``ts_us * KEY_SLOTS + slot``: ordered as the listing is (newest first), so
# FTS5 hands out the matches of a query newest first and a page stops after its 51st match instead of sorting
# every match -- a word found in all 100,000 runs costs what a rare one does. Runs of one microsecond take the
# next free slot; the query puts those of the page's last microsecond in run-id order (``sqlite_page``).
KEY_SLOTS = 1024
# Other conditions that leave fewer runs than this: those runs are walked and their words read (sqlite_page).
FEW_RUNS = 2000
SQLITE_SCHEMA = (
    # ``run``, not ``run_id``: the listing's conditions name the runs table's columns bare (search_page joins both).
    "CREATE TABLE IF NOT EXISTS run_words (key INTEGER PRIMARY KEY, run TEXT NOT NULL UNIQUE, words TEXT NOT NULL)",
    "CREATE VIRTUAL TABLE IF NOT EXISTS run_words_fts USING fts5(words, content='run_words', content_rowid='key', "
    "tokenize='unicode61 remove_diacritics 0', prefix='1 2 3')",  # short prefixes: one doclist, not hundreds
    "CREATE TRIGGER IF NOT EXISTS run_words_added AFTER INSERT ON run_words BEGIN "
    "INSERT INTO run_words_fts (rowid, words) VALUES (new.key, new.words); END",
    "CREATE TRIGGER IF NOT EXISTS run_words_removed AFTER DELETE ON run_words BEGIN "
    "INSERT INTO run_words_fts (run_words_fts, rowid, words) VALUES ('delete', old.key, old.words); END",
    "CREATE TRIGGER IF NOT EXISTS run_words_changed AFTER UPDATE ON run_words BEGIN "
    "INSERT INTO run_words_fts (run_words_fts, rowid, words) VALUES ('delete', old.key, old.words); "
    "INSERT INTO run_words_fts (rowid, words) VALUES (new.key, new.words); END",
)
SQLITE_DELETE = "DELETE FROM run_words WHERE run = ?"


def sqlite_store_words(conn: sqlite3.Connection, rows: Iterable[tuple[str, int, str]]) -> None:
    """Store the words of runs ``(run_id, ts_us, words)`` (in the caller's transaction), each under a key of its
    microsecond; unchanged ones are left alone. A run whose microsecond has no free slot left is not searchable
    (logged): 1,024 runs would have to share one microsecond."""
    batch = list(rows)
    stored: dict[str, tuple[int, str]] = {}
    for start in range(0, len(batch), 500):  # what the index holds of these runs, 500 at a time
        names = [run_id for run_id, _, _ in batch[start:start + 500]]
        found = conn.execute(f"SELECT run, key, words FROM run_words WHERE run IN ({', '.join('?' * len(names))})",
                             names)
        stored.update((run, (key, words)) for run, key, words in found)
    for run_id, ts_us, text in batch:
        low = ts_us * KEY_SLOTS
        before = stored.get(run_id)
        if before is not None and low <= before[0] < low + KEY_SLOTS:
            if before[1] != text:
                conn.execute("UPDATE run_words SET words = ? WHERE key = ?", (text, before[0]))
                stored[run_id] = (before[0], text)
            continue
        if before is not None:
            conn.execute("DELETE FROM run_words WHERE key = ?", (before[0],))
            del stored[run_id]
        # The first run of a microsecond takes its first slot (a cold build: one statement per run) ...
        key = low
        if not conn.execute("INSERT OR IGNORE INTO run_words (key, run, words) VALUES (?, ?, ?)",
                            (key, run_id, text)).rowcount:
            # ... a later one the next free slot.
            key = int(conn.execute("SELECT max(key) FROM run_words WHERE key BETWEEN ? AND ?",
                                   (low, low + KEY_SLOTS - 1)).fetchone()[0]) + 1
            if key >= low + KEY_SLOTS:
                log.warning("run index: run %s is not searchable: %d runs share its timestamp", run_id, KEY_SLOTS)
                continue
            conn.execute("INSERT INTO run_words (key, run, words) VALUES (?, ?, ?)", (key, run_id, text))
        stored[run_id] = (key, text)


@dataclass(frozen=True)
class SearchPage:
    """The two ways to answer one listing page with ``q`` (``sqlite_page``); ``probe`` tells which: it counts the
    runs the other conditions leave, up to ``FEW_RUNS``."""

    probe: tuple[str, tuple[Any, ...]]
    by_run: tuple[str, tuple[Any, ...]]  # when the probe counts fewer than FEW_RUNS
    by_key: tuple[str, tuple[Any, ...]]  # else


def sqlite_page(select: str, where: list[str], params: list[Any], q: object, cursor_ts: int | None,
                page: int) -> SearchPage:
    """The SQL of one listing page with ``q``, in exactly the listing's order (ts_us, run_id), so pages and
    cursors are those of the listing without ``q``. ``select`` names the columns, ``where`` the listing's other
    conditions (on the ``runs`` columns) with ``params``. One of two ways, by how many runs the other conditions
    leave (``FEW_RUNS``, counted first by the probe):

    - few (a user, a session): walk those runs newest first and look for the query's words in their stored words
      (``instr``: a query word matches where a stored word starts with it, as the FTS5 prefix query asks; FTS5
      itself would set up its cursors anew for every run), stopping at the page;
    - many (no filter, a config): take the matches newest first by key from FTS5, which stops at the page instead
      of sorting every match, then add the other matches of the page's last microsecond (keys order runs of one
      microsecond by arrival, the listing by run id; they are found as the few runs are) and sort those few.
    """
    match = sqlite_match(q)
    condition = "".join(f" AND {clause}" for clause in where)
    probe = f"SELECT count(*) FROM (SELECT 1 FROM runs WHERE 1{condition} LIMIT {FEW_RUNS})"
    starts = "".join(" AND instr(' ' || w.words, ?) > 0" for _ in query_words(q))
    by_run = (f"SELECT {select} FROM runs JOIN run_words w ON w.run = runs.run_id WHERE 1{condition}{starts} "
              "ORDER BY ts_us DESC, run_id DESC LIMIT ?")
    # Past the cursor's microsecond nothing can be on the page: FTS5 starts there instead of at the newest.
    upper = "" if cursor_ts is None else f" AND f.rowid < {(cursor_ts + 1) * KEY_SLOTS:d}"
    # Written out (no subquery), so SQLite lets FTS5 hand out the rowids in order and stops at the LIMIT.
    hits = (f"SELECT {select} FROM run_words_fts f JOIN run_words w ON w.key = f.rowid "
            f"JOIN runs ON runs.run_id = w.run WHERE run_words_fts MATCH ?")
    # The other matches of the last microsecond: found through the runs of that microsecond (the listing's index)
    # and their words, as the few runs are -- an FTS5 rowid range would read the doclists up to it.
    by_key = (f"WITH hits AS MATERIALIZED ({hits}{upper}{condition} ORDER BY f.rowid DESC LIMIT ?) "
              f"SELECT {select} FROM hits "
              f"UNION SELECT {select} FROM runs JOIN run_words w ON w.run = runs.run_id "
              f"WHERE ts_us = (SELECT min(ts_us) FROM hits){condition}{starts} "
              "ORDER BY ts_us DESC, run_id DESC LIMIT ?")
    word_starts = [f" {word}" for word in query_words(q)]
    return SearchPage((probe, tuple(params)), (by_run, (*params, *word_starts, page + 1)),
                      (by_key, (match, *params, page + 1, *params, *word_starts, page + 1)))


def words(text: str) -> list[str]:
    """The words of a text as both stores index them: letters and digits, case-folded, without accents."""
    folded = text.casefold()
    if not folded.isascii():  # ASCII has no accents: skip the per-character pass (most of a cold build's cost)
        folded = "".join(char for char in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(char))
    return _WORD.findall(folded)


def words_text(texts: Iterable[str]) -> str:
    """The stored words of a run: its texts' words, space-separated, at most ``MAX_WORDS_CHARS``."""
    joined = " ".join(found for text in texts if (found := " ".join(words(text))))
    return joined[:MAX_WORDS_CHARS].rsplit(" ", 1)[0] if len(joined) > MAX_WORDS_CHARS else joined


def query_words(q: object) -> list[str]:
    """The words a ``q`` asks for; ValidationError saying what is accepted."""
    if not isinstance(q, str) or len(q) > MAX_QUERY_CHARS or "\0" in q:
        raise ValidationError(f"q must be a text of at most {MAX_QUERY_CHARS} characters, got {str(q)[:60]!r}")
    found = list(dict.fromkeys(words(q)))
    if not found:
        raise ValidationError(f"q {q[:60]!r} has no word to search for: give letters or digits")
    if len(found) > MAX_QUERY_WORDS:
        raise ValidationError(f"q has {len(found)} words; at most {MAX_QUERY_WORDS} are searched for at once")
    return found


def sqlite_match(q: object) -> str:
    """The FTS5 query of ``q``: every word as a quoted prefix (words hold no quote, so nothing else is syntax)."""
    return " AND ".join(f'"{word}"*' for word in query_words(q))


def postgres_tsquery(q: object) -> str:
    """The PostgreSQL ``to_tsquery('simple', ...)`` text of ``q``: every word as a quoted prefix, all required."""
    return " & ".join(f"'{word}':*" for word in query_words(q))


def is_searchable(record: dict[str, Any]) -> bool:
    """Whether an entity's text is searched: a plain-text entity (inputs, translations, text outputs)."""
    return str(record.get("mime_type") or "").lower().startswith(_TEXT_MIME)


def head_text(data: bytes) -> str:
    """The start of a text entity as text (a character cut at the end is dropped)."""
    return data[:TEXT_BYTES].decode("utf-8", errors="ignore")


def folder_words(folder: str, doc: dict[str, Any]) -> str:
    """The words of a run folder's text entities, read safely (no links, no fifos: a file that cannot be read is
    left out, never an error of the listing)."""
    texts: list[str] = []
    try:
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return ""
    try:
        for record in doc.get("entities") or ():
            if not isinstance(record, dict) or not is_searchable(record):
                continue
            try:
                fd, _ = open_regular(dir_fd, str(record.get("filename", "")))
            except OSError:
                continue
            with os.fdopen(fd, "rb") as file:
                texts.append(head_text(file.read(TEXT_BYTES)))
    finally:
        os.close(dir_fd)
    return words_text(texts)
