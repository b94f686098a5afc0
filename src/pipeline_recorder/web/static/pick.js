// Picking runs on the runs page to compare them: a checkbox per row, and a button that opens the compare page of
// the picked runs (in the order they were picked) once there are 2 to 6 of them.

import { comparePageUrl } from "./api.js";
import { h } from "./dom.js";
import { t } from "./i18n.js";
import { COMPARE_MAX, COMPARE_MIN } from "./runstate.js";

const picked = new Set(); // run ids in the order they were picked; kept while the list refreshes
const button = document.getElementById("compare-open");
const hint = document.getElementById("compare-hint");

function showPicked() {
  const count = picked.size;
  button.disabled = count < COMPARE_MIN || count > COMPARE_MAX;
  button.textContent = t("pick.button", { count });
  if (count > COMPARE_MAX) hint.textContent = t("pick.tooMany", { max: COMPARE_MAX });
  else hint.textContent = count ? t("pick.count", { count, min: COMPARE_MIN, max: COMPARE_MAX })
    : t("pick.hint", { min: COMPARE_MIN, max: COMPARE_MAX });
}

/** The checkbox of a run's row, labelled with the run it picks. */
export function pickBox(run) {
  return h("input", {
    type: "checkbox",
    class: "pick",
    value: run.run_id,
    checked: picked.has(run.run_id),
    "aria-label": t("pick.label", { config: run.config_name, id: run.run_id.slice(0, 8) }),
    onchange: (event) => {
      if (event.target.checked) picked.add(run.run_id);
      else picked.delete(run.run_id);
      showPicked();
      onPickedChange?.();
    },
  });
}

/** The picked run ids, in the order they were picked. */
export function pickedRuns() {
  return [...picked];
}

/** Forget these runs as picked (they left the list), and untick their boxes. */
export function unpick(runIds) {
  for (const runId of runIds) picked.delete(runId);
  for (const box of document.querySelectorAll("input.pick")) box.checked = picked.has(box.value);
  showPicked();
  onPickedChange?.();
}

let onPickedChange = null;

/** Call ``listener`` whenever the picked runs change (the list's Delete button counts them). */
export function whenPickedChange(listener) {
  onPickedChange = listener;
}

export function setUpPicking() {
  button.addEventListener("click", () => {
    if (!button.disabled) location.assign(comparePageUrl([...picked]));
  });
  showPicked();
}
