// The JSON API as the viewer uses it: one place that builds URLs, sends the optional bearer token and turns
// {"error": "..."} answers into exceptions with a readable message.

const TOKEN_KEY = "pipeline-recorder-token";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** Request headers with the bearer token of this tab, when it holds one. */
export function authHeaders(extra = {}) {
  const token = getToken();
  return token ? { ...extra, Authorization: `Bearer ${token}` } : extra;
}

/** The ApiError for a failed answer: its JSON "error" message, else its status line. */
export async function errorFrom(response) {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && typeof body.error === "string") message = body.error;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, message);
}

export async function getJSON(url, options = {}) {
  const response = await fetch(url, { headers: authHeaders({ Accept: "application/json" }), ...options });
  if (!response.ok) throw await errorFrom(response);
  return response.json();
}

/** Send `body` as JSON with `method` (POST, PUT) and read the JSON answer; a refusal throws its ApiError. */
async function sendJSON(method, url, body) {
  const response = await fetch(url, {
    method,
    headers: authHeaders({ "Content-Type": "application/json", Accept: "application/json" }),
    body: JSON.stringify(body),
  });
  if (!response.ok) throw await errorFrom(response);
  return response.json();
}

export const postJSON = (url, body) => sendJSON("POST", url, body);
export const putJSON = (url, body) => sendJSON("PUT", url, body);

/**
 * GET /status with If-None-Match. Returns {changed: false} on 304, else {changed: true, etag, doc}.
 * A conditional header makes fetch bypass the HTTP cache, so the 304 reaches us as it is.
 */
export async function getStatusIfChanged(runId, etag) {
  const extra = { Accept: "application/json" };
  if (etag) extra["If-None-Match"] = etag;
  const response = await fetch(statusUrl(runId), { headers: authHeaders(extra), cache: "no-store" });
  if (response.status === 304) return { changed: false, etag };
  if (!response.ok) throw await errorFrom(response);
  return { changed: true, etag: response.headers.get("ETag"), doc: await response.json() };
}

const seg = encodeURIComponent;

export const runsUrl = (params) => `/api/pipeline/runs${params && String(params) ? `?${params}` : ""}`;
export const statusUrl = (runId) => `/api/pipeline/${seg(runId)}/status`;
export const eventsUrl = (runId) => `/api/pipeline/${seg(runId)}/events`;
export const cancelUrl = (runId) => `/api/pipeline/${seg(runId)}/cancel`;
export const exportUrl = (runId) => `/api/pipeline/${seg(runId)}/export`;
export const processUrl = (runId, filename) => `/api/pipeline/${seg(runId)}/process/${seg(filename)}`;
export const annotationsUrl = (runId) => `/api/pipeline/${seg(runId)}/annotations`;
export const fileUrl = (runId, filename) => `/api/pipeline/${seg(runId)}/file/${seg(filename)}`;
export const thumbnailUrl = (runId, filename) => `/api/pipeline/${seg(runId)}/thumbnail/${seg(filename)}`;
export const runPageUrl = (runId) => `/runs/${seg(runId)}`;
/** The start form filled in with a run's settings and input (start.js reads ?again=). */
export const runAgainUrl = (runId) => `/?again=${seg(runId)}#start-heading`;
/** The compare page of these runs, in this order: the address names the comparison, so it can be sent. */
export const comparePageUrl = (runIds) => `/compare?runs=${runIds.map(seg).join(",")}`;

/** The run id of a run page's address: /runs/{run_id} (or ?run= when the page is opened some other way). */
export function runIdFromAddress() {
  const match = /^\/runs\/([^/]+)\/?$/.exec(location.pathname);
  if (match) return decodeURIComponent(match[1]);
  return new URLSearchParams(location.search).get("run") ?? "";
}
export const CONFIGS_URL = "/api/schema/configs";
export const EXECUTE_URL = "/api/schema/pipeline/execute";

/** Configs as a list, whether the server answers with a list or with {"configs": [...]}. */
export async function getConfigs() {
  const body = await getJSON(CONFIGS_URL);
  const list = Array.isArray(body) ? body : Array.isArray(body?.configs) ? body.configs : [];
  return list.filter((c) => c && typeof c.name === "string");
}
