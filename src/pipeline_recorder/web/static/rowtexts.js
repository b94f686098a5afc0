// What the runs list shows of a run beyond its listing summary: the first line of its input, the first line of its
// final text output, why it ended as it did (status_reason) and its media output (rowmedia.js). The listing does not carry these, so they are read
// per run from /status and from the start of the two files (a Range request: never a whole long text), a few runs
// at a time, and kept: a run is read again only when its status changes (an ended run never again).

import { fileUrl, getJSON, statusUrl } from "./api.js";
import { mediaOf } from "./rowmedia.js";
import { stageOf } from "./timeline.js";

const AT_ONCE = 4; // requests in flight, so a page of 50 runs does not flood the server
const HEAD_BYTES = 2048; // enough for a first line shown cut at LINE_CHARS
const LINE_CHARS = 120;

const known = new Map(); // run_id -> {key, input, output, reason}
const pending = new Map(); // run_id -> key being read or waiting to be, so nothing is asked for twice
const queue = []; // [run_id, key] waiting, in the order asked
let running = 0;
let onChange = () => {};

/** The version of a run's texts worth reading: its status, and whether it has recorded anything yet. */
function keyOf(run) {
  return `${run.status}|${run.entity_count > 0 ? 1 : 0}`;
}

/** The first line of a text, cut to LINE_CHARS (with "…" when cut). */
export function firstLine(text) {
  const line = String(text).replace(/^\s+/, "").split(/\r?\n/, 1)[0].replace(/\uFFFD+$/, "").trimEnd();
  return line.length > LINE_CHARS ? `${line.slice(0, LINE_CHARS - 1)}…` : line;
}

async function head(runId, entity) {
  if (!entity) return "";
  const response = await fetch(fileUrl(runId, entity.filename), { headers: { Range: `bytes=0-${HEAD_BYTES - 1}` } });
  if (!response.ok) return "";
  // A cut in the middle of a character decodes as U+FFFD, which firstLine drops.
  return firstLine(new TextDecoder().decode(await response.arrayBuffer()));
}

const isText = (entity) => String(entity.mime_type ?? "").toLowerCase().startsWith("text/");

/** The run's final text output: its last text entity from the interception (stage 2) on. */
function finalText(entities) {
  const texts = entities.filter((e) => isText(e) && e.type !== "input" && (stageOf(e) ?? 0) >= 2);
  return texts.length ? texts[texts.length - 1] : null;
}

async function read(runId, key) {
  const doc = await getJSON(statusUrl(runId));
  const entities = [...(doc.entities ?? [])].sort((a, b) => a.sequence - b.sequence);
  const [input, output] = await Promise.all([head(runId, entities.find((e) => e.type === "input")),
    head(runId, finalText(entities))]);
  const reason = typeof doc.status_reason === "string" ? firstLine(doc.status_reason) : "";
  known.set(runId, { key, input, output, reason, media: mediaOf(entities) });
}

function pump() {
  while (running < AT_ONCE && queue.length) {
    const [runId, key] = queue.shift();
    running += 1;
    read(runId, key)
      .catch(() => known.set(runId, { key, input: "", output: "", reason: "", media: null })) // shown without
      .finally(() => {
        running -= 1;
        if (pending.get(runId) === key) pending.delete(runId);
        onChange();
        pump();
      });
  }
}

/** What is known of the run's texts now ({input, output, reason, media}, or null), asking when out of date. */
export function rowTexts(run) {
  const key = keyOf(run);
  const entry = known.get(run.run_id);
  if ((!entry || entry.key !== key) && pending.get(run.run_id) !== key) {
    pending.set(run.run_id, key);
    queue.push([run.run_id, key]);
    pump();
  }
  return entry ?? null;
}

/** Call `callback` whenever the texts of some run have been read (the list redraws the rows that changed). */
export function whenTextsArrive(callback) {
  onChange = callback;
}
