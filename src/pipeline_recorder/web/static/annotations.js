// The run page's notes and tags: shown to everyone, changed with the server's token (PUT
// /api/pipeline/{run_id}/annotations), also after the run has ended. Tags are typed as one comma-separated line;
// the server checks them (1-64 characters, at most 32) and its error is shown as it words it. A change another
// tab or person makes arrives as an "annotations" event while the page follows the run, or with the next status.

import { ApiError, annotationsUrl, getToken, putJSON, setToken } from "./api.js";
import { h, setChildren } from "./dom.js";
import { t } from "./i18n.js";

const $ = (id) => document.getElementById(id);

let runId = "";
let current = { notes: "", tags: [] };

function showSaved() {
  const tags = $("annotations-tags");
  setChildren(tags, current.tags.map((tag) => h("li", { class: "run-tag", text: tag })));
  tags.hidden = !current.tags.length;
  $("annotations-notes").textContent = current.notes;
  $("annotations-notes").hidden = !current.notes;
  $("annotations-none").hidden = Boolean(current.tags.length || current.notes);
}

function fail(message) {
  const box = $("annotations-error");
  box.textContent = message;
  box.hidden = !message;
}

/** Show what the run holds now (from /status or an "annotations" event); an open form keeps what is typed. */
export function showAnnotations(doc) {
  current = { notes: typeof doc?.notes === "string" ? doc.notes : "", tags: Array.isArray(doc?.tags) ? doc.tags : [] };
  showSaved();
}

function openForm() {
  const form = $("annotations-form");
  form.elements.tags.value = current.tags.join(", ");
  form.elements.notes.value = current.notes;
  form.hidden = false;
  $("annotations-edit").hidden = true;
  $("annotations-token-field").hidden = Boolean(getToken()) || $("annotations-token-field").hidden;
  form.elements.tags.focus();
}

function closeForm() {
  $("annotations-form").hidden = true;
  $("annotations-edit").hidden = false;
  fail("");
  $("annotations-edit").focus();
}

async function save(event) {
  event.preventDefault();
  const form = $("annotations-form");
  const token = form.elements.token.value.trim();
  if (token) setToken(token);
  const tags = form.elements.tags.value.split(",").map((tag) => tag.trim()).filter(Boolean);
  form.elements.save.disabled = true;
  fail("");
  try {
    const answer = await putJSON(annotationsUrl(runId), { tags, notes: form.elements.notes.value });
    showAnnotations(answer);
    $("annotations-status").textContent = t("annotations.saved");
    $("annotations-token-field").hidden = true;
    closeForm();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      $("annotations-token-field").hidden = false;
      fail(t(token ? "annotations.tokenRefused" : "annotations.tokenNeeded"));
      form.elements.token.focus();
    } else {
      fail(t("annotations.failed", { message: error.message }));
    }
  } finally {
    form.elements.save.disabled = false;
  }
}

/** Wire the section to runId (once, when the page starts). */
export function setUpAnnotations(id) {
  runId = id;
  $("annotations-edit").addEventListener("click", openForm);
  $("annotations-cancel").addEventListener("click", closeForm);
  $("annotations-form").addEventListener("submit", save);
}
