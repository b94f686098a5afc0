// The start form: POST /api/schema/pipeline/execute with "wait": false, then open the new run's page.

import { EXECUTE_URL, postJSON, runPageUrl } from "./api.js";
import { h } from "./dom.js";
import { t } from "./i18n.js";

const form = document.getElementById("start-form");
const select = document.getElementById("start-config");
const hint = document.getElementById("start-config-hint");
const errorBox = document.getElementById("start-error");
const submit = document.getElementById("start-submit");

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

/** Fill the pipeline choice from the configs the server lists, and wire up the form. */
export function setUpStartForm(configs) {
  const byName = new Map(configs.map((c) => [c.name, c]));
  select.replaceChildren(...configs.map((c) => h("option", { value: c.name, text: c.title || c.name })));
  if (!configs.length) {
    select.append(h("option", { value: "", text: t("start.noConfigs") }));
    submit.disabled = true;
  }
  describe(byName.get(select.value));
  select.addEventListener("change", () => describe(byName.get(select.value)));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError("");
    const input = form.elements.input_text;
    if (!input.value.trim()) {
      showError(t("start.needInput"));
      input.focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = t("start.starting");
    try {
      const answer = await postJSON(EXECUTE_URL, {
        schema: select.value,
        input_text: input.value,
        execution_mode: form.elements.execution_mode.value,
        safety_level: form.elements.safety_level.value,
        wait: false,
      });
      location.assign(runPageUrl(answer.run_id));
    } catch (error) {
      showError(t("start.failed", { message: error.message }));
      submit.disabled = false;
      submit.textContent = t("start.submit");
    }
  });
}
