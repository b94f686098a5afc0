// The compare page's entity rows: the entities of several runs aligned by stage and type (the first translation
// of each run in one row, the second in the next, ...), each row showing one cell per run: texts as a word diff
// against the first run that has the entity, images next to each other, audio and video as players.

import { fileUrl, runPageUrl } from "./api.js";
import { diffView, diffWords, differs } from "./diff.js";
import { h, setChildren } from "./dom.js";
import { stageName, t } from "./i18n.js";
import { fetchText, kindOf, mediaBody, shownText } from "./render.js";
import { stageOf } from "./timeline.js";

/**
 * The aligned rows of `docs` (each a /status document): [{key, stage, type, occurrence, cells}] where cells[i] is
 * the entity of docs[i] in that row or null. Rows are ordered by stage, then by where they first occur.
 */
export function alignEntities(docs) {
  const rows = new Map();
  docs.forEach((doc, column) => {
    const seen = new Map();
    const entities = [...(doc.entities ?? [])].sort((a, b) => a.sequence - b.sequence);
    for (const entity of entities) {
      const stage = stageOf(entity);
      const kind = `${stage}|${entity.type}`;
      const occurrence = seen.get(kind) ?? 0;
      seen.set(kind, occurrence + 1);
      const key = `${kind}|${occurrence}`;
      if (!rows.has(key)) {
        rows.set(key, { key, stage, type: entity.type, occurrence, first: [column, entity.sequence],
                        cells: docs.map(() => null) });
      }
      rows.get(key).cells[column] = entity;
    }
  });
  const stageRank = (stage) => (stage === null ? Number.MAX_SAFE_INTEGER : stage);
  return [...rows.values()].sort((a, b) => stageRank(a.stage) - stageRank(b.stage)
    || a.first[0] - b.first[0] || a.first[1] - b.first[1]);
}

/** How a row compares: "same" (every run has it, same bytes), "differs", or "missing" (some run lacks it). */
export function rowVerdict(row) {
  if (row.cells.some((cell) => cell === null)) return "missing";
  return new Set(row.cells.map((cell) => cell.sha256)).size > 1 ? "differs" : "same";
}

/** Text as compared: JSON pretty-printed (so a changed value is one changed line), anything else as it is. */
function comparable(entity, text) {
  const kind = kindOf(entity);
  if (kind !== "json" && kind !== "error") return text;
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function isText(entity) {
  return ["text", "json", "error"].includes(kindOf(entity));
}

function cellHead(doc, column) {
  return h("p", { class: "cell-run" }, h("a", { href: runPageUrl(doc.run_id), text: t("compare.run", { n: column + 1 }) }),
    ` · ${doc.config_name} · `, h("code", { text: doc.run_id.slice(0, 8) }));
}

function missingCell(doc, column) {
  return h("div", { class: "compare-cell cell-missing", "data-column": column, "data-loaded": "true" }, cellHead(doc, column),
    h("p", { class: "hint", text: t("compare.notInRun") }));
}

function mediaCell(doc, column, entity) {
  const kind = kindOf(entity);
  const url = fileUrl(doc.run_id, entity.filename);
  const body = kind === "download"
    ? h("a", { href: url, download: entity.filename, text: t("entity.download") })
    : mediaBody(kind, entity, url);
  return h("div", { class: `compare-cell kind-${kind}`, "data-column": column, "data-loaded": "true" },
    cellHead(doc, column), body);
}

/** Fill the text cells of a row once all their texts are in: the first is shown as it is, the rest as diffs. */
async function fillTexts(row, docs, cells) {
  const columns = row.cells.map((entity, column) => (entity && isText(entity) ? column : -1)).filter((c) => c >= 0);
  const texts = await Promise.all(columns.map(async (column) => {
    const entity = row.cells[column];
    try {
      return { ok: true, text: comparable(entity, await fetchText(fileUrl(docs[column].run_id, entity.filename))) };
    } catch (error) {
      return { ok: false, text: t("entity.loadFailed", { message: error.message }) };
    }
  }));
  const base = texts.find((text) => text.ok);
  const baseColumn = columns[texts.indexOf(base)];
  columns.forEach((column, i) => {
    const { ok, text } = texts[i];
    const body = cells[column].querySelector(".cell-body");
    if (!ok) {
      setChildren(body, h("p", { class: "form-error", text }));
    } else if (column === baseColumn) {
      setChildren(body, h("pre", { class: "entity-text", text: shownText(text) }));
    } else {
      const parts = diffWords(shownText(base.text), shownText(text));
      const note = differs(parts) ? t("compare.diffAgainst", { n: baseColumn + 1 })
        : t("compare.sameAs", { n: baseColumn + 1 });
      setChildren(body, h("p", { class: "cell-note", text: note }), diffView(parts));
    }
    cells[column].dataset.loaded = "true";
  });
}

function rowHeading(row) {
  const stage = row.stage === null ? t("compare.noStage") : t("timeline.stage", { stage: row.stage, name: stageName(row.stage) });
  const count = row.occurrence ? ` (${row.occurrence + 1})` : "";
  return `${stage} · ${row.type}${count}`;
}

/** One aligned row as the page shows it. */
export function renderRow(row, docs, index) {
  const verdict = rowVerdict(row);
  const headingId = `aligned-${index}`;
  const cells = row.cells.map((entity, column) => {
    const doc = docs[column];
    if (entity === null) return missingCell(doc, column);
    if (!isText(entity)) return mediaCell(doc, column, entity);
    return h("div", { class: `compare-cell kind-${kindOf(entity)}`, "data-column": column }, cellHead(doc, column),
      h("div", { class: "cell-body" }, h("p", { class: "hint", text: t("entity.loading") })));
  });
  const section = h(
    "section",
    { class: `aligned-row verdict-${verdict}`, "data-key": row.key, "data-type": row.type, "data-verdict": verdict,
      "aria-labelledby": headingId },
    h("h3", { id: headingId }, rowHeading(row), " ", h("span", { class: `verdict verdict-${verdict}`, text: t(`compare.${verdict}`) })),
    h("div", { class: "compare-cells" }, cells),
  );
  if (row.cells.some((entity) => entity && isText(entity))) fillTexts(row, docs, cells);
  return section;
}
