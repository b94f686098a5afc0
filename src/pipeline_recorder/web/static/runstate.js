// Facts about runs the viewer needs to decide what to show. The statuses are those of DESIGN.md section 2.

export const STATUSES = ["running", "completed", "failed", "blocked", "cancelled", "interrupted"];
// A run in one of these will not change any more: stop following it. "interrupted" means its writer died.
export const ENDED = new Set(["completed", "failed", "blocked", "cancelled", "interrupted"]);

// How many runs the compare page shows side by side.
export const COMPARE_MIN = 2;
export const COMPARE_MAX = 6;

/** Parse "k/n" into {done, total}; anything else gives zeros. */
export function parseProgress(text) {
  const match = /^(\d+)\/(\d+)$/.exec(String(text ?? ""));
  if (!match) return { done: 0, total: 0 };
  const total = Number(match[2]);
  return { done: Math.min(Number(match[1]), total), total };
}

/** Milliseconds between two ISO timestamps, or null when either is missing or unparsable. */
export function between(startIso, endIso) {
  const start = Date.parse(startIso ?? "");
  const end = Date.parse(endIso ?? "");
  return Number.isFinite(start) && Number.isFinite(end) ? Math.max(0, end - start) : null;
}
