// The run page's prompting process: the steps by which the run's prompt came about (each edit, the parameters
// of each try, intermediate images), as a timeline of edits in their own order, beside the main entities. Each
// step is shown as an entity is (text inline, JSON folded, images and audio with players), from
// GET /api/pipeline/{run_id}/process/{filename}; new steps arrive with the stream's "process_step" events.

import { processUrl } from "./api.js";
import { renderEntity } from "./render.js";

const section = document.getElementById("process-section");
const list = document.getElementById("process-steps");
const shown = new Set(); // sequences on the page

let runId = "";

/** Add a step record (from /status or an event); each sequence once, in sequence order. */
export function addStep(step) {
  if (!step || !Number.isInteger(step.sequence) || shown.has(step.sequence)) return;
  const name = String(step.filename ?? "").split("/").pop();
  const item = renderEntity(step, processUrl(runId, name));
  item.id = `step-${step.sequence}`;
  item.classList.add("process-step");
  shown.add(step.sequence);
  const after = [...list.children].find((li) => Number(li.dataset.sequence) > step.sequence);
  list.insertBefore(item, after ?? null);
  section.hidden = false;
}

/** Show the steps a status document lists (the section stays hidden for a run without any). */
export function showProcess(doc) {
  for (const step of Array.isArray(doc?.prompting_process) ? doc.prompting_process : []) addStep(step);
}

export function setUpProcess(id) {
  runId = id;
}
