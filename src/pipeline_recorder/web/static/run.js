// The run page: header, progress, stage timeline and the entities in order, filled in live.

import { ApiError, fileUrl, getStatusIfChanged, runAgainUrl, runIdFromAddress } from "./api.js";
import { setUpDownload } from "./download.js";
import { showSessionExport } from "./session-export.js";
import { setUpCancel, showCancel } from "./cancel.js";
import { chainOf, chainView } from "./chain.js";
import { h, setChildren } from "./dom.js";
import { follow } from "./follow.js";
import { formatDuration, formatTime, stageName, t, translatePage } from "./i18n.js";
import { renderEntity } from "./render.js";
import { between, ENDED, parseProgress } from "./runstate.js";
import { computeTimeline } from "./timeline.js";
import { setUpAnnotations, showAnnotations } from "./annotations.js";
import { addStep, setUpProcess, showProcess } from "./process.js";
import { researchFacts } from "./runlabels.js";

const $ = (id) => document.getElementById(id);

const runId = runIdFromAddress();
let doc = null; // the latest metadata we know; entities live in `entities`
const entities = new Map(); // sequence -> record
let lastAnnounced = "";
let tick = null;

function ended() {
  return ENDED.has(doc?.status);
}

function showFacts() {
  showSessionExport(doc);
  $("run-config").textContent = doc.config_name;
  document.title = `${doc.config_name} · ${t(`status.${doc.status}`)} · pipeline-recorder`;
  const badge = $("run-status");
  badge.className = `badge status-${doc.status}`;
  badge.textContent = t(`status.${doc.status}`);
  // Why the run ended as it did (mark_failed("comfyui down")), when its writer said so.
  const reason = typeof doc.status_reason === "string" ? doc.status_reason.trim() : "";
  const reasonLine = $("run-reason");
  reasonLine.textContent = reason ? t("run.reason", { reason }) : "";
  reasonLine.hidden = !reason;
  const facts = [
    ["fact.runId", h("code", { text: doc.run_id })],
    ["fact.user", doc.user_id],
    ["fact.mode", doc.execution_mode],
    ["fact.safety", doc.safety_level],
    ["fact.started", h("time", { datetime: doc.timestamp, text: formatTime(doc.timestamp) })],
    ...researchFacts(doc),
  ];
  if (doc.finished_at) {
    facts.push(["fact.finished", h("time", { datetime: doc.finished_at, text: formatTime(doc.finished_at) })]);
    facts.push(["fact.duration", formatDuration(between(doc.timestamp, doc.finished_at))]);
  }
  setChildren($("run-facts"), facts.map(([key, value]) => h("div", {}, h("dt", { text: t(key) }), h("dd", {}, value))));
}

function showProgress() {
  const state = doc.current_state ?? {};
  const { done, total } = parseProgress(state.progress);
  const bar = $("run-progress");
  bar.max = total || 1;
  bar.value = done;
  bar.setAttribute("aria-valuetext", t("progress.value", { done, total }));
  $("progress-text").textContent = `${done}/${total}`;
  const name = stageName(state.stage);
  const text = t("run.state", { stage: state.stage ?? "?", name, step: state.step ?? "", done, total });
  const announced = ended() ? `${text} · ${t(`status.${doc.status}`)}` : text;
  // Only touch the live region when the words change, so screen readers are not flooded.
  if (announced !== lastAnnounced) {
    $("run-state").textContent = announced;
    lastAnnounced = announced;
  }
}

function showTimeline() {
  const list = [...entities.values()].sort((a, b) => a.sequence - b.sequence);
  const stages = computeTimeline(doc, list, ended());
  const now = new Date().toISOString();
  // A stage with an error entity: "blocked" when the safety check stopped the run, "cancelled" when a cancel
  // stopped it there, else "failed".
  const what = t(doc.status === "blocked" || doc.status === "cancelled" ? `status.${doc.status}` : "status.failed");
  setChildren(
    $("timeline"),
    stages.map((s) => {
      const took = formatDuration(between(s.start, s.end ?? now));
      const state = s.failed ? "failed" : s.running ? "running" : "done";
      return h(
        "li",
        { class: `stage stage-${state}`, "data-stage": s.stage },
        h("span", { class: "stage-name", text: t("timeline.stage", { stage: s.stage, name: stageName(s.stage) }) }),
        h("span", {
          class: "stage-time",
          text: s.running ? t("timeline.running", { took }) : s.failed ? t("timeline.failed", { took, what }) : took,
        }),
      );
    }),
  );
  // A running stage's time grows: redraw it every second while the run is open.
  clearInterval(tick);
  if (stages.some((s) => s.running) && !ended()) tick = setInterval(showTimeline, 1000);
}

function addEntity(record) {
  if (!record || !Number.isInteger(record.sequence) || entities.has(record.sequence)) return;
  entities.set(record.sequence, record);
  const item = renderEntity(record, fileUrl(runId, record.filename));
  // The telephone game's chain, hop by hop, right under the text it ended with.
  if (chainOf(record)) item.querySelector(".entity-body").after(chainView(runId, record, [...entities.values()]));
  // Keep sequence order even when records arrive out of order (stream and snapshot overlapping).
  const list = $("entities");
  const after = [...list.children].find((li) => Number(li.dataset.sequence) > record.sequence);
  list.insertBefore(item, after ?? null);
  $("entities-empty").hidden = true;
}

function update() {
  showFacts();
  showProgress();
  showTimeline();
  showCancel(doc.status);
  document.body.dataset.status = doc.status;
}

const handlers = {
  entity(record) {
    addEntity(record);
    showTimeline();
  },
  state(state) {
    doc.current_state = { ...doc.current_state, ...state };
    showProgress();
    showTimeline();
  },
  status(status) {
    doc.status = status;
    update();
  },
  processStep(step) {
    addStep(step);
  },
  annotations(data) {
    doc.notes = data.notes;
    doc.tags = data.tags;
    showAnnotations(doc);
  },
  snapshot(fresh) {
    doc = fresh;
    showAnnotations(fresh);
    showProcess(fresh);
    for (const record of fresh.entities ?? []) addEntity(record);
    update();
  },
  mode(mode) {
    $("follow-mode").textContent = t(`follow.${mode}`);
    document.body.dataset.follow = mode;
  },
};

async function start() {
  translatePage();
  setUpCancel(runId);
  setUpDownload(runId);
  setUpAnnotations(runId);
  setUpProcess(runId);
  $("run-again").href = runAgainUrl(runId);
  if (!runId) {
    showLoadError(t("run.noId"));
    return;
  }
  try {
    const answer = await getStatusIfChanged(runId, null);
    $("run-actions").hidden = false;
    handlers.snapshot(answer.doc);
    if (ended()) handlers.mode("stopped");
    else follow(runId, handlers, { etag: answer.etag });
  } catch (error) {
    showLoadError(error instanceof ApiError && error.status === 404 ? t("run.notFound", { id: runId }) : error.message);
  }
}

function showLoadError(message) {
  const box = $("run-error");
  box.textContent = message;
  box.hidden = false;
  $("run-config").textContent = t("run.unavailable");
  // Nothing of a run to show: no empty progress card, timeline or entity list pretending there is one.
  for (const section of document.querySelectorAll("#main > section")) section.hidden = true;
  document.body.dataset.status = "unavailable";
}

start();
