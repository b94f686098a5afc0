// The stage timeline, computed from what the run records: each entity's timestamp and stage, the run's start and
// end. Pure functions, so the page can recompute it whenever anything arrives.

// Stages of DESIGN.md section 5 by the entity types they save; used when an entity's metadata names no "stage".
const STAGE_OF_TYPE = {
  input: 0,
  translation: 1,
  safety: 1,
  interception: 2,
  safety_pre_output: 3,
  output_image: 4,
  output_audio: 4,
  output_video: 4,
};

/** The stage an entity belongs to: its metadata's "stage" when recorded (errors have it), else by its type. */
export function stageOf(entity) {
  const stage = entity?.metadata?.stage;
  if (Number.isInteger(stage)) return stage;
  return STAGE_OF_TYPE[entity?.type] ?? null;
}

/**
 * The stages a run went through, in order: [{stage, start, end, running, failed, entities}] with ISO start/end
 * (end null while a running stage has not finished). A stage starts when the previous one ended (the run's start
 * for the first) and ends with its last entity; the last stage of an ended run ends when the run ended.
 */
export function computeTimeline(doc, entities, ended) {
  const byStage = new Map();
  for (const entity of entities) {
    const stage = stageOf(entity);
    if (stage === null) continue;
    if (!byStage.has(stage)) byStage.set(stage, []);
    byStage.get(stage).push(entity);
  }
  const current = doc?.current_state?.stage;
  if (!ended && Number.isInteger(current) && !byStage.has(current)) byStage.set(current, []);

  const stages = [...byStage.keys()].sort((a, b) => a - b);
  const result = [];
  let previousEnd = doc?.timestamp ?? null;
  stages.forEach((stage, i) => {
    const list = byStage.get(stage);
    const last = list.length ? list[list.length - 1].timestamp : null;
    const isLast = i === stages.length - 1;
    let end = last;
    let running = false;
    if (isLast) {
      if (ended) end = doc?.finished_at ?? doc?.updated_at ?? last;
      else if (stage === current) {
        end = null;
        running = true;
      }
    }
    result.push({
      stage,
      start: previousEnd,
      end,
      running,
      failed: list.some((e) => e.type === "error"),
      entities: list.length,
    });
    if (end) previousEnd = end;
  });
  return result;
}
