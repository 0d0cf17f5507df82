// The UI's one way to the JSON APIs (the admin API and, later, the portal
// API): same-origin fetches carrying the session cookie, JSON in and out,
// and errors turned into ApiError, which describe() puts in the user's
// language with what to do next. The API error format is
// {"code","message","field","request_id"} (portal/errors.go).

import { t } from './i18n.js';

export const ADMIN_API = '/admin/api/v1';
export const PORTAL_API = '/portal/api/v1';

// ApiError is a refused or failed request.
export class ApiError extends Error {
  constructor(status, body, path) {
    super((body && body.message) || 'HTTP ' + status);
    this.status = status;
    this.code = (body && body.code) || (status === 0 ? 'NETWORK' : 'INTERNAL');
    this.field = body && body.field;
    this.requestId = body && body.request_id;
    this.path = path;
  }
}

let lastRequest = Date.now();
const unauthenticatedListeners = [];

// lastRequestAt is when the last request the server answered was sent: the
// server's idle timeout counts from its arrival, never earlier. (Taking the
// answer's time instead let a slow answer push the page's idle end past the
// server's.)
export function lastRequestAt() { return lastRequest; }

// onUnauthenticated calls f when a request is refused for want of a session
// (it ended, timed out, or was ended by an administrator).
export function onUnauthenticated(f) { unauthenticatedListeners.push(f); }

// request sends method path (under base) with an optional JSON body and
// returns the decoded answer (null for 204). A background request (a
// page's periodic refresh) does not count as the user's activity, so it
// never holds off the idle timeout.
export async function request(method, path, body, { base = ADMIN_API, background = false, headers: extra } = {}) {
  const headers = { Accept: 'application/json', ...extra };
  // The server does not count it as use either (portal.HeaderBackground).
  if (background && (method === 'GET' || method === 'HEAD')) headers['LJ-Background'] = '1';
  const init = { method, credentials: 'same-origin', headers, cache: 'no-store' };
  if (method !== 'GET' && method !== 'HEAD') {
    headers['Content-Type'] = 'application/json';
    if (body !== undefined) init.body = JSON.stringify(body);
  }
  let resp;
  const sentAt = Date.now();
  try {
    resp = await fetch(base + path, init);
  } catch {
    throw new ApiError(0, null, path);
  }
  if (!background) lastRequest = Math.max(lastRequest, sentAt);
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!resp.ok) {
    const err = new ApiError(resp.status, data, path);
    if (resp.status === 401 && path !== '/login') for (const f of unauthenticatedListeners) f(err);
    throw err;
  }
  return data;
}

// api is request on the admin API.
export const api = {
  get: (path, opts) => request('GET', path, undefined, opts),
  post: (path, body) => request('POST', path, body),
  put: (path, body) => request('PUT', path, body),
  del: (path) => request('DELETE', path),
};

// versioned sends a change of a versioned record on the admin API (PUT,
// PATCH, POST or DELETE) with If-Match: "version", the version its ETag or
// its JSON's version said: the API refuses a change of a record that
// changed meanwhile (CONFLICT) instead of overwriting it.
export function versioned(method, path, version, body) {
  return request(method, path, body, { headers: { 'If-Match': '"' + version + '"' } });
}

// describe is an error's text for the user: what happened and what to do
// next, in the current language, with the request id to quote to support.
export function describe(err) {
  if (!(err instanceof ApiError)) return t('err.INTERNAL');
  const key = 'err.' + err.code;
  let s = t(key, { field: err.field || '' });
  if (s === key) s = t('err.other', { status: err.status });
  if (err.requestId) s += ' ' + t('err.requestId', { id: err.requestId });
  return s;
}

// raw sends method path (under base) with extra headers (e.g. If-Match) and
// an optional JSON body, and returns the fetch Response itself when it is
// ok, for answers that are not plain JSON (a file streamed by an export) or
// requests that need headers request() does not send. Like request(), it
// counts as the user's activity and throws ApiError (the session ended:
// the shell is told) when refused.
export async function raw(method, path, { body, headers = {}, base = ADMIN_API } = {}) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json', ...headers }, cache: 'no-store' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  const sentAt = Date.now();
  try {
    resp = await fetch(base + path, init);
  } catch {
    throw new ApiError(0, null, path);
  }
  lastRequest = Math.max(lastRequest, sentAt);
  if (resp.ok) return resp;
  let data = null;
  try { data = JSON.parse(await resp.text()); } catch { data = null; }
  const err = new ApiError(resp.status, data, path);
  if (resp.status === 401) for (const f of unauthenticatedListeners) f(err);
  throw err;
}
