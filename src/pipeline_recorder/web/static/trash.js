// Deleting runs into the trash from the viewer, with an undo banner: "Delete run" on a run page (not while the
// run is running), "Delete selected" for the runs picked in the list. The server moves them to its trash
// (DELETE /api/pipeline/{run_id}, POST /api/pipeline/runs/delete); Undo restores them (POST .../restore) until
// the server's gc empties the trash. Both need the server's token when it has one: a 401 asks for it here.

import { ApiError, errorFrom, getToken, postJSON, runPageUrl, setToken } from "./api.js";
import { h, setChildren } from "./dom.js";
import { t, tn } from "./i18n.js";

const seg = encodeURIComponent;
const deleteUrl = (runId) => `/api/pipeline/${seg(runId)}`;
const restoreUrl = (runId) => `/api/pipeline/${seg(runId)}/restore`;
const DELETE_MANY_URL = "/api/pipeline/runs/delete";
const RESTORE_MANY_URL = "/api/pipeline/runs/restore";

async function deleteOne(runId) {
  const token = getToken();
  const response = await fetch(deleteUrl(runId), {
    method: "DELETE",
    headers: token ? { Accept: "application/json", Authorization: `Bearer ${token}` } : { Accept: "application/json" },
  });
  if (!response.ok) throw await errorFrom(response);
  return response.json();
}

/**
 * The banner that says what was deleted and offers Undo; also where a token is asked for and errors are shown.
 * It is a live region, so a screen reader hears the outcome; Undo takes the keyboard focus when it appears.
 */
class Banner {
  constructor(anchor) {
    this.note = h("p", { class: "trash-message", role: "status", "aria-live": "polite" });
    this.error = h("p", { class: "form-error", role: "alert", hidden: true });
    this.actions = h("div", { class: "trash-actions" });
    this.box = h("div", { class: "trash-banner card notice", id: "trash-banner", hidden: true },
      this.note, this.error, this.actions);
    anchor.after(this.box);
  }

  show(message, { error = "", actions = [] } = {}) {
    this.note.textContent = message;
    this.error.textContent = error;
    this.error.hidden = !error;
    setChildren(this.actions, actions);
    this.box.hidden = !message && !error && !actions.length;
  }

  /** A small form for the token, then ``retry`` with it. */
  askForToken(refused, retry) {
    const input = h("input", { id: "trash-token", type: "password", autocomplete: "off", required: true });
    const form = h("form", { class: "trash-token", onsubmit: (event) => {
      event.preventDefault();
      setToken(input.value.trim());
      retry();
    } },
    h("label", { for: "trash-token", text: t("trash.tokenLabel") }), input,
    h("button", { type: "submit", text: t("trash.withToken") }));
    this.show("", { error: refused ? t("trash.tokenRefused") : "", actions: [form] });
    input.focus();
  }
}

function messageOf(error) {
  return error instanceof ApiError ? error.message : String(error?.message ?? error);
}

// -- the run page ------------------------------------------------------------------------------------------

let pageRun = "";
let pageButton = null;
let pageBanner = null;
let pageGone = false;

async function deleteThisRun() {
  pageButton.disabled = true;
  pageBanner.show(t("trash.deleting"));
  try {
    await deleteOne(pageRun);
  } catch (error) {
    pageButton.disabled = false;
    if (error instanceof ApiError && error.status === 401) pageBanner.askForToken(Boolean(getToken()), deleteThisRun);
    else pageBanner.show("", { error: t("trash.failed", { message: messageOf(error) }) });
    return;
  }
  pageGone = true;
  pageButton.hidden = true;
  const undo = h("button", { type: "button", id: "trash-undo", text: t("trash.undo"), onclick: undoThisRun });
  pageBanner.show(t("trash.deletedOne"), {
    actions: [undo, h("a", { href: "/", class: "button secondary", text: t("trash.backToList") })],
  });
  undo.focus();
}

async function undoThisRun() {
  pageBanner.show(t("trash.restoring"));
  try {
    await postJSON(restoreUrl(pageRun), {});
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) pageBanner.askForToken(Boolean(getToken()), undoThisRun);
    else pageBanner.show("", { error: t("trash.restoreFailed", { message: messageOf(error) }) });
    return;
  }
  location.assign(runPageUrl(pageRun)); // the page starts again on the restored run
}

/** The run page's Delete button (once, when the page starts): in the run's actions, hidden while it runs. */
export function setUpRunDelete(runId) {
  pageRun = runId;
  pageButton = h("button", { type: "button", id: "run-delete", class: "danger", text: t("trash.deleteRun"),
                             hidden: true, onclick: deleteThisRun });
  document.getElementById("run-actions").append(pageButton);
  pageBanner = new Banner(document.querySelector(".run-head"));
}

/** Offer Delete only for a run that is not running (the server refuses a running one anyway). */
export function showRunDelete(status) {
  if (pageButton) pageButton.hidden = pageGone || status === "running";
}

/** Whether this page's run was deleted here (the page then stops saying it is missing: the banner says why). */
export function deletedHere() {
  return pageGone;
}

// -- the runs list -----------------------------------------------------------------------------------------

/**
 * "Delete selected" beside the compare button: the picked runs go to the trash, a result per run; Undo restores
 * those that went. ``picked()`` gives the picked run ids; ``changed()`` is called after the list changed.
 */
export function setUpListDelete(picked, unpick, changed) {
  const bar = document.querySelector(".compare-bar");
  const button = h("button", { type: "button", id: "delete-picked", class: "danger", disabled: true });
  document.getElementById("compare-open").after(button);
  const banner = new Banner(bar);
  let lastDeleted = [];

  function update() {
    const count = picked().length;
    button.disabled = count === 0;
    button.textContent = tn("trash.deletePicked", count, { count });
  }

  async function send(url, ids) {
    try {
      return { results: (await postJSON(url, { run_ids: ids })).results };
    } catch (error) {
      return { error };
    }
  }

  async function deletePicked() {
    const ids = picked();
    if (!ids.length) return;
    button.disabled = true;
    banner.show(t("trash.deleting"));
    const { results, error } = await send(DELETE_MANY_URL, ids);
    update();
    if (error) {
      if (error instanceof ApiError && error.status === 401) banner.askForToken(Boolean(getToken()), deletePicked);
      else banner.show("", { error: t("trash.failed", { message: messageOf(error) }) });
      return;
    }
    lastDeleted = results.filter((r) => r.status === 200).map((r) => r.run_id);
    const refused = results.filter((r) => r.status !== 200);
    unpick(lastDeleted);
    update();
    changed();
    const undo = h("button", { type: "button", id: "trash-undo", text: t("trash.undo"), onclick: undoPicked });
    banner.show(tn("trash.deletedMany", lastDeleted.length, { count: lastDeleted.length }), {
      error: refused.map((r) => t("trash.refusedOne", { id: r.run_id.slice(0, 8), message: r.error })).join(" "),
      actions: lastDeleted.length ? [undo] : [],
    });
    if (lastDeleted.length) undo.focus();
  }

  async function undoPicked() {
    banner.show(t("trash.restoring"));
    const { results, error } = await send(RESTORE_MANY_URL, lastDeleted);
    if (error) {
      if (error instanceof ApiError && error.status === 401) banner.askForToken(Boolean(getToken()), undoPicked);
      else banner.show("", { error: t("trash.restoreFailed", { message: messageOf(error) }) });
      return;
    }
    const restored = results.filter((r) => r.status === 200).length;
    const failed = results.filter((r) => r.status !== 200);
    lastDeleted = [];
    changed();
    banner.show(tn("trash.restoredMany", restored, { count: restored }), {
      error: failed.map((r) => t("trash.refusedOne", { id: r.run_id.slice(0, 8), message: r.error })).join(" "),
    });
  }

  button.addEventListener("click", deletePicked);
  update();
  return update;
}
