// inbox: the agent's view. Queues with their counts, the items I hold,
// the recent items (from the event stream), and the open item with its
// conversation, rules and actions. An item is answered only by the agent
// who holds it: the page offers a reply only then, and inboxd refuses
// anyone else (409 not_holder) in any case.

import { api, itemPath, ApiError } from './api.js';
import { $, h, clear, duration, ago, timeText } from './dom.js';
import { segments } from './highlight.js';
import { S, announce, failed, show } from './app.js';

const RECENT_MAX = 60;        // rows in the recent list
const FETCH_AT_ONCE = 4;      // item views fetched in parallel for lists

// ---------------------------------------------------------------- data

function entry(id) {
  let it = S.items.get(id);
  if (!it) {
    it = { id, queue: null, state: 'queued', holder: null, at: null };
    S.items.set(id, it);
  }
  return it;
}

// What an event says of an item's place (docs/api.md, "Events").
export function applyEvent(type, d, backlog) {
  if (!d || !d.id) return;
  const it = entry(d.id);
  const before = it.holder;
  if (d.queue && (type !== 'reassign' || !d.to)) it.queue = d.queue;
  it.at = d.at;
  switch (type) {
    case 'item': it.state = 'queued'; it.holder = null; break;
    case 'claimed': it.state = 'claimed'; it.holder = d.by; break;
    case 'assigned': it.state = 'claimed'; it.holder = d.to; break;
    case 'reassign':
      if (d.to) {
        it.holder = d.to;
        if (it.state !== 'answered') it.state = 'claimed';
      } else {
        it.holder = null;
        it.state = 'queued';
      }
      break;
    case 'reply': it.state = 'answered'; it.holder = d.by; break;
    case 'release': case 'expired': case 'reopen':
      it.state = 'queued'; it.holder = null; break;
    case 'resolve': it.state = 'resolved'; it.holder = null; break;
    case 'hide': it.hidden = true; break;
    case 'unhide': it.hidden = false; break;
    default: break;
  }
  if (backlog) {
    scheduleLists();
    return;
  }
  if (type === 'item') {
    announce(`New item in ${d.queue}.`, { toast: true });
  } else if (it.holder && it.holder !== before && it.holder !== S.me &&
    (d.id === S.openId || (before === S.me))) {
    announce(`${it.holder} now holds ${d.id}.`, { toast: true });
  } else if (it.holder === S.me && before !== S.me && d.by !== S.me) {
    announce(`${d.id} was handed to you.`, { toast: true });
  }
  S.summaries.delete(d.id);
  if (d.id === S.openId) scheduleOpen();
  if (it.holder === S.me || before === S.me) scheduleMine();
  scheduleQueues();
  scheduleLists();
}

// Debounced reloads: a burst of events costs one request each.
const timers = {};
function later(name, ms, fn) {
  if (timers[name]) return;
  timers[name] = setTimeout(() => { timers[name] = null; fn(); }, ms);
}
const scheduleQueues = () => later('queues', 300, loadQueues);
const scheduleMine = () => later('mine', 200, loadMine);
const scheduleLists = () => later('lists', 100, renderLists);
const scheduleOpen = () => later('open', 150, () => reloadOpen(false));

async function loadQueues() {
  try {
    const r = await api('GET', '/v1/queues');
    S.queues = r.queues || [];
    renderQueues();
  } catch (e) {
    failed(e);
  }
}

async function loadMine() {
  try {
    const r = await api('GET', '/v1/claims');
    S.mine = r.items || [];
    for (const v of S.mine) remember(v);
    renderLists();
  } catch (e) {
    failed(e);
  }
}

export async function refresh() {
  await Promise.all([loadQueues(), loadMine()]);
  if (S.openId) await reloadOpen(false);
}

// Keep what the lists show of a view, and its place.
function remember(v) {
  const it = v.item || {};
  S.summaries.set(v.id, {
    author: (it.author && (it.author.name || it.author.username || it.author.id)) || '?',
    text: it.text || '',
    platform: it.platform || v.id.split(':')[0],
    kind: it.kind || '',
  });
  const e = entry(v.id);
  e.queue = v.queue || e.queue;
  e.state = v.state || e.state;
  e.holder = v.holder || null;
  e.hidden = v.hidden;
}

// Fetch the views the lists show but do not know yet, a few at a time.
const pending = new Set();
async function fetchSummaries(ids) {
  const todo = ids.filter((id) => !S.summaries.has(id) && !pending.has(id));
  for (let i = 0; i < todo.length; i += FETCH_AT_ONCE) {
    const batch = todo.slice(i, i + FETCH_AT_ONCE);
    batch.forEach((id) => pending.add(id));
    await Promise.all(batch.map(async (id) => {
      try {
        remember(await api('GET', itemPath(id)));
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) {
          S.items.delete(id);
        } else if (e instanceof ApiError && e.status === 401) {
          failed(e);
        }
      } finally {
        pending.delete(id);
      }
    }));
    renderLists();
  }
}

// ---------------------------------------------------------------- lists

function renderQueues() {
  const ul = clear($('#queues'));
  for (const q of S.queues) {
    const waiting = q.oldest_waiting_ms !== undefined ?
      `oldest ${duration(q.oldest_waiting_ms)}` : 'none waiting';
    ul.append(h('li', { class: 'queue' },
      h('span', { class: 'q-name' }, q.name),
      h('span', { class: 'q-figures' },
        h('span', { class: 'q-depth', title: 'waiting' }, `${q.depth} waiting`),
        h('span', { class: 'q-claimed' }, `${q.claimed} held`),
        h('span', { class: 'q-oldest' }, waiting)),
      h('button', {
        type: 'button', class: 'small', 'aria-label': `Take next from ${q.name}`,
        disabled: q.depth === 0 || S.away, onclick: () => takeNext(q.name),
      }, 'Take')));
  }
  $('#next').disabled = S.away;
}

const STATE_TEXT = {
  queued: 'waiting', claimed: 'held', answered: 'answered',
  resolved: 'resolved', deleted: 'deleted',
};

function row(id, it) {
  const s = S.summaries.get(id);
  const holder = it.holder && it.holder !== S.me ? ` by ${it.holder}` : '';
  const label = `${s ? s.author : id}: ${s ? s.text.slice(0, 80) : ''}; ` +
    `${it.queue || ''}, ${STATE_TEXT[it.state] || it.state}${holder}`;
  return h('li', {},
    h('button', {
      type: 'button', class: `item-row state-${it.state}`,
      'aria-current': id === S.openId ? 'true' : 'false',
      'aria-label': label, dataset: { id },
      onclick: () => open(id, true),
    },
    h('span', { class: 'row-top' },
      h('span', { class: 'row-author' }, s ? s.author : id),
      h('span', { class: `badge state-${it.state}` },
        (STATE_TEXT[it.state] || it.state) + holder)),
    h('span', { class: 'row-text' }, s ? s.text.slice(0, 140) : 'loading…'),
    h('span', { class: 'row-meta' },
      [s ? s.platform : '', it.queue, it.at ? ago(it.at) : ''].filter(Boolean).join(' · '))));
}

export function renderLists() {
  const focused = document.activeElement && document.activeElement.dataset ?
    document.activeElement.dataset.id : null;
  const mine = S.mine.map((v) => v.id);
  const ulm = clear($('#mine'));
  for (const id of mine) ulm.append(row(id, entry(id)));
  if (mine.length === 0) ulm.append(h('li', { class: 'none' }, 'You hold nothing.'));
  $('#mine-count').textContent = mine.length ? `(${mine.length})` : '';

  const recent = [...S.items.values()]
    .filter((it) => !mine.includes(it.id))
    .filter((it) => !S.onlyWaiting || it.state === 'queued')
    .sort((a, b) => (b.at || '').localeCompare(a.at || ''))
    .slice(0, RECENT_MAX);
  const ulr = clear($('#recent'));
  for (const it of recent) ulr.append(row(it.id, it));
  if (recent.length === 0) {
    ulr.append(h('li', { class: 'none' }, 'Nothing yet: new items appear here as they arrive.'));
  }
  fetchSummaries([...mine, ...recent.map((it) => it.id)]);
  if (focused) {
    const b = document.querySelector(`button.item-row[data-id="${CSS.escape(focused)}"]`);
    if (b) b.focus();
  }
}

// j / k: the next or previous row of the lists, opened.
export function move(step) {
  const rows = [...document.querySelectorAll('#mine button.item-row, #recent button.item-row')];
  if (rows.length === 0) return;
  let i = rows.findIndex((b) => b.dataset.id === S.openId);
  i = i === -1 ? (step > 0 ? 0 : rows.length - 1) :
    Math.min(rows.length - 1, Math.max(0, i + step));
  rows[i].focus();
  open(rows[i].dataset.id, false);
}

// ---------------------------------------------------------------- open

export async function open(id, focusDetail) {
  S.openId = id;
  $('#inbox').classList.add('showing-detail');
  renderLists();
  await reloadOpen(focusDetail);
}

async function reloadOpen(focusDetail) {
  const id = S.openId;
  if (!id) return;
  try {
    const v = await api('GET', itemPath(id));
    if (S.openId !== id) return;
    S.open = v;
    remember(v);
    renderDetail(focusDetail);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      S.open = null;
      clear($('#detail')).append(h('p', { class: 'empty' }, 'This item is gone (deleted or expired).'));
      return;
    }
    failed(e);
  }
}

export function back() {
  $('#inbox').classList.remove('showing-detail');
  const b = document.querySelector(`button.item-row[data-id="${CSS.escape(S.openId || '')}"]`);
  if (b) b.focus();
}

// Who may do what with the open item.
function rights(v) {
  const mine = v.holder === S.me;
  const free = !v.holder;
  const closed = v.state === 'resolved' || v.state === 'deleted';
  return {
    mine, free, closed,
    answer: mine && !closed,
    act: (mine || free) && v.state !== 'deleted',
    claim: free && !closed && !S.away,
  };
}

// ---------------------------------------------------------------- actions

async function act(action, body, okText) {
  const v = S.open;
  if (!v) return null;
  const out = $('#act-error');
  if (out) out.textContent = '';
  try {
    const r = await api('POST', itemPath(v.id, action), body);
    resetForms = true;
    if (okText) announce(okText, { toast: true });
    if (r && r.action_id) watchAction(r.action_id, action);
    await Promise.all([reloadOpen(false), loadMine(), loadQueues()]);
    return r;
  } catch (e) {
    if (e instanceof ApiError && e.code === 'not_holder') {
      failed(new ApiError(409, e.code, `${e.message}: you cannot change it.`), out);
    } else {
      failed(e, out);
    }
    reloadOpen(false);
    return null;
  }
}

// An outbound action: say when the platform has it, or why not.
async function watchAction(id, what) {
  for (let i = 0; i < 20; i++) {
    await new Promise((res) => setTimeout(res, 500));
    let a;
    try { a = await api('GET', `/v1/actions/${encodeURIComponent(id)}`); } catch (e) { return; }
    const st = $('#outbound');
    if (['done', 'failed', 'uncertain', 'dry_run'].includes(a.state)) {
      const text = a.state === 'done' ? `The ${what} reached ${a.platform}.` :
        a.state === 'dry_run' ? `The ${what} was recorded only (dry run).` :
          `The ${what} did not reach ${a.platform}: ${a.detail || a.state}.`;
      S.outbound.set(a.item, text);
      if (st && S.openId === a.item) st.textContent = text;
      announce(text, { toast: true });
      if (S.openId === a.item) reloadOpen(false);
      return;
    }
    S.outbound.set(a.item, `Sending the ${what}…`);
    if (st && S.openId === a.item) st.textContent = `Sending the ${what}…`;
  }
}

export async function takeNext(queue) {
  if (S.away) {
    announce('You are away: come back to take items.', { toast: true });
    return;
  }
  try {
    const v = await api('POST', '/v1/claims', queue ? { queues: [queue] } : {});
    if (v === null) {
      announce(queue ? `Nothing waiting in ${queue}.` : 'Nothing waiting in your queues.',
        { toast: true });
      return;
    }
    remember(v);
    announce(`You took ${v.id} from ${v.queue}.`);
    await Promise.all([loadMine(), loadQueues()]);
    await open(v.id, true);
  } catch (e) {
    failed(e);
  }
}

export function claimOpen() {
  const v = S.open;
  if (!v || !rights(v).claim) return;
  act('reassign', { agent: S.me }, `You hold ${v.id}.`).then(() => focusReply());
}

export function focusReply() {
  const t = $('#reply-text');
  if (t && !t.disabled) t.focus();
}

export function toggleHide() {
  const v = S.open;
  if (!v || !rights(v).act) return;
  const on = !(v.hide_requested || v.hidden);
  act(on ? 'hide' : 'unhide', undefined, on ? 'Hiding it on the platform.' :
    'Showing it again on the platform.');
}

export function resolveOpen() {
  const v = S.open;
  if (!v || !rights(v).act || v.state === 'resolved') return;
  act('resolve', undefined, `${v.id} resolved.`);
}

async function sendReply(ev) {
  ev.preventDefault();
  const text = $('#reply-text').value.trim();
  const canned = $('#reply-canned').value.trim();
  if (!text && !canned) {
    $('#act-error').textContent = 'Write a reply or name a canned one.';
    $('#reply-text').focus();
    return;
  }
  const id = S.open.id;
  const r = await act('reply', canned && !text ? { canned } : { text }, 'Reply sent to inboxd.');
  if (r) S.drafts.delete(id);
}

// ---------------------------------------------------------------- detail

function marked(text, hits) {
  return segments(text, hits).map((s) => {
    if (s.hits.length === 0) return s.text;
    const names = s.hits.map((x) => `${x.rule} (${x.category} +${x.score})`).join(', ');
    return h('mark', { class: `cat-${s.hits[0].category}`, title: names,
      'aria-label': `${s.text}, matched by ${names}` }, s.text);
  });
}

function chips(list, cls, remove) {
  return h('ul', { class: 'chips' }, list.map((x) => h('li', { class: `chip ${cls}` },
    x, remove ? h('button', { type: 'button', class: 'chip-x', 'aria-label': `Remove label ${x}`,
      onclick: () => remove(x) }, '×') : null)));
}

function metaLine(v, it) {
  const author = it.author || {};
  return h('dl', { class: 'meta' },
    h('dt', {}, 'Author'), h('dd', {}, [author.name || author.username || author.id || '?',
      author.username ? ` (@${author.username})` : '']),
    h('dt', {}, 'Where'), h('dd', {}, `${it.platform} ${it.kind}` +
      (it.account && it.account.name ? ` on ${it.account.name}` : '')),
    h('dt', {}, 'Queue'), h('dd', {}, v.queue),
    h('dt', {}, 'State'), h('dd', {}, STATE_TEXT[v.state] || v.state,
      v.holder ? ` by ${v.holder === S.me ? 'you' : v.holder}` : '',
      v.lease_until ? ` until ${timeText(v.lease_until)}` : ''),
    h('dt', {}, 'Written'), h('dd', {}, timeText(it.created_at)),
    h('dt', {}, 'Received'), h('dd', {}, `${timeText(v.received_at)} (${ago(v.received_at)})`),
    v.first_response_ms !== undefined ? [h('dt', {}, 'First response'),
      h('dd', {}, `${duration(v.first_response_ms)} by ${v.first_response_by}`)] : null,
    v.escalation ? [h('dt', {}, 'Escalated'),
      h('dd', { class: 'warn' }, `${v.escalation.reason} (${v.escalation.by})`)] : null,
    (v.hidden || v.hide_requested) ? [h('dt', {}, 'Visibility'),
      h('dd', {}, v.hidden ? 'hidden on the platform' : 'hide requested')] : null);
}

function rulesTable(hits) {
  if (!hits || hits.length === 0) return h('p', { class: 'hint' }, 'No rule fired.');
  return h('table', { class: 'rules' },
    h('caption', { class: 'sr-only' }, 'Rules that fired'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Rule'),
      h('th', { scope: 'col' }, 'Category'), h('th', { scope: 'col' }, 'Score'),
      h('th', { scope: 'col' }, 'Matched'))),
    h('tbody', {}, hits.map((x) => h('tr', {},
      h('td', {}, h('code', {}, x.rule)), h('td', {}, x.category),
      h('td', { class: 'num' }, String(x.score)),
      h('td', {}, h('mark', { class: `cat-${x.category}` }, x.match || ''))))));
}

function conversation(list) {
  if (!list || list.length === 0) return null;
  return h('section', { class: 'block', 'aria-labelledby': 'conv-h' },
    h('h3', { id: 'conv-h' }, `Conversation (${list.length} more)`),
    h('ol', { class: 'conv' }, list.map((c) => {
      const it = c.item || {};
      return h('li', { class: c.id === S.openId ? 'this' : '' },
        h('button', { type: 'button', class: 'link', onclick: () => open(c.id, true) },
          (it.author && (it.author.name || it.author.id)) || c.id),
        h('span', { class: 'hint' }, ` · ${STATE_TEXT[c.state] || c.state} · ${ago(c.received_at)}`),
        h('p', {}, it.text || ''));
    })));
}

const HISTORY_TEXT = {
  claimed: 'claimed it', reply: 'replied', note: 'noted', label: 'labelled it',
  unlabel: 'removed a label', reassign: 'reassigned it', escalate: 'escalated it',
  hide: 'asked to hide it', unhide: 'asked to show it', resolve: 'resolved it',
  reopen: 'reopened it', release: 'released it', expired: 'let the lease run out',
  assigned: 'assigned it', delete: 'asked to delete it', undo: 'undid an action',
};

function history(list) {
  return h('section', { class: 'block', 'aria-labelledby': 'hist-h' },
    h('h3', { id: 'hist-h' }, 'History'),
    (!list || list.length === 0) ? h('p', { class: 'hint' }, 'Nothing yet.') :
      h('ol', { class: 'history' }, list.map((e) => h('li', {},
        h('time', { datetime: e.at }, timeText(e.at)), ' ',
        h('strong', {}, e.by), ' ', HISTORY_TEXT[e.action] || e.action,
        e.to ? ` to ${e.to}` : '', e.queue && e.action === 'reassign' ? ` to ${e.queue}` : '',
        e.label ? ` “${e.label}”` : '', e.reason ? `: ${e.reason}` : '',
        e.canned ? ` (canned ${e.canned})` : '',
        e.text ? h('blockquote', {}, e.text) : null))));
}

function actions(v) {
  const r = rights(v);
  const canned = S.canned || [];
  const queues = S.queues.map((q) => q.name).filter((q) => q !== v.queue);
  const draft = S.drafts.get(v.id) || '';

  const replyForm = h('form', { class: 'reply', 'aria-labelledby': 'reply-h', onsubmit: sendReply },
    h('h3', { id: 'reply-h' }, 'Reply on the platform'),
    h('label', { for: 'reply-text' }, 'Your reply'),
    h('textarea', {
      id: 'reply-text', rows: 4, disabled: !r.answer, 'aria-keyshortcuts': 'r',
      oninput: (e) => S.drafts.set(v.id, e.target.value),
      onkeydown: (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) sendReply(e); },
    }, draft),
    h('div', { class: 'row' },
      h('label', { for: 'reply-canned' }, 'or a canned reply'),
      h('input', { id: 'reply-canned', list: 'canned-list', disabled: !r.answer,
        autocomplete: 'off', spellcheck: 'false', placeholder: 'e.g. thanks' }),
      h('datalist', { id: 'canned-list' }, canned.map((c) =>
        h('option', { value: c.name }, c.text.slice(0, 60)))),
      h('button', { type: 'submit', class: 'primary', disabled: !r.answer }, 'Send reply')));

  const noteForm = h('form', { class: 'inline', onsubmit: (e) => {
    e.preventDefault();
    const t = $('#note-text').value.trim();
    if (t) act('note', { text: t }, 'Note added.');
  } },
  h('label', { for: 'note-text' }, 'Internal note'),
  h('input', { id: 'note-text', autocomplete: 'off' }),
  h('button', { type: 'submit' }, 'Add note'));

  const labelForm = h('form', { class: 'inline', onsubmit: (e) => {
    e.preventDefault();
    const t = $('#label-text').value.trim();
    if (t) act('label', { label: t }, `Labelled ${t}.`);
  } },
  h('label', { for: 'label-text' }, 'Label'),
  h('input', { id: 'label-text', autocomplete: 'off', pattern: '[A-Za-z0-9_.:\\-]{1,64}',
    disabled: !r.act }),
  h('button', { type: 'submit', disabled: !r.act }, 'Add label'));

  const escalateForm = h('form', { class: 'inline', onsubmit: (e) => {
    e.preventDefault();
    const t = $('#escalate-text').value.trim();
    if (t) act('escalate', { reason: t }, 'Escalated.');
  } },
  h('label', { for: 'escalate-text' }, 'Escalate because'),
  h('input', { id: 'escalate-text', autocomplete: 'off', disabled: !r.act }),
  h('button', { type: 'submit', disabled: !r.act }, 'Escalate'));

  const reassignForm = h('form', { class: 'inline', onsubmit: (e) => {
    e.preventDefault();
    const to = $('#reassign-to').value;
    if (!to) return;
    const [kind, name] = to.split(':');
    act('reassign', { [kind]: name }, `Reassigned to ${name}.`);
  } },
  h('label', { for: 'reassign-to' }, 'Reassign to'),
  h('select', { id: 'reassign-to', disabled: !(r.act || S.lead) || r.closed },
    h('option', { value: '' }, 'choose…'),
    h('optgroup', { label: 'Queues' }, queues.map((q) => h('option', { value: `queue:${q}` }, q))),
    h('optgroup', { label: 'Agents' }, team_agents().filter((a) => a !== v.holder)
      .map((a) => h('option', { value: `agent:${a}` }, a)))),
  h('button', { type: 'submit', disabled: !(r.act || S.lead) || r.closed }, 'Reassign'));

  const hidden = v.hide_requested || v.hidden;
  const buttons = h('div', { class: 'buttons', role: 'group', 'aria-label': 'Actions' },
    r.claim ? h('button', { type: 'button', class: 'primary', id: 'claim',
      'aria-keyshortcuts': 'c', onclick: claimOpen }, 'Claim ', h('kbd', {}, 'c')) : null,
    h('button', { type: 'button', id: 'hide', disabled: !r.act, 'aria-keyshortcuts': 'h',
      onclick: toggleHide }, hidden ? 'Unhide ' : 'Hide ', h('kbd', {}, 'h')),
    v.state === 'resolved' ?
      h('button', { type: 'button', id: 'reopen', disabled: !r.act,
        onclick: () => act('reopen', undefined, 'Reopened.') }, 'Reopen') :
      h('button', { type: 'button', id: 'resolve', disabled: !r.act, 'aria-keyshortcuts': 'e',
        onclick: resolveOpen }, 'Resolve ', h('kbd', {}, 'e')),
    v.holder && (r.mine || S.lead) ?
      h('button', { type: 'button', id: 'release',
        onclick: () => act('release', undefined, 'Released to the queue.') }, 'Release') : null);

  return h('section', { class: 'block actions', 'aria-labelledby': 'act-h' },
    h('h3', { id: 'act-h', class: 'sr-only' }, 'Actions'),
    buttons,
    h('p', { id: 'act-error', class: 'error', role: 'alert' }),
    h('p', { id: 'outbound', class: 'hint', role: 'status' },
      S.outbound.get(v.id) || (v.last_action_state && v.last_action_state !== 'done' ?
        `Last platform action: ${v.last_action_state}.` : '')),
    replyForm, noteForm, labelForm, escalateForm, reassignForm);
}

function team_agents() {
  const names = new Set([S.me, ...S.agentNames]);
  for (const it of S.items.values()) if (it.holder) names.add(it.holder);
  return [...names].sort();
}

// A live update re-renders the item: what the user was typing, and
// where the focus was, must survive it.
let resetForms = false;   // an action went through: its fields start empty

function keepState(box, id) {
  const values = new Map();
  if (box.dataset.id !== id) return () => {};
  if (!resetForms) {
    for (const el of box.querySelectorAll('input[id], textarea[id], select[id]')) {
      values.set(el.id, el.value);
    }
  }
  resetForms = false;
  const a = document.activeElement;
  const focus = a && box.contains(a) && a.id ? {
    id: a.id, start: a.selectionStart, end: a.selectionEnd,
  } : null;
  return () => {
    for (const [id, value] of values) {
      const el = document.getElementById(id);
      if (el && !el.disabled && el.id !== 'reply-text') el.value = value;
    }
    const el = focus && document.getElementById(focus.id);
    if (el) {
      el.focus();
      if (typeof focus.start === 'number' && el.setSelectionRange) {
        el.setSelectionRange(focus.start, focus.end);
      }
    }
  };
}

function renderDetail(focus) {
  const v = S.open;
  const it = v.item || {};
  const cls = it.classification || {};
  const r = rights(v);
  const restore = keepState($('#detail'), v.id);
  const box = clear($('#detail'));
  box.dataset.id = v.id;
  const title = `${(it.author && (it.author.name || it.author.username)) || 'Someone'} on ${it.platform}`;
  const head = h('h2', { id: 'item-h', tabindex: '-1' }, title);

  box.append(...[
    h('button', { type: 'button', class: 'back ghost', onclick: back }, '← Lists'),
    head,
    h('p', { class: 'item-id' }, h('code', {}, v.id),
      it.permalink ? [' · ', h('a', { href: it.permalink, target: '_blank',
        rel: 'noopener noreferrer' }, 'Open the original', h('span', { class: 'sr-only' },
        ' (new tab)'))] : null),
    (!r.free && !r.mine) ? h('p', { class: 'held', role: 'status', id: 'held-by' },
      `${v.holder} holds this item. You can read it and add a note; only ${v.holder} can answer it.`) : null,
    S.away ? h('p', { class: 'held', role: 'status' }, 'You are away: come back to claim or answer.') : null,
    h('blockquote', { class: 'text', lang: it.lang || undefined }, marked(it.text, cls.hits)),
    (it.attachments || []).length ? h('p', { class: 'hint' },
      `Attachments: ${it.attachments.map((a) => a.type).join(', ')}`) : null,
    h('div', { class: 'tags' },
      h('span', { class: 'tag-h' }, 'Categories'),
      (cls.categories || []).length ? chips(cls.categories, 'cat') : h('span', { class: 'hint' }, 'none'),
      h('span', { class: 'tag-h' }, 'Labels'),
      (v.labels || []).length ? chips(v.labels, 'label', r.act ?
        (x) => act('label', { label: x, remove: true }, `Label ${x} removed.`) : null) :
        h('span', { class: 'hint' }, 'none')),
    metaLine(v, it),
    actions(v),
    h('section', { class: 'block', 'aria-labelledby': 'rules-h' },
      h('h3', { id: 'rules-h' }, 'Rules that fired'), rulesTable(cls.hits)),
    conversation(v.conversation),
    history(v.history)].filter(Boolean));
  if (focus) head.focus();
  else restore();
}

// ---------------------------------------------------------------- init

export function init() {
  $('#next').addEventListener('click', () => takeNext());
  $('#only-waiting').addEventListener('change', (e) => {
    S.onlyWaiting = e.target.checked;
    renderLists();
  });
  // Ages in the lists move on by themselves.
  setInterval(() => { if (S.me && S.view === 'inbox') { renderQueuesAges(); } }, 30000);
}

function renderQueuesAges() {
  loadQueues();
  renderLists();
}

export { show };
