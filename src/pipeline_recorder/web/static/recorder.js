// Recording from the browser: a small ES module (no build step) for front-end tools that have no server-side
// pipeline. It records through the server's write routes, as RemoteRecorder does from Python:
//
//   import { BrowserRecorder } from "/static/recorder.js";
//   const rec = new BrowserRecorder({ config_name: "canvas", execution_mode: "eco", safety_level: "kids",
//                                     kind: "canvas_workflow", session_id: "class-4b", device_id: "tablet-07" });
//   await rec.saveText("input", "Ein Hund im Garten");     // the run is created here, by the first save
//   await rec.saveJSON("parameters", { steps: 20 });
//   await rec.saveBlob("output_image", canvasBlob);        // streamed as the request body
//   await rec.saveProcessStep("input", "Ein Hund");         // a step of the prompting process (text, JSON, Blob)
//   await rec.setModel("stage4_output", "comfyui/sd35_large");
//   await rec.setState(4, "media_generation");
//   await rec.finish("completed");
//
// - Lazy: nothing is written until the first save, so a page that was only opened leaves no empty run. The run id
//   is known from the start (rec.runId), and a state set before the first save is sent right after it.
// - Every write carries an Idempotency-Key; a write whose answer was lost (network error, 503, 429) is retried with
//   the same key, so the server stores it once.
// - The token, when the server has one, is the one given ({ token }) or the one this tab holds for the viewer.
// - Writes go out one after another in the order they were called; each returns a promise of the server's answer
//   and rejects with a RecorderError (status, message from the server) that says what was wrong.
// - While the run is open a heartbeat renews its lease, so a slow page does not read as "interrupted".

const TOKEN_KEY = "pipeline-recorder-token"; // the viewer's key (api.js), so a viewer tab's token serves here
const RETRIES = 3;
const RETRY_STATUSES = new Set([429, 503]);

/** A write the server refused or that could not be sent: `status` is 0 when no answer came. */
export class RecorderError extends Error {
  constructor(status, message, errorClass = "") {
    super(message);
    this.name = "RecorderError";
    this.status = status;
    this.errorClass = errorClass; // the server's error class (Pipeline-Error), e.g. "RunFinishedError"
  }
}

function randomId() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const SETTINGS = ["config_name", "execution_mode", "safety_level"];
const OPTIONAL = ["user_id", "expected_outputs", "kind", "session_id", "device_id"];

export class BrowserRecorder {
  /**
   * @param {object} options config_name, execution_mode, safety_level (required); user_id, expected_outputs, kind,
   *   session_id, device_id (optional run fields); run_id (default: a new UUID); server (default: this page's
   *   origin); token (default: the viewer's token of this tab).
   */
  constructor(options = {}) {
    const missing = SETTINGS.filter((name) => typeof options[name] !== "string" || !options[name]);
    if (missing.length) {
      throw new RecorderError(0, `BrowserRecorder needs ${missing.join(", ")} (strings): the run's settings`);
    }
    this.runId = options.run_id ?? randomId();
    this.server = (options.server ?? "").replace(/\/+$/, "");
    this._token = options.token;
    this._settings = { run_id: this.runId };
    for (const name of [...SETTINGS, ...OPTIONAL]) {
      if (options[name] !== undefined && options[name] !== null) this._settings[name] = options[name];
    }
    this._writer = `browser-${randomId()}`; // this page's lease in the store
    this._queue = Promise.resolve();
    this._created = false;
    this._finished = false;
    this._pendingState = null;
    this._heartbeat = null;
  }

  /** Whether the run exists on the server (after the first save). */
  get started() {
    return this._created;
  }

  _headers(extra) {
    const token = this._token ?? globalThis.sessionStorage?.getItem(TOKEN_KEY) ?? "";
    const headers = { Accept: "application/json", "Pipeline-Writer": this._writer, ...extra };
    if (token) headers.Authorization = `Bearer ${token}`;
    return headers;
  }

  /** One write, retried with the same Idempotency-Key while no answer came or the server was busy. */
  async _send(method, path, body, contentType, extraHeaders = {}) {
    const headers = this._headers({ "Idempotency-Key": randomId(), ...extraHeaders });
    if (contentType) headers["Content-Type"] = contentType;
    let lastError = null;
    for (let attempt = 0; attempt < RETRIES; attempt += 1) {
      if (attempt) await wait(250 * 2 ** attempt);
      let response;
      try {
        response = await fetch(this.server + path, { method, headers, body, cache: "no-store" });
      } catch (error) {
        lastError = new RecorderError(0, `the recorder server could not be reached: ${error.message}`);
        continue;
      }
      if (response.ok) return response.json();
      lastError = await this._refusal(response);
      if (!RETRY_STATUSES.has(response.status)) break;
    }
    throw lastError;
  }

  async _refusal(response) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const answer = await response.json();
      if (answer && typeof answer.error === "string") message = answer.error;
    } catch {
      // not JSON: keep the status line
    }
    return new RecorderError(response.status, message, response.headers.get("Pipeline-Error") ?? "");
  }

  /** Run `step` after every earlier call, whether they succeeded or not. */
  _enqueue(step) {
    const result = this._queue.then(step);
    this._queue = result.catch(() => {});
    return result;
  }

  _run(suffix) {
    return `/api/pipeline/${encodeURIComponent(this.runId)}${suffix}`;
  }

  async _ensureCreated() {
    if (this._created) return;
    if (this._finished) throw new RecorderError(0, "this recorder has finished; make a new one for a new run");
    const answer = await this._send("POST", "/api/pipeline/runs", JSON.stringify(this._settings), "application/json");
    this._created = true;
    const seconds = Number(answer.lease_seconds) || 30;
    this._heartbeat = setInterval(() => this._renewLease(), (seconds * 1000) / 3);
    if (this._pendingState) {
      const state = this._pendingState;
      this._pendingState = null;
      await this._send("PUT", this._run("/state"), JSON.stringify(state), "application/json");
    }
  }

  _renewLease() {
    fetch(this.server + this._run("/lease"), { method: "POST", headers: this._headers({}), cache: "no-store" })
      .catch(() => {}); // a missed heartbeat is retried at the next beat; the writes renew the lease too
  }

  _save(entityType, body, contentType, metadata, route = "entity") {
    return this._enqueue(async () => {
      await this._ensureCreated();
      const extra = {};
      // Entity metadata travels as JSON in a header, non-ASCII escaped (headers are Latin-1).
      if (metadata) {
        extra["Pipeline-Entity-Metadata"] = JSON.stringify(metadata).replace(
          /[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
      }
      const path = this._run(`/${route}/${encodeURIComponent(entityType)}`);
      const answer = await this._send("POST", path, body, contentType, extra);
      return route === "entity" ? answer.entity : answer.step;
    });
  }

  /** `value` as JSON through `route`, or a rejection naming `caller` (the public method) when it is not JSON. */
  _saveAsJSON(caller, entityType, value, metadata, route) {
    let body;
    try {
      body = JSON.stringify(value);
    } catch (error) {
      return Promise.reject(new RecorderError(0, `${caller}: the value is not JSON-serialisable (${error.message})`));
    }
    if (body === undefined) return Promise.reject(new RecorderError(0, `${caller}: the value is not JSON`));
    return this._save(entityType, body, "application/json", metadata, route);
  }

  /** Save text as a .txt entity; resolves to the entity record. */
  saveText(entityType, text, metadata = null) {
    if (typeof text !== "string") return Promise.reject(new RecorderError(0, "saveText takes a string"));
    return this._save(entityType, text, "text/plain; charset=utf-8", metadata);
  }

  /** Save a JSON-serialisable value as a .json entity. */
  saveJSON(entityType, value, metadata = null) {
    return this._saveAsJSON("saveJSON", entityType, value, metadata, "entity");
  }

  /** Save a Blob or File (an image, audio, ...), streamed as the request body; its format is sniffed. */
  saveBlob(entityType, blob, metadata = null) {
    if (!(blob instanceof Blob)) return Promise.reject(new RecorderError(0, "saveBlob takes a Blob or File"));
    return this._save(entityType, blob, blob.type || "application/octet-stream", metadata);
  }

  /**
   * Save a step of the prompting process (an edit of the prompt, the parameters of a try, an intermediate image):
   * a string is text, a Blob is sent as it is, anything else is JSON. Stored as prompting_process/NNN_type.ext
   * with its own sequence; resolves to the step's record.
   */
  saveProcessStep(entityType, content, metadata = null) {
    if (typeof content === "string") {
      return this._save(entityType, content, "text/plain; charset=utf-8", metadata, "process");
    }
    if (content instanceof Blob) {
      return this._save(entityType, content, content.type || "application/octet-stream", metadata, "process");
    }
    return this._saveAsJSON("saveProcessStep", entityType, content, metadata, "process");
  }

  /** Record which backend/model ran a stage ("stage4_output", "comfyui/sd35_large"); resolves to models_used. */
  setModel(stageKey, model) {
    return this._enqueue(async () => {
      await this._ensureCreated();
      const body = JSON.stringify({ stage_key: stageKey, model });
      return (await this._send("PUT", this._run("/model"), body, "application/json")).models_used;
    });
  }

  /** Set the current stage and step; before the first save it is kept and sent right after the run is made. */
  setState(stage, step) {
    const state = { stage, step };
    return this._enqueue(async () => {
      if (!this._created) {
        this._pendingState = state;
        return { run_id: this.runId, current_state: state, sent: false };
      }
      return this._send("PUT", this._run("/state"), JSON.stringify(state), "application/json");
    });
  }

  /** Save an error entity (and create the run if nothing was saved yet). */
  saveError(stage, errorType, message, details = null) {
    return this._enqueue(async () => {
      await this._ensureCreated();
      const body = JSON.stringify({ stage, error_type: errorType, message, details: details ?? {} });
      return (await this._send("POST", this._run("/error"), body, "application/json")).entity;
    });
  }

  /**
   * End the run: "completed", "failed", "blocked" or "cancelled". A recorder that never saved anything created
   * no run and resolves to null (nothing was recorded).
   */
  finish(status = "completed", reason = null) {
    return this._enqueue(async () => {
      if (!this._created) {
        this._finished = true;
        return null;
      }
      const body = JSON.stringify(reason ? { status, reason } : { status });
      const answer = await this._send("POST", this._run("/finish"), body, "application/json");
      this._finished = true;
      clearInterval(this._heartbeat);
      return answer;
    });
  }
}
