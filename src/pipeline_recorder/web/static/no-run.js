// The page the server answers (with 404) for /runs/{run_id} when there is no such run: it names the id it was
// asked for, as text.

import { t, translatePage } from "./i18n.js";
import { runIdFromAddress } from "./api.js";

translatePage();
const runId = runIdFromAddress();
if (runId) document.getElementById("missing-text").textContent = t("run.notFound", { id: runId });
document.title = `${t("missing.heading")} · pipeline-recorder`;
