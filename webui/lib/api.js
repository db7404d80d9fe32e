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

async function call(method, path, params, body) {
  const response = await fetch(url(path, params), {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
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
