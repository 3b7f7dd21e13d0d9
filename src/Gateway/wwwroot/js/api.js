// The gateway's public API, same origin. Errors are RFC 9457 problem details: thrown as ApiError.
const TOKEN_KEY = 'ticketsaga.token';

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem ?? {};
  }
}

export const session = {
  get() {
    const saved = JSON.parse(localStorage.getItem(TOKEN_KEY) || 'null');
    return saved && new Date(saved.expiresAt) > new Date() ? saved : null;
  },
  set(token, userId, expiresAt, name) {
    localStorage.setItem(TOKEN_KEY, JSON.stringify({ token, userId, expiresAt, name: name || userId }));
  },
  clear() {
    localStorage.removeItem(TOKEN_KEY);
  },
};

export async function api(path, { method = 'GET', body, idempotencyKey, queueToken, signal } = {}) {
  const headers = { Accept: 'application/json' };
  const current = session.get();
  if (current) headers.Authorization = `Bearer ${current.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
  if (queueToken) headers['Queue-Token'] = queueToken;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const error = new ApiError(response.status, json);
    error.retryAfter = Number(response.headers.get('Retry-After')) || 0;
    throw error;
  }
  return { status: response.status, body: json };
}

export function formatMoney(amountMinor, currency) {
  const format = new Intl.NumberFormat(undefined, { style: 'currency', currency });
  return format.format(amountMinor / 10 ** format.resolvedOptions().maximumFractionDigits);
}

export function formatTime(iso, options = { dateStyle: 'medium', timeStyle: 'short' }) {
  return iso ? new Intl.DateTimeFormat(undefined, options).format(new Date(iso)) : '';
}

// HTML templates: every interpolated value is escaped unless it is itself a template (or { raw }).
export function h(strings, ...values) {
  const html = strings.reduce((out, part, i) => out + part + (i < values.length ? escape(values[i]) : ''), '');
  return { raw: html, toString: () => html };
}

function escape(value) {
  if (value === null || value === undefined || value === false) return '';
  if (Array.isArray(value)) return value.map(escape).join('');
  if (typeof value === 'object' && 'raw' in value) return value.raw;
  return String(value).replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

export function announce(message) {
  const announcer = document.getElementById('announcer');
  announcer.textContent = '';
  setTimeout(() => { announcer.textContent = message; }, 50);
}

export const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

// The gateway's waiting room: 503 with a queue place and a token to come back with (docs/waiting-room.md).
export const isWaitingRoom = failure =>
  failure instanceof ApiError && failure.status === 503 && failure.problem.type?.endsWith('/waiting-room') && !!failure.problem.queueToken;

// Runs refresh every `ms` until the view is left; a failed refresh (network, 429) waits for the next turn.
export function every(ms, signal, refresh) {
  (async () => {
    while (!signal.aborted) {
      await sleep(ms);
      if (signal.aborted) return;
      try {
        await refresh();
      } catch (error) {
        if (signal.aborted) return;
        await sleep(Math.max(0, (error.retryAfter || 0) * 1000 - ms));
      }
    }
  })();
}
