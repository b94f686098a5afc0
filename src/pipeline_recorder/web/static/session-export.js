// The run page's "Export this session" box, for researchers: the runs of this run's session as one download from
// GET /api/pipeline/export (zip, CSV or Parquet; pseudonyms and "no free text" on request). The route hands out
// personal data in bulk, so it takes the server's token (held by this tab, asked for here when the server
// refuses), and without a token only this machine. Shown only for runs that belong to a session.

import { errorFrom, getToken, setToken } from "./api.js";
import { t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const box = $("session-export");
const form = $("session-export-form");
const note = $("session-export-message");
const errorBox = $("session-export-error");
const tokenForm = $("session-export-token-form");
const tokenInput = $("session-export-token");

let session = "";
let busy = false;
let wired = false;

/** The address of the research export of a session with the options of the form. */
export function sessionExportUrl(sessionId, format, pseudonymise, noText) {
  const params = new URLSearchParams({ session_id: sessionId, format });
  if (pseudonymise) params.set("pseudonymise", "1");
  if (noText) params.set("no_text", "1");
  return `/api/pipeline/export?${params}`;
}

function say(message, error = "") {
  note.textContent = message;
  errorBox.textContent = error;
  errorBox.hidden = !error;
}

function save(blob, name) {
  const url = URL.createObjectURL(blob);
  const anchor = document.createElement("a");
  anchor.href = url;
  anchor.download = name;
  anchor.hidden = true;
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function filenameOf(response, format) {
  const match = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") ?? "");
  return match ? match[1] : `session-export.${format}`;
}

async function exportSession(event) {
  event.preventDefault();
  if (busy || !session) return;
  busy = true;
  const format = $("session-export-format").value;
  const url = sessionExportUrl(session, format, $("session-export-pseudonymise").checked,
                               $("session-export-no-text").checked);
  say(t("sessionExport.preparing"));
  try {
    const token = getToken();
    const response = await fetch(url, { headers: token ? { Authorization: `Bearer ${token}` } : {}, cache: "no-store" });
    if (response.status === 401) {
      tokenForm.hidden = false;
      say("", token ? t("sessionExport.tokenRefused") : "");
      tokenInput.focus();
      return;
    }
    if (!response.ok) {
      say("", t("sessionExport.failed", { message: (await errorFrom(response)).message }));
      return;
    }
    const name = filenameOf(response, format);
    save(await response.blob(), name);
    tokenForm.hidden = true;
    say(t("sessionExport.done", { name }));
  } catch (error) {
    say("", t("sessionExport.failed", { message: error.message }));
  } finally {
    busy = false;
  }
}

/** Show the box for the run's session (hidden when the run belongs to none); called whenever the run changes. */
export function showSessionExport(doc) {
  session = typeof doc?.session_id === "string" ? doc.session_id : "";
  box.hidden = !session;
  if (!session) return;
  $("session-export-session").textContent = session;
  if (wired) return;
  wired = true;
  form.addEventListener("submit", exportSession);
  tokenForm.addEventListener("submit", (event) => {
    event.preventDefault();
    setToken(tokenInput.value.trim());
    tokenInput.value = "";
    form.requestSubmit();
  });
}
