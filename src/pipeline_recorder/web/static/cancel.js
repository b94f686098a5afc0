// The run page's "Cancel run" button: shown only while the run is running, it asks this server's runner to stop
// the run (POST /api/pipeline/{run_id}/cancel, with the bearer token like every other POST). The run then ends
// `cancelled` at its next stage boundary and the page learns that from its normal event stream, not from here.

import { ApiError, cancelUrl, postJSON } from "./api.js";
import { t } from "./i18n.js";

const box = document.getElementById("cancel-box");
const button = document.getElementById("cancel-run");
const note = document.getElementById("cancel-message");
const errorBox = document.getElementById("cancel-error");

let runId = "";
// "idle": the button can be pressed; "sending": the request is in flight; "requested": the runner accepted the
// cancel (or the run had ended), so the button stays disabled until the run ends, as a second request would only
// repeat the first.
let phase = "idle";

function say(message) {
  note.textContent = message;
}

function fail(message) {
  errorBox.textContent = message;
  errorBox.hidden = !message;
}

function setPhase(next) {
  phase = next;
  button.disabled = next !== "idle";
  button.textContent = t(next === "idle" ? "cancel.button" : "cancel.sending");
}

async function cancel() {
  if (phase !== "idle") return;
  setPhase("sending");
  say("");
  fail("");
  let answer;
  try {
    answer = await postJSON(cancelUrl(runId), {});
  } catch (error) {
    // The server's JSON error says why (unknown run, token needed, runner unavailable); keep it visible.
    const message = error instanceof ApiError ? error.message : String(error?.message ?? error);
    fail(t("cancel.failed", { message }));
    setPhase("idle");
    return;
  }
  if (answer?.cancel_requested) {
    setPhase("requested");
    say(t("cancel.requested"));
  } else if (answer?.status === "running") {
    // A run recorded by another process or server: only the one running it can stop it.
    fail(t("cancel.notHere"));
    setPhase("idle");
  } else {
    setPhase("requested"); // it has ended already; the event stream brings the end and hides the button
    say(t("cancel.alreadyEnded"));
  }
}

/** Wire the button to runId (once, when the page starts). */
export function setUpCancel(id) {
  runId = id;
  button.addEventListener("click", cancel);
}

/** Show the button while the run is running; hide it, with its messages, once the run has ended. */
export function showCancel(status) {
  const running = status === "running";
  if (running === !box.hidden) return;
  if (!running && box.contains(document.activeElement)) {
    // Keep keyboard focus on the page (on the new status) rather than losing it with the hidden button.
    document.getElementById("run-status").focus();
  }
  box.hidden = !running;
  say("");
  fail("");
  setPhase("idle");
}
