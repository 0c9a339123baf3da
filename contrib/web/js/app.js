// app: the web inbox. Sign in, the shell (views, shortcuts, the live
// stream), and the state the views read. Everything it knows comes from
// the /v1 API and GET /v1/events, as inboxctl's does.

import { api, token, EventStream, ApiError } from './api.js';
import { $, h } from './dom.js';
import * as inbox from './inbox.js';
import * as team from './team.js';

// The one state object the views read and the handlers change.
export const S = {
  me: null,             // the agent's name (its token's name)
  lead: false,          // may read /v1/stats: the team view
  away: false,
  view: 'inbox',
  queues: [],           // GET /v1/queues
  items: new Map(),     // id -> what the event stream told of it
  summaries: new Map(), // id -> a few fields of its view, for the lists
  mine: [],             // GET /v1/claims
  open: null,           // the open item's full view
  openId: null,
  onlyWaiting: false,
  agentNames: [],       // leads: every agent, from /v1/stats
  drafts: new Map(),    // id -> reply text not sent yet
  outbound: new Map(),  // id -> how its last platform action went
  startedAt: 0,         // events older than this are the backlog
  stream: null,
};

// ------------------------------------------------------------- announce

let liveTimer = null;

// Say msg to screen readers (the live region) and, with toast, on screen.
export function announce(msg, { toast = false } = {}) {
  const live = $('#live');
  live.textContent = '';
  clearTimeout(liveTimer);
  liveTimer = setTimeout(() => { live.textContent = msg; }, 50);
  if (!toast) return;
  const box = $('#toasts');
  const t = h('div', { class: 'toast' }, msg);
  box.append(t);
  // A few at a time: they must not bury the page.
  while (box.children.length > 2) box.firstElementChild.remove();
  setTimeout(() => t.remove(), 4000);
}

export function signedOut(message) {
  if (S.stream) S.stream.stop();
  S.stream = null;
  token.clear();
  Object.assign(S, { me: null, lead: false, away: false, queues: [],
    mine: [], open: null, openId: null });
  S.items.clear();
  S.summaries.clear();
  S.drafts.clear();
  S.outbound.clear();
  team.stop();
  $('#top').hidden = true;
  $('#inbox').hidden = true;
  $('#team').hidden = true;
  $('#signin').hidden = false;
  $('#signin-error').textContent = message || '';
  $('#token').value = '';
  $('#token').focus();
}

// Every failed request ends here: a refused token signs out; the rest
// is said where the user looks.
export function failed(e, where) {
  if (e instanceof ApiError && e.status === 401) {
    signedOut('inboxd refused the token; sign in again.');
    return;
  }
  const msg = e instanceof ApiError ? e.message : String(e);
  if (where) {
    where.textContent = msg;
  }
  announce(msg, { toast: !where });
}

// ---------------------------------------------------------------- views

export function show(view) {
  if (view === 'team' && !S.lead) return;
  S.view = view;
  $('#inbox').hidden = view !== 'inbox';
  $('#team').hidden = view !== 'team';
  $('#tab-inbox').setAttribute('aria-current', view === 'inbox' ? 'page' : 'false');
  $('#tab-team').setAttribute('aria-current', view === 'team' ? 'page' : 'false');
  if (view === 'team') {
    team.start();
    $('#team-h').setAttribute('tabindex', '-1');
    $('#team-h').focus();
  } else {
    team.stop();
  }
}

function renderWho() {
  $('#who').textContent = `${S.me}${S.lead ? ' (lead)' : ''}`;
  const b = $('#away');
  b.setAttribute('aria-pressed', S.away ? 'true' : 'false');
  b.textContent = S.away ? 'Away: on' : 'Away';
}

async function toggleAway() {
  try {
    const r = await api(S.away ? 'DELETE' : 'POST', '/v1/agents/me/away');
    S.away = r.away;
    renderWho();
    announce(r.away ? `You are away; ${r.released} items went back to their queues.` :
      'You are back.', { toast: true });
    inbox.refresh();
  } catch (e) {
    failed(e);
  }
}

// ---------------------------------------------------------------- events

function onEvent(ev) {
  const backlog = Date.parse(ev.data.at) < S.startedAt;
  inbox.applyEvent(ev.type, ev.data, backlog);
  if (S.view === 'team') team.poke();
}

function onState(state) {
  const c = $('#conn');
  if (state === 'unauthorized') {
    signedOut('inboxd refused the token; sign in again.');
    return;
  }
  c.textContent = state === 'live' ? 'Live' : 'Reconnecting…';
  c.classList.toggle('off', state !== 'live');
  if (state === 'live') inbox.refresh();
}

// ---------------------------------------------------------------- sign in

async function start() {
  // Who the token is, and the canned replies agents may send.
  const me = await api('GET', '/v1/me');
  S.me = me.name;
  S.away = false;
  try {
    S.canned = ((await api('GET', '/v1/canned')).canned || []);
  } catch (e) {
    S.canned = [];
  }
  try {
    const st = await api('GET', '/v1/stats');
    S.lead = true;
    S.agentNames = (st.agents || []).map((a) => a.name);
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 403) throw e;
    S.lead = false;
  }
  $('#signin').hidden = true;
  $('#top').hidden = false;
  $('#tab-team').hidden = !S.lead;
  renderWho();
  show('inbox');
  await inbox.refresh();
  // The last day's events (1000 at most) fill the lists, then live ones.
  S.startedAt = Date.now() - 5000;
  S.stream = new EventStream(onEvent, onState);
  S.stream.start(`ingest:${Date.now() - 24 * 3600 * 1000}-0`);
  $('#main').focus();
}

async function signIn(ev) {
  ev.preventDefault();
  const t = $('#token').value.trim();
  const err = $('#signin-error');
  err.textContent = '';
  if (t === '') {
    err.textContent = 'Enter your token.';
    $('#token').focus();
    return;
  }
  token.set(t);
  try {
    await start();
  } catch (e) {
    token.clear();
    err.textContent = e instanceof ApiError && e.status === 401 ?
      'inboxd does not know this token.' :
      e instanceof ApiError && e.status === 403 ?
        'This token cannot work the desk (it is an ingest token).' :
        `Cannot sign in: ${e.message}`;
    $('#token').focus();
  }
}

// ------------------------------------------------------------ shortcuts

function typing(t) {
  return t && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName));
}

const keys = {
  '?': () => {
    // Where to come back to: by id, since a live update may redraw the
    // element behind the dialog while it is open.
    S.helpReturn = document.activeElement?.id || null;
    $('#help').showModal();
    $('#help-close').focus();
  },
  j: () => inbox.move(1),
  k: () => inbox.move(-1),
  n: () => inbox.takeNext(),
  c: () => inbox.claimOpen(),
  r: () => inbox.focusReply(),
  h: () => inbox.toggleHide(),
  e: () => inbox.resolveOpen(),
  i: () => show('inbox'),
  t: () => show('team'),
};

function onKey(ev) {
  if (S.me === null || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if ($('#help').open) return;
  if (ev.key === 'Escape' && !typing(ev.target)) {
    inbox.back();
    return;
  }
  if (typing(ev.target)) return;
  const fn = keys[ev.key];
  if (fn) {
    ev.preventDefault();
    fn();
  }
}

// ---------------------------------------------------------------- boot

function boot() {
  $('#signin-form').addEventListener('submit', signIn);
  $('#signout').addEventListener('click', () => signedOut('Signed out.'));
  $('#away').addEventListener('click', toggleAway);
  $('#tab-inbox').addEventListener('click', () => show('inbox'));
  $('#tab-team').addEventListener('click', () => show('team'));
  $('#help-open').addEventListener('click', keys['?']);
  $('#help-close').addEventListener('click', () => $('#help').close());
  $('#help').addEventListener('close', () => {
    const back = S.helpReturn && document.getElementById(S.helpReturn);
    if (back && document.activeElement !== back) back.focus();
  });
  document.addEventListener('keydown', onKey);
  inbox.init();
  team.init();
  if (token.get()) {
    start().catch((e) => signedOut(e instanceof ApiError && e.status !== 401 ?
      `Cannot sign in: ${e.message}` : ''));
  } else {
    $('#token').focus();
  }
}

boot();
