// The run page's "Export this session" box, for researchers: the runs of this run's session as one download from
// GET /api/pipeline/export (zip, CSV or Parquet; pseudonyms and "no free text" on request). The route hands out
// personal data in bulk, so it takes the server's token (held by this tab, asked for here when the server
// refuses), and without a token only this machine. Shown only for runs that belong to a session.

import { t } from "./i18n.js";
import { TokenDownload, saveBlob } from "./token-download.js";

const $ = (id) => document.getElementById(id);
const section = $("session-export");
const form = $("session-export-form");
const box = new TokenDownload("session-export", "sessionExport");

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
  try {
    await box.fetchAndUse(url, async (response) => {
      const name = filenameOf(response, format);
      saveBlob(await response.blob(), name);
      return t("sessionExport.done", { name });
    });
  } finally {
    busy = false;
  }
}

/** Show the box for the run's session (hidden when the run belongs to none); called whenever the run changes. */
export function showSessionExport(doc) {
  session = typeof doc?.session_id === "string" ? doc.session_id : "";
  section.hidden = !session;
  if (!session) return;
  $("session-export-session").textContent = session;
  if (wired) return;
  wired = true;
  form.addEventListener("submit", exportSession);
  box.onToken(() => form.requestSubmit());
}
