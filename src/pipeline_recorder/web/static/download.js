// The run page's "Download (.zip)" button: GET /api/pipeline/{run_id}/export, which needs the server's token when
// one is set. The token is the one this tab holds (sessionStorage, entered once on the runs page or here when the
// server asks for it); a link cannot send a header, so with a token the archive is fetched and saved from memory.
// Without one the browser downloads straight from the link (streamed to disk, however large the run).

import { errorFrom, exportUrl, getToken, setToken } from "./api.js";
import { t } from "./i18n.js";

const link = document.getElementById("run-download");
const box = document.getElementById("download-box");
const note = document.getElementById("download-message");
const errorBox = document.getElementById("download-error");
const tokenForm = document.getElementById("download-token-form");
const tokenInput = document.getElementById("download-token");

let runId = "";
let busy = false;

function say(message, error = "") {
  note.textContent = message;
  errorBox.textContent = error;
  errorBox.hidden = !error;
  box.hidden = !message && !error && tokenForm.hidden;
}

function askForToken(refused) {
  tokenForm.hidden = false;
  say("", refused ? t("download.tokenRefused") : "");
  tokenInput.focus();
}

function save(blob) {
  const url = URL.createObjectURL(blob);
  const anchor = document.createElement("a");
  anchor.href = url;
  anchor.download = `${runId}.zip`;
  anchor.hidden = true;
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

async function download(event) {
  event.preventDefault();
  if (busy) return;
  busy = true;
  link.setAttribute("aria-disabled", "true");
  const token = getToken();
  say(t("download.preparing"));
  try {
    const headers = token ? { Authorization: `Bearer ${token}` } : {};
    // Without a token, ask first (HEAD) whether the server needs one, then let the browser stream the file.
    const response = await fetch(link.href, { method: token ? "GET" : "HEAD", headers, cache: "no-store" });
    if (response.status === 401) {
      askForToken(Boolean(token));
      return;
    }
    if (!response.ok) {
      say("", t("download.failed", { message: (await errorFrom(response)).message }));
      return;
    }
    if (token) save(await response.blob());
    else location.assign(link.href);
    tokenForm.hidden = true;
    say(t("download.started"));
  } catch (error) {
    say("", t("download.failed", { message: error.message }));
  } finally {
    busy = false;
    link.removeAttribute("aria-disabled");
  }
}

/** Wire the button to runId (once, when the page starts). */
export function setUpDownload(id) {
  runId = id;
  link.href = exportUrl(id);
  link.setAttribute("download", `${id}.zip`);
  link.addEventListener("click", download);
  tokenForm.addEventListener("submit", (event) => {
    event.preventDefault();
    setToken(tokenInput.value.trim());
    tokenInput.value = "";
    link.click();
  });
}
