// English and German, chosen by the browser's language; the texts live in /static/i18n/{lang}.json.
// German falls back to English for any text it lacks, so a missing translation never shows a bare key.

export const SUPPORTED = ["en", "de"];

/** The first of the browser's preferred languages we have, else English. */
export function pickLanguage(preferred) {
  for (const tag of preferred) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (SUPPORTED.includes(base)) return base;
  }
  return "en";
}

export const lang = pickLanguage(navigator.languages?.length ? navigator.languages : [navigator.language || "en"]);

async function load(code) {
  const response = await fetch(`/static/i18n/${code}.json`);
  return response.ok ? response.json() : {};
}

const english = await load("en");
const messages = lang === "en" ? english : { ...english, ...(await load(lang)) };

/** The text for key, with {name} placeholders filled from params. */
export function t(key, params = {}) {
  const text = messages[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/**
 * Translate the static page: data-i18n="key" sets textContent, data-i18n-attr="attr:key;attr:key" sets attributes.
 */
export function translatePage(root = document) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":");
      if (attr && key) el.setAttribute(attr.trim(), t(key.trim()));
    }
  }
}

const dateTime = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "medium" });
const number = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });

export function formatTime(iso) {
  const ms = Date.parse(iso ?? "");
  return Number.isFinite(ms) ? dateTime.format(new Date(ms)) : "";
}

/** A duration for people: "850 ms", "4.2 s", "3 min 12 s", "1 h 4 min". */
export function formatDuration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${number.format(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.floor(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function formatBytes(size) {
  if (!Number.isFinite(size)) return "";
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${number.format(size / 1024)} KiB`;
  return `${number.format(size / (1024 * 1024))} MiB`;
}

/** A stage's name ("Interception"); stages the viewer has no name for are "Stage N". */
export function stageName(stage) {
  const key = `stage.${stage}`;
  return key in messages ? t(key) : t("stage.other", { stage });
}

const plural = new Intl.PluralRules(lang);

/** A counted text: key.one / key.other (as the language's plural rules say), with {count} filled in. */
export function tn(key, count, params = {}) {
  const form = plural.select(count);
  const chosen = `${key}.${form}` in messages ? `${key}.${form}` : `${key}.other`;
  return t(chosen, { ...params, count });
}
