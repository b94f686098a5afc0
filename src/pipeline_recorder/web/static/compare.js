// The compare page: 2-6 runs side by side, named in the address (?runs=ID,ID,...) so a comparison can be sent.
// Settings and stage durations in tables (differences marked), then the entities aligned by stage and type.

import { ApiError, comparePageUrl, getJSON, runPageUrl, statusUrl } from "./api.js";
import { alignEntities, renderRow } from "./compare-entities.js";
import { h, setChildren } from "./dom.js";
import { formatDuration, formatTime, stageName, t, translatePage } from "./i18n.js";
import { between, COMPARE_MAX, COMPARE_MIN, ENDED } from "./runstate.js";
import { computeTimeline } from "./timeline.js";

const $ = (id) => document.getElementById(id);

/** The run ids of the address, in order, each once. */
export function idsFromAddress(search = location.search) {
  const raw = new URLSearchParams(search).get("runs") ?? "";
  return [...new Set(raw.split(",").map((id) => id.trim()).filter(Boolean))];
}

function fail(message) {
  const box = $("compare-error");
  box.textContent = box.textContent ? `${box.textContent} ${message}` : message;
  box.hidden = false;
}

function statusText(doc) {
  const status = t(`status.${doc.status}`);
  return doc.status_reason ? `${status} (${doc.status_reason})` : status;
}

// The rows of the settings table: label, the value of a run, and whether a difference there is worth marking
// (start times and durations always differ).
const FACTS = [
  ["col.config", (doc) => doc.config_name, true],
  ["col.status", statusText, true],
  ["fact.user", (doc) => doc.user_id, true],
  ["fact.mode", (doc) => doc.execution_mode, true],
  ["fact.safety", (doc) => doc.safety_level, true],
  ["compare.entityCount", (doc) => String(doc.entities?.length ?? 0), true],
  ["fact.started", (doc) => formatTime(doc.timestamp), false],
  ["fact.duration", (doc) => (ENDED.has(doc.status) ? formatDuration(between(doc.timestamp, doc.finished_at)) : t("runs.ongoing")), false],
];

function columnHeads(docs) {
  return h("thead", {}, h("tr", {}, h("td"), docs.map((doc, i) => h(
    "th",
    { scope: "col" },
    h("a", { href: runPageUrl(doc.run_id), text: t("compare.run", { n: i + 1 }) }),
    h("span", { class: "run-id", text: doc.run_id.slice(0, 8) }),
  ))));
}

/** A table row whose cells that differ from the first run's are marked, in words as well as by colour. */
function factRow(label, values, marked) {
  const differs = marked && new Set(values).size > 1;
  return h(
    "tr",
    { class: differs ? "differs" : null, "data-differs": differs ? "true" : "false" },
    h("th", { scope: "row" }, label, differs ? h("span", { class: "differs-mark", text: t("compare.differs") }) : null),
    values.map((value, i) => h("td", { class: differs && value !== values[0] ? "diff-cell" : null, text: value })),
  );
}

function showSettings(docs) {
  setChildren($("settings-table"), columnHeads(docs),
    h("tbody", {}, FACTS.map(([key, value, marked]) => factRow(t(key), docs.map(value), marked))));
  $("settings-section").hidden = false;
}

function showStages(docs) {
  const timelines = docs.map((doc) => computeTimeline(doc, doc.entities ?? [], ENDED.has(doc.status)));
  const stages = [...new Set(timelines.flatMap((line) => line.map((s) => s.stage)))].sort((a, b) => a - b);
  const rows = stages.map((stage) => {
    const values = timelines.map((line, i) => {
      const entry = line.find((s) => s.stage === stage);
      if (!entry) return t("compare.notReached");
      const took = formatDuration(between(entry.start, entry.end ?? entry.start));
      if (entry.running) return t("timeline.running", { took });
      if (!entry.failed) return took;
      const status = docs[i].status;
      const what = t(status === "blocked" || status === "cancelled" ? `status.${status}` : "status.failed");
      return t("timeline.failed", { took, what });
    });
    const row = factRow(t("timeline.stage", { stage, name: stageName(stage) }), values, false);
    row.dataset.stage = stage;
    return row;
  });
  setChildren($("stages-table"), columnHeads(docs), h("tbody", {}, rows));
  $("stages-section").hidden = false;
}

function showEntities(docs) {
  setChildren($("aligned"), alignEntities(docs).map((row, i) => renderRow(row, docs, i)));
  $("aligned-section").hidden = false;
}

async function load(ids) {
  const answers = await Promise.allSettled(ids.map((id) => getJSON(statusUrl(id))));
  const docs = [];
  answers.forEach((answer, i) => {
    if (answer.status === "fulfilled") docs.push(answer.value);
    else if (answer.reason instanceof ApiError && answer.reason.status === 404) fail(t("run.notFound", { id: ids[i] }));
    else fail(t("compare.loadFailed", { id: ids[i], message: answer.reason?.message ?? String(answer.reason) }));
  });
  return docs;
}

async function start() {
  translatePage();
  const ids = idsFromAddress();
  if (ids.length < COMPARE_MIN || ids.length > COMPARE_MAX) {
    fail(t("compare.pick", { min: COMPARE_MIN, max: COMPARE_MAX }));
    document.body.dataset.state = "invalid";
    return;
  }
  const link = $("compare-link");
  link.value = new URL(comparePageUrl(ids), location.href).href;
  link.addEventListener("focus", () => link.select());
  $("compare-link-box").hidden = false;
  const docs = await load(ids);
  if (docs.length < COMPARE_MIN) {
    document.body.dataset.state = "invalid";
    return;
  }
  document.title = `${t("compare.heading")} (${docs.length}) · pipeline-recorder`;
  $("compare-heading").textContent = t("compare.headingCount", { count: docs.length });
  showSettings(docs);
  showStages(docs);
  showEntities(docs);
  document.body.dataset.state = "ready";
}

start();
