// Following a running run: the /events stream first; when the stream fails, polling /status with If-None-Match
// (a 304 costs almost nothing). Following stops once the run has ended.

import { eventsUrl, getStatusIfChanged } from "./api.js";
import { ENDED } from "./runstate.js";

const POLL_MS = 1000;
const MAX_POLL_MS = 5000;

/**
 * Follow runId. handlers: entity(record), state(current_state), status(status), snapshot(doc),
 * mode("stream" | "polling" | "stopped"). Returns a function that stops following.
 */
export function follow(runId, handlers, { etag = null } = {}) {
  let source = null;
  let pollTimer = null;
  let stopped = false;
  let currentEtag = etag;

  function stop() {
    if (stopped) return;
    stopped = true;
    source?.close();
    clearTimeout(pollTimer);
    handlers.mode("stopped");
  }

  function parse(event) {
    try {
      return JSON.parse(event.data);
    } catch {
      return null;
    }
  }

  async function poll(delay = POLL_MS) {
    if (stopped) return;
    let next = POLL_MS;
    try {
      const answer = await getStatusIfChanged(runId, currentEtag);
      if (stopped) return;
      if (answer.changed) {
        currentEtag = answer.etag;
        handlers.snapshot(answer.doc);
        if (ENDED.has(answer.doc.status)) {
          stop();
          return;
        }
      }
    } catch {
      next = Math.min(delay * 2, MAX_POLL_MS); // server away: back off, keep trying
    }
    if (!stopped) pollTimer = setTimeout(() => poll(next), next);
  }

  function fallBackToPolling() {
    if (stopped) return;
    source?.close();
    source = null;
    handlers.mode("polling");
    poll();
  }

  function stream() {
    if (typeof EventSource === "undefined") {
      fallBackToPolling();
      return;
    }
    source = new EventSource(eventsUrl(runId));
    source.addEventListener("open", () => handlers.mode("stream"));
    source.addEventListener("entity", (event) => {
      const record = parse(event);
      if (record) handlers.entity(record);
    });
    source.addEventListener("state", (event) => {
      const state = parse(event);
      if (state) handlers.state(state);
    });
    source.addEventListener("status", (event) => {
      const data = parse(event);
      if (data?.status) handlers.status(data.status);
    });
    source.addEventListener("process_step", (event) => {
      const step = parse(event);
      if (step && handlers.processStep) handlers.processStep(step);
    });
    source.addEventListener("annotations", (event) => {
      const data = parse(event);
      if (data && handlers.annotations) handlers.annotations(data);
    });
    source.addEventListener("end", async (event) => {
      const data = parse(event);
      source.close();
      if (data?.status) handlers.status(data.status);
      // One last read for what the stream does not carry (finished_at for the timeline).
      try {
        const answer = await getStatusIfChanged(runId, null);
        if (answer.changed) handlers.snapshot(answer.doc);
      } finally {
        stop();
      }
    });
    // EventSource would retry on its own, but a stream that failed once (a proxy that buffers, a dropped
    // connection) is not trusted again for this page: polling is cheap and always works.
    source.addEventListener("error", () => {
      if (!stopped) fallBackToPolling();
    });
  }

  stream();
  return stop;
}
