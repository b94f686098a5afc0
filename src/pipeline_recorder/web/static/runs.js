// The runs page: the runs, newest first, filtered, refreshed by itself; plus the start form (start.js).

import { ApiError, getConfigs, getJSON, runPageUrl, runsUrl, setToken } from "./api.js";
import { h, setChildren } from "./dom.js";
import { formatDuration, formatTime, t, tn, translatePage } from "./i18n.js";
import { between, parseProgress, STATUSES } from "./runstate.js";
import { pickBox, setUpPicking } from "./pick.js";
import { rowTexts, whenTextsArrive } from "./rowtexts.js";
import { setUpStartForm } from "./start.js";
import { RESEARCH_FILTERS, runLabels } from "./runlabels.js";

const REFRESH_MS = 2000;
const PAGE_SIZE = 50;
const FILTERS = ["config_name", "user_id", "status", "since", "until", ...RESEARCH_FILTERS];
const TYPED_FILTERS = ["user_id", ...RESEARCH_FILTERS]; // text fields: the list follows a pause in typing

const filters = document.getElementById("filters");
const body = document.getElementById("runs-body");
const summary = document.getElementById("runs-summary");
const more = document.getElementById("runs-more");
const tokenBox = document.getElementById("token-box");

let extraRuns = []; // runs of pages after the first, kept across refreshes until the filters change
let nextCursor = null;
let timer = null;
let generation = 0; // answers to an older filter setting are dropped

/** The API's query for the current filters; datetime-local values are read as local time, sent as ISO. */
function query(cursor) {
  const params = new URLSearchParams();
  for (const name of FILTERS) {
    const value = filters.elements[name].value.trim();
    if (!value) continue;
    if (name === "since" || name === "until") {
      const ms = Date.parse(value);
      if (Number.isFinite(ms)) params.set(name, new Date(ms).toISOString());
    } else {
      params.set(name, value);
    }
  }
  params.set("limit", String(PAGE_SIZE));
  if (cursor) params.set("cursor", cursor);
  return params;
}

/** Keep the filters in the address so a filtered view can be bookmarked and survives a reload. */
function saveFiltersToAddress() {
  const params = new URLSearchParams();
  for (const name of FILTERS) {
    const value = filters.elements[name].value.trim();
    if (value) params.set(name, value);
  }
  const search = params.toString();
  history.replaceState(null, "", search ? `?${search}` : location.pathname);
}

function loadFiltersFromAddress() {
  const params = new URLSearchParams(location.search);
  for (const name of FILTERS) {
    const value = params.get(name);
    if (value === null) continue;
    const field = filters.elements[name];
    if (field.tagName === "SELECT" && ![...field.options].some((o) => o.value === value)) {
      field.append(h("option", { value, text: value }));
    }
    field.value = value;
  }
}

function statusBadge(status) {
  return h("span", { class: `badge status-${status}`, text: t(`status.${status}`) });
}

/** The first lines of the run's input and final text, as far as they are known yet. */
function textsCell(texts) {
  const line = (key, text) => (text
    ? h("p", { class: `run-line run-${key}` }, h("span", { class: "run-line-label", text: t(`runs.${key}`) }), " ", text)
    : null);
  return [line("input", texts?.input), line("output", texts?.output)];
}

function progressCell(run) {
  const { done, total } = parseProgress(run.progress ?? run.current_state?.progress);
  const label = t("progress.value", { done, total });
  return [
    h("progress", { max: total || 1, value: done, "aria-label": label }),
    h("span", { class: "progress-text", "aria-hidden": "true", text: `${done}/${total}` }),
  ];
}

function duration(run) {
  if (run.status === "running") return t("runs.ongoing");
  return formatDuration(between(run.timestamp, run.finished_at ?? run.updated_at));
}

function cell(label, ...content) {
  return h("td", { "data-label": label }, ...content);
}

function row(run) {
  const link = h("a", { href: runPageUrl(run.run_id), text: run.config_name });
  const texts = rowTexts(run);
  return h(
    "tr",
    { "data-run-id": run.run_id, "data-status": run.status },
    cell(t("col.pick"), pickBox(run)),
    cell(t("col.config"), link, h("span", { class: "run-id", text: run.run_id.slice(0, 8) }), ...textsCell(texts),
      runLabels(run)),
    cell(t("col.user"), run.user_id),
    cell(t("col.status"), statusBadge(run.status),
      texts?.reason ? h("span", { class: "row-reason", text: texts.reason }) : null),
    cell(t("col.progress"), ...progressCell(run)),
    h("td", { "data-label": t("col.started") }, h("time", { datetime: run.timestamp, text: formatTime(run.timestamp) })),
    cell(t("col.duration"), duration(run)),
  );
}

/** Replace rows whose content changed; rebuild only when the order changed, so keyboard focus survives. */
let shown = []; // the runs of the rows, for redrawing them when their texts arrive
let redraw = null;

function show(runs) {
  shown = runs;
  const current = [...body.rows];
  const sameOrder = current.length === runs.length && current.every((tr, i) => tr.dataset.runId === runs[i].run_id);
  const rows = runs.map(row);
  if (sameOrder) {
    current.forEach((tr, i) => {
      if (tr.textContent !== rows[i].textContent || tr.dataset.status !== rows[i].dataset.status) {
        // Keep keyboard focus on the same control of the row (its checkbox or its link).
        const focused = tr.contains(document.activeElement) ? (document.activeElement.matches("input") ? "input" : "a") : null;
        tr.replaceWith(rows[i]);
        if (focused) rows[i].querySelector(focused)?.focus();
      }
    });
  } else {
    setChildren(body, rows);
  }
  summary.textContent = runs.length ? tn("runs.count", runs.length) : t("runs.none");
  more.hidden = !nextCursor;
}

async function refresh() {
  clearTimeout(timer);
  const mine = generation;
  try {
    const page = await getJSON(runsUrl(query()));
    if (mine !== generation) return;
    tokenBox.hidden = true;
    const firstIds = new Set(page.runs.map((r) => r.run_id));
    extraRuns = extraRuns.filter((r) => !firstIds.has(r.run_id));
    if (!extraRuns.length) nextCursor = page.next_cursor;
    show([...page.runs, ...extraRuns]);
  } catch (error) {
    if (mine !== generation) return;
    if (error instanceof ApiError && error.status === 401) tokenBox.hidden = false;
    summary.textContent = t("runs.loadFailed", { message: error.message });
  } finally {
    if (mine === generation) timer = setTimeout(refresh, document.hidden ? REFRESH_MS * 5 : REFRESH_MS);
  }
}

async function loadMore() {
  if (!nextCursor) return;
  more.disabled = true;
  try {
    const page = await getJSON(runsUrl(query(nextCursor)));
    const known = new Set([...body.rows].map((tr) => tr.dataset.runId));
    extraRuns.push(...page.runs.filter((r) => !known.has(r.run_id)));
    nextCursor = page.next_cursor;
    await refresh();
  } catch (error) {
    summary.textContent = t("runs.loadFailed", { message: error.message });
  } finally {
    more.disabled = false;
  }
}

function filtersChanged() {
  generation += 1;
  extraRuns = [];
  nextCursor = null;
  saveFiltersToAddress();
  refresh();
}

async function fillConfigFilter() {
  try {
    const configs = await getConfigs();
    const select = filters.elements.config_name;
    const present = new Set([...select.options].map((o) => o.value));
    for (const config of configs) {
      if (!present.has(config.name)) select.append(h("option", { value: config.name, text: config.name }));
    }
    return configs;
  } catch {
    return [];
  }
}

translatePage();
for (const status of STATUSES) {
  filters.elements.status.append(h("option", { value: status, text: t(`status.${status}`) }));
}
loadFiltersFromAddress();
filters.addEventListener("change", filtersChanged);
for (const name of TYPED_FILTERS) {
  filters.elements[name].addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(filtersChanged, 400);
  });
}
filters.addEventListener("reset", () => setTimeout(filtersChanged, 0));
filters.addEventListener("submit", (event) => {
  event.preventDefault();
  filtersChanged();
});
more.addEventListener("click", loadMore);
setUpPicking();
whenTextsArrive(() => {
  // Texts arrive run by run: redraw once for a burst of them.
  if (redraw === null) redraw = setTimeout(() => { redraw = null; show(shown); }, 0);
});
document.getElementById("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  setToken(document.getElementById("token-input").value.trim());
  filtersChanged();
});
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) refresh();
});

refresh();
const configs = await fillConfigFilter();
loadFiltersFromAddress();
setUpStartForm(configs);
