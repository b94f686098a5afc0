// One entity as the page shows it. Content fetched from the run's files is only ever put in as text
// (textContent, text nodes), never parsed as HTML: LLM output can contain markup.

import { h, setChildren } from "./dom.js";
import { formatBytes, formatTime, stageName, t } from "./i18n.js";
import { stageOf } from "./timeline.js";

const MAX_TEXT = 200_000; // characters shown inline; the full file stays one click away

/** How an entity is shown, from its type and MIME type. */
export function kindOf(entity) {
  const mime = String(entity.mime_type ?? "").toLowerCase();
  if (entity.type === "error") return "error";
  // SVG can carry script; the server serves it only as an attachment, so offer a download, not an <img>.
  if (mime.startsWith("image/svg")) return "download";
  if (mime.startsWith("image/")) return "image";
  if (mime.startsWith("audio/")) return "audio";
  if (mime.startsWith("video/")) return "video";
  if (mime.startsWith("application/json")) return "json";
  if (mime.startsWith("text/")) return "text";
  return "download";
}

/** A JSON value as a tree of <details> (objects and arrays can be folded), all as text. */
export function jsonTree(value, label = null, depth = 0) {
  const key = label === null ? null : h("span", { class: "json-key", text: `${label}: ` });
  if (value !== null && typeof value === "object") {
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
    const shape = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
    if (!entries.length) return h("div", { class: "json-leaf" }, key, Array.isArray(value) ? "[]" : "{}");
    return h(
      "details",
      { class: "json-node", open: depth < 3 },
      h("summary", {}, key, h("span", { class: "json-shape", text: shape })),
      h("div", { class: "json-children" }, entries.map(([k, v]) => jsonTree(v, k, depth + 1))),
    );
  }
  const text = typeof value === "string" ? JSON.stringify(value) : String(value);
  return h("div", { class: "json-leaf" }, key, h("span", { class: `json-${value === null ? "null" : typeof value}`, text }));
}

/** An entity file's content as text. */
export async function fetchText(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
  return response.text();
}

/** Text as shown inline: at most MAX_TEXT characters. */
export function shownText(text) {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}\n…` : text;
}

function textBody(text) {
  return h("pre", { class: "entity-text", text: shownText(text) });
}

function jsonBody(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return textBody(text);
  }
  // Every object and array is its own <details>, so long outputs can be folded level by level.
  return h("div", { class: "entity-json" }, jsonTree(value));
}

function errorBody(entity, text) {
  let record = {};
  try {
    record = JSON.parse(text) ?? {};
  } catch {
    record = { message: text };
  }
  const stage = Number.isInteger(record.stage) ? record.stage : stageOf(entity);
  const heading = t("entity.errorIn", {
    stage: stage ?? "?",
    name: stage === null ? "" : stageName(stage),
    type: record.error_type ?? entity.metadata?.error_type ?? t("entity.error"),
  });
  const hasDetails = record.details && typeof record.details === "object" && Object.keys(record.details).length;
  return h(
    "div",
    { class: "error-box" },
    h("p", { class: "error-title", text: heading }),
    h("p", { class: "error-message", text: String(record.message ?? "") }),
    hasDetails ? h("details", {}, h("summary", { text: t("entity.details") }), jsonTree(record.details)) : null,
  );
}

/** An image, or the browser's player for audio and video, with a label naming the entity. */
export function mediaBody(kind, entity, url) {
  const label = t("entity.mediaLabel", { type: entity.type, sequence: entity.sequence });
  if (kind === "image") {
    return h("a", { href: url, class: "image-link" }, h("img", { src: url, alt: label, loading: "lazy" }));
  }
  const player = h(kind, { src: url, controls: true, preload: "metadata", "aria-label": label });
  return h("div", { class: "player" }, player, h("a", { href: url, download: entity.filename, text: t("entity.download") }));
}

function metadataDetails(entity) {
  const meta = entity.metadata;
  if (!meta || typeof meta !== "object" || !Object.keys(meta).length || entity.type === "error") return null;
  return h("details", { class: "entity-meta" }, h("summary", { text: t("entity.metadata") }), jsonTree(meta));
}

/** The list item for one entity; text and JSON content is fetched and filled in after it is on the page. */
export function renderEntity(entity, url) {
  const kind = kindOf(entity);
  const body = h("div", { class: "entity-body" });
  const item = h(
    "li",
    {
      class: `entity kind-${kind}`,
      id: `entity-${entity.sequence}`,
      "data-sequence": entity.sequence,
      "data-type": entity.type,
      "data-kind": kind,
    },
    h(
      "div",
      { class: "entity-head" },
      h("h3", {}, h("span", { class: "seq", text: `#${entity.sequence}` }), " ", entity.type),
      h(
        "p",
        { class: "entity-info" },
        h("time", { datetime: entity.timestamp, text: formatTime(entity.timestamp) }),
        ` · ${entity.mime_type ?? ""} · ${formatBytes(entity.size)} · `,
        h("a", { href: url, text: entity.filename }),
      ),
    ),
    body,
    metadataDetails(entity),
  );
  if (kind === "image" || kind === "audio" || kind === "video") {
    body.append(mediaBody(kind, entity, url));
  } else if (kind === "download") {
    body.append(h("a", { href: url, download: entity.filename, text: t("entity.download") }));
  } else {
    body.append(h("p", { class: "hint", text: t("entity.loading") }));
    fetchText(url)
      .then((text) => {
        const content = kind === "error" ? errorBody(entity, text) : kind === "json" ? jsonBody(text) : textBody(text);
        setChildren(body, content);
        item.dataset.loaded = "true";
      })
      .catch((error) => {
        setChildren(body, h("p", { class: "form-error", text: t("entity.loadFailed", { message: error.message }) }));
      });
  }
  if (kind !== "text" && kind !== "json" && kind !== "error") item.dataset.loaded = "true";
  return item;
}
