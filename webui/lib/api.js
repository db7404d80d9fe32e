// Kerma's REST API, same origin, behind Orthanc's authentication (the browser sends the credentials).
const BASE = new URL("../api/", location.href);

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

function url(path, params = {}) {
  const target = new URL(path, BASE);
  for (const [name, value] of Object.entries(params)) {
    if (value !== "" && value !== null && value !== undefined) target.searchParams.set(name, value);
  }
  return target;
}

// Kerma refuses a write without both headers: a page on another site can send neither (cross-site request forgery).
const WRITE_HEADERS = { "Content-Type": "application/json", "X-Requested-With": "kerma" };

async function call(method, path, params, body) {
  const response = await fetch(url(path, params), {
    method,
    headers: method === "GET" ? {} : WRITE_HEADERS,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, data.error || `${method} ${path}: HTTP ${response.status}`);
  return data;
}

export const get = (path, params) => call("GET", path, params);
export const post = (path, body, params) => call("POST", path, params, body);
export const put = (path, body) => call("PUT", path, {}, body);
export const remove = (path) => call("DELETE", path, {});
export const csvLink = (path, params) => url(path, { ...params, format: "csv" }).toString();
