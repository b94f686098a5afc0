// The run page's "Download (.zip)" button: GET /api/pipeline/{run_id}/export, which needs the server's token when
// one is set. The token is the one this tab holds (sessionStorage, entered once on the runs page or here when the
// server asks for it); a link cannot send a header, so with a token the archive is fetched and saved from memory.
// Without one the browser downloads straight from the link (streamed to disk, however large the run).

import { exportUrl } from "./api.js";
import { t } from "./i18n.js";
import { TokenDownload, saveBlob } from "./token-download.js";

const link = document.getElementById("run-download");
const box = new TokenDownload("download", "download", { container: document.getElementById("download-box") });

let runId = "";
let busy = false;

/** The export answered: with a token its bytes are here to save; without, the browser follows the link itself. */
async function startDownload(response, token) {
  if (token) saveBlob(await response.blob(), `${runId}.zip`);
  else location.assign(link.href);
  return t("download.started");
}

async function download(event) {
  event.preventDefault();
  if (busy) return;
  busy = true;
  link.setAttribute("aria-disabled", "true");
  try {
    // Without a token, ask first (HEAD) whether the server needs one, then let the browser stream the file.
    await box.fetchAndUse(link.href, startDownload, (token) => (token ? "GET" : "HEAD"));
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
  box.onToken(() => link.click());
}
