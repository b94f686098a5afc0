// What a run is and where it belongs (its kind, session, device) and the tags people gave it: small labels for
// the runs list and the run page. Labels are text nodes only; a run of the default kind with no session, device
// or tags gets none.

import { h } from "./dom.js";
import { t } from "./i18n.js";

/** The listing filters on the research fields, as the API names them. */
export const RESEARCH_FILTERS = ["kind", "session_id", "device_id", "tag"];

function label(key, value) {
  return h("span", { class: `run-label run-label-${key}` },
    h("span", { class: "visually-hidden", text: `${t(`labels.${key}`)}: ` }), String(value));
}

/** The labels of a run (a summary of the listing or a status document), or null when it has none to show. */
export function runLabels(run) {
  const parts = [];
  if (run.kind && run.kind !== "pipeline") parts.push(label("kind", run.kind));
  if (run.session_id) parts.push(label("session", run.session_id));
  if (run.device_id) parts.push(label("device", run.device_id));
  const tags = Array.isArray(run.tags) ? run.tags : [];
  const tagList = tags.length
    ? h("ul", { class: "run-tags", "aria-label": t("labels.tags") }, tags.map((tag) => h("li", { class: "run-tag", text: tag })))
    : null;
  if (!parts.length && !tagList) return null;
  return h("div", { class: "run-labels" }, ...parts, tagList);
}

/** The run page's facts about the research fields: [i18n key, value] pairs for those that are set. */
export function researchFacts(doc) {
  const facts = [];
  if (doc.kind) facts.push(["labels.kind", doc.kind]);
  if (doc.session_id) facts.push(["labels.session", doc.session_id]);
  if (doc.device_id) facts.push(["labels.device", doc.device_id]);
  const models = Object.entries(doc.models_used ?? {});
  if (models.length) {
    facts.push(["labels.models", h("ul", { class: "models-used" },
      models.map(([stage, model]) => h("li", {}, h("code", { text: stage }), " ", model)))]);
  }
  return facts;
}
