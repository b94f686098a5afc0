// A word diff between two texts, for showing how one run's text differs from another's (and how one retelling
// differs from the one before): diffWords computes it (pure), diffView shows it as text and <ins>/<del> elements.

import { h } from "./dom.js";
import { t } from "./i18n.js";

// Above this many cells of the comparison table (words x words, after the common start and end are taken off),
// the texts are compared line by line instead, so a long output never stalls the page.
const MAX_CELLS = 4_000_000;

/** Words and the whitespace between them, as separate tokens, so joining the tokens gives the text back. */
export function tokens(text) {
  return String(text).match(/\s+|[^\s]+/g) ?? [];
}

/**
 * The parts that turn `before` into `after`: [{op: "same" | "del" | "ins", text}], adjacent parts of the same op
 * merged. Joining the "same" and "del" parts gives `before`; joining "same" and "ins" gives `after`.
 */
export function diffWords(before, after) {
  let a = tokens(before);
  let b = tokens(after);
  if (a.length * b.length > MAX_CELLS) {
    a = lines(before);
    b = lines(after);
  }
  return merge(diffTokens(a, b));
}

function lines(text) {
  return String(text).match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

function diffTokens(a, b) {
  // The common start and end cost nothing to find and usually leave little in between.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start += 1;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA -= 1;
    endB -= 1;
  }
  const head = a.slice(0, start).map((text) => ({ op: "same", text }));
  const tail = a.slice(endA).map((text) => ({ op: "same", text }));
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  if (midA.length * midB.length > MAX_CELLS) {
    // Even line by line too large to compare: show the middle as replaced.
    return [...head, ...midA.map((text) => ({ op: "del", text })), ...midB.map((text) => ({ op: "ins", text })), ...tail];
  }
  return [...head, ...longestCommon(midA, midB), ...tail];
}

/** The classic longest-common-subsequence table, walked back into same/del/ins parts. */
function longestCommon(a, b) {
  const n = a.length;
  const m = b.length;
  const width = m + 1;
  const table = new Uint32Array((n + 1) * width);
  for (let i = n - 1; i >= 0; i -= 1) {
    for (let j = m - 1; j >= 0; j -= 1) {
      table[i * width + j] = a[i] === b[j]
        ? table[(i + 1) * width + j + 1] + 1
        : Math.max(table[(i + 1) * width + j], table[i * width + j + 1]);
    }
  }
  const parts = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      parts.push({ op: "same", text: a[i] });
      i += 1;
      j += 1;
    } else if (table[(i + 1) * width + j] >= table[i * width + j + 1]) {
      parts.push({ op: "del", text: a[i] });
      i += 1;
    } else {
      parts.push({ op: "ins", text: b[j] });
      j += 1;
    }
  }
  while (i < n) parts.push({ op: "del", text: a[i++] });
  while (j < m) parts.push({ op: "ins", text: b[j++] });
  return parts;
}

function merge(parts) {
  const merged = [];
  for (const part of parts) {
    const last = merged[merged.length - 1];
    if (last && last.op === part.op) last.text += part.text;
    else merged.push({ ...part });
  }
  return merged;
}

/**
 * The diff as a <pre>: unchanged text as text nodes, added text in <ins>, removed text in <del>. Besides colour,
 * added text is underlined and removed text struck through; screen readers hear "added"/"removed" from each mark's
 * data-mark (read out by the stylesheet's ::before), which textContent leaves out.
 */
export function diffView(parts, className = "entity-text diff") {
  return h(
    "pre",
    { class: className },
    parts.map((part) => {
      if (part.op === "same") return part.text;
      const mark = part.op === "ins" ? t("diff.added") : t("diff.removed");
      return h(part.op, { "data-mark": mark, text: part.text });
    }),
  );
}

/** Whether the diff changes anything. */
export function differs(parts) {
  return parts.some((part) => part.op !== "same");
}
