// The telephone game (stillepost) hop by hop: an interception entity whose metadata holds a `chain` (the text
// after each retelling) is shown as a list that starts at the run's input and its translation and then gives each
// retelling with what it changed in the text it was told, instead of leaving the chain folded in the metadata.

import { fileUrl } from "./api.js";
import { diffView, diffWords, differs } from "./diff.js";
import { h, setChildren } from "./dom.js";
import { t } from "./i18n.js";
import { fetchText } from "./render.js";

/** The chain's hops as [{text, language}], or null when the entity records none. A hop is a text, or an object
 * with `text` and, when the recorder knows it, `language`. */
export function chainOf(entity) {
  const chain = entity?.metadata?.chain;
  if (!Array.isArray(chain) || !chain.length) return null;
  return chain.map((hop) => (hop !== null && typeof hop === "object"
    ? { text: String(hop.text ?? ""), language: typeof hop.language === "string" ? hop.language : null }
    : { text: String(hop), language: null }));
}

function hopItem(kind, label, language, body) {
  return h(
    "li",
    { class: `hop hop-${kind}`, "data-hop": kind },
    h("p", { class: "hop-head" }, h("span", { class: "hop-label", text: label }),
      language ? h("span", { class: "hop-language", text: t("chain.language", { language }) }) : null),
    body,
  );
}

async function textOf(runId, entity) {
  if (!entity) return null;
  try {
    return await fetchText(fileUrl(runId, entity.filename));
  } catch {
    return null;
  }
}

/**
 * The chain of `entity` (a run's interception) as a section, filled in once the input and translation texts are
 * read; `entities` are the run's entities known so far (the input and translation come before the interception).
 */
export function chainView(runId, entity, entities) {
  const hops = chainOf(entity);
  const list = h("ol", { class: "chain-hops" });
  const section = h("section", { class: "chain", "aria-label": t("chain.heading") },
    h("h4", { text: t("chain.heading") }), list);
  const input = entities.find((e) => e.type === "input" && e.sequence < entity.sequence);
  const translation = entities.find((e) => e.type === "translation" && e.sequence < entity.sequence);
  Promise.all([textOf(runId, input), textOf(runId, translation)]).then(([inputText, translated]) => {
    const items = [];
    if (inputText !== null) {
      items.push(hopItem("input", t("chain.input"), translation?.metadata?.source_language,
        h("pre", { class: "entity-text", text: inputText })));
    }
    if (translated !== null) {
      items.push(hopItem("translation", t("chain.translation"), translation.metadata?.target_language,
        h("pre", { class: "entity-text", text: translated })));
    }
    // Each retelling is compared with the text it was told: the translation for the first, then the one before.
    let told = translated;
    hops.forEach((hop, i) => {
      let body;
      if (told === null) {
        body = h("pre", { class: "entity-text", text: hop.text });
      } else {
        const parts = diffWords(told, hop.text);
        body = differs(parts) ? diffView(parts) : [h("p", { class: "cell-note", text: t("chain.unchanged") }),
          h("pre", { class: "entity-text", text: hop.text })];
      }
      items.push(hopItem(String(i + 1), t("chain.hop", { n: i + 1, count: hops.length }), hop.language, body));
      told = hop.text;
    });
    setChildren(list, items);
    section.dataset.loaded = "true";
  });
  return section;
}
