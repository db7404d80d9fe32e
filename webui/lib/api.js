// Kerma's REST API, same origin, behind Orthanc's authentication (the browser sends the credentials).
const BASE = new URL("../api/", location.href);

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

function url(path, params = {}) {
  const target = new URL(path, BASE);
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== "" && value !== null && value !== undefined) target.searchParams.set(name, value);
  }
  return target;
}

// Kerma refuses a write without both headers: a page on another site can send neither (cross-site request forgery).
const WRITE_HEADERS = { "Content-Type": "application/json", "X-Requested-With": "kerma" };

// A new Idempotency-Key: Kerma does a POST with a key it has seen (from this user, within a day) only once.
export function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16)); // randomUUID needs a secure context; this does not
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function call(method, path, params, body, key) {
  const headers = method === "GET" ? {} : { ...WRITE_HEADERS, ...(key ? { "Idempotency-Key": key } : {}) };
  const response = await fetch(url(path, params), {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin",
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, data.error || `${method} ${path}: HTTP ${response.status}`);
  return data;
}

export const get = (path, params) => call("GET", path, params);
// key: the submission's Idempotency-Key (lib/forms.js keeps one per filled-in form); a new one when not given
export const post = (path, body, { params, key } = {}) => call("POST", path, params, body, key || newKey());
export const put = (path, body) => call("PUT", path, {}, body);
export const remove = (path) => call("DELETE", path, {});
export const link = (path, params) => url(path, params).toString();
export const csvLink = (path, params) => url(path, { ...params, format: "csv" }).toString();
