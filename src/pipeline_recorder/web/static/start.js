// The start form: POST /api/schema/pipeline/execute with "wait": false, then open the new run's page.
// Opened as /?again=RUN_ID (the run page's "Run again" button), it is filled in with that run's settings and input.

import { EXECUTE_URL, fileUrl, getJSON, postJSON, runPageUrl, statusUrl } from "./api.js";
import { h } from "./dom.js";
import { t } from "./i18n.js";
import { fetchText } from "./render.js";

// The pipeline a new visitor sees first: the telephone game shows best what the recorder keeps of each step.
const DEFAULT_CONFIG = "stillepost";
// The user or class typed last, kept in this browser so a class does not type it for every run.
const USER_KEY = "pipeline-recorder-user";

const form = document.getElementById("start-form");
const select = document.getElementById("start-config");
const hint = document.getElementById("start-config-hint");
const errorBox = document.getElementById("start-error");
const submit = document.getElementById("start-submit");
const againNote = document.getElementById("start-again");

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = !message;
}

function describe(config) {
  const parts = [];
  if (typeof config?.description === "string") parts.push(config.description);
  if (Array.isArray(config?.expected_outputs)) {
    parts.push(t("start.outputs", { outputs: config.expected_outputs.join(", ") }));
  }
  hint.textContent = parts.join(" · ");
}

function choose(field, value) {
  if ([...field.options].some((option) => option.value === value)) field.value = value;
}

/** Fill the form with the settings and the input text of run `runId`. */
async function fillFrom(runId, byName) {
  againNote.hidden = false;
  try {
    const doc = await getJSON(statusUrl(runId));
    const input = (doc.entities ?? []).find((entity) => entity.type === "input");
    form.elements.input_text.value = input ? await fetchText(fileUrl(runId, input.filename)) : "";
    choose(select, doc.config_name);
    choose(form.elements.execution_mode, doc.execution_mode);
    choose(form.elements.safety_level, doc.safety_level);
    if (doc.user_id && doc.user_id !== "anonymous") form.elements.user_id.value = doc.user_id;
    describe(byName.get(select.value));
    againNote.textContent = select.value === doc.config_name
      ? t("again.filled", { id: runId.slice(0, 8) })
      : t("again.noConfig", { id: runId.slice(0, 8), config: doc.config_name });
    submit.focus();
  } catch (error) {
    againNote.textContent = t("again.failed", { id: runId.slice(0, 8), message: error.message });
  }
}

/** Fill the pipeline choice from the configs the server lists, and wire up the form. */
export function setUpStartForm(configs) {
  const byName = new Map(configs.map((c) => [c.name, c]));
  select.replaceChildren(...configs.map((c) => h("option", { value: c.name, text: c.title || c.name })));
  if (!configs.length) {
    select.append(h("option", { value: "", text: t("start.noConfigs") }));
    submit.disabled = true;
  }
  choose(select, DEFAULT_CONFIG);
  form.elements.user_id.value = localStorage.getItem(USER_KEY) ?? "";
  describe(byName.get(select.value));
  select.addEventListener("change", () => describe(byName.get(select.value)));
  const again = new URLSearchParams(location.search).get("again");
  if (again) fillFrom(again, byName);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError("");
    const input = form.elements.input_text;
    if (!input.value.trim()) {
      showError(t("start.needInput"));
      input.focus();
      return;
    }
    const user = form.elements.user_id.value.trim();
    submit.disabled = true;
    submit.textContent = t("start.starting");
    try {
      const answer = await postJSON(EXECUTE_URL, {
        schema: select.value,
        input_text: input.value,
        execution_mode: form.elements.execution_mode.value,
        safety_level: form.elements.safety_level.value,
        ...(user ? { user_id: user } : {}),
        wait: false,
      });
      if (user) localStorage.setItem(USER_KEY, user);
      else localStorage.removeItem(USER_KEY);
      location.assign(runPageUrl(answer.run_id));
    } catch (error) {
      showError(t("start.failed", { message: error.message }));
      submit.disabled = false;
      submit.textContent = t("start.submit");
    }
  });
}
