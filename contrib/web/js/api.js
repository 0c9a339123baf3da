// api: the /v1 API, and nothing else. The token lives in this tab's
// sessionStorage and goes only into the Authorization header: never a
// URL, never a cookie, never another origin.

import { SseParser } from './sse.js';

const KEY = 'inboxd.token';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.status = status;
    this.code = code;
  }
}

export const token = {
  get: () => sessionStorage.getItem(KEY),
  set: (t) => sessionStorage.setItem(KEY, t),
  clear: () => sessionStorage.removeItem(KEY),
};

// Item ids in paths: everything but A-Z a-z 0-9 - . _ ~ : percent-encoded.
export function itemPath(id, action) {
  const enc = encodeURIComponent(id).replace(/%3A/gi, ':')
    .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  return `/v1/items/${enc}${action ? '/' + action : ''}`;
}

function headers(extra) {
  const h = { Authorization: `Bearer ${token.get() || ''}`, ...extra };
  return h;
}

// One request. Resolves to the JSON body (null for 204); rejects with
// ApiError carrying the API's stable code.
export async function api(method, path, body) {
  const init = {
    method,
    headers: headers(body === undefined ? {} :
      { 'Content-Type': 'application/json' }),
    cache: 'no-store',
    credentials: 'omit',
    referrerPolicy: 'no-referrer',
  };
  if (body !== undefined) init.body = JSON.stringify(body);
  let r;
  try {
    r = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'network', 'inboxd cannot be reached');
  }
  if (r.status === 204) return null;
  let j = null;
  try { j = await r.json(); } catch (e) { j = null; }
  if (!r.ok) {
    const err = j && j.error ? j.error : {};
    throw new ApiError(r.status, err.code || `http_${r.status}`,
      err.message || r.statusText);
  }
  return j;
}

// GET that answers the status instead of throwing (optional endpoints).
export async function probe(path) {
  try {
    return { status: 200, body: await api('GET', path) };
  } catch (e) {
    return { status: e.status || 0, body: null, error: e };
  }
}

const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

// GET /v1/events read with fetch(): reconnects after the server's retry
// with Last-Event-ID, so nothing is missed. onEvent({type, data, id});
// onState('live' | 'reconnecting' | 'unauthorized').
export class EventStream {
  constructor(onEvent, onState) {
    this.onEvent = onEvent;
    this.onState = onState;
    this.ctl = null;
    this.stopped = true;
    this.lastId = null;
    this.retry = 2000;
  }

  start(lastId) {
    this.lastId = lastId || null;
    this.stopped = false;
    this.loop();
  }

  stop() {
    this.stopped = true;
    if (this.ctl) this.ctl.abort();
  }

  async loop() {
    while (!this.stopped) {
      this.ctl = new AbortController();
      try {
        const extra = this.lastId ? { 'Last-Event-ID': this.lastId } : {};
        const r = await fetch('/v1/events', {
          headers: headers(extra), cache: 'no-store', credentials: 'omit',
          signal: this.ctl.signal,
        });
        if (r.status === 401 || r.status === 403) {
          this.onState('unauthorized');
          return;
        }
        if (r.ok && r.body) {
          this.onState('live');
          const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
          const p = new SseParser();
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            for (const ev of p.push(value)) {
              if (ev.id) this.lastId = ev.id;
              let data = null;
              try { data = JSON.parse(ev.data); } catch (e) { continue; }
              this.onEvent({ type: ev.type, data, id: ev.id });
            }
            if (p.retry) this.retry = p.retry;
          }
        }
      } catch (e) {
        /* aborted or the connection dropped: retry below */
      }
      if (this.stopped) return;
      this.onState('reconnecting');
      await sleep(this.retry);
    }
  }
}
