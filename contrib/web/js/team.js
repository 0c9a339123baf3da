// team: the lead's view. Queue depths and waits, first responses per
// agent, and, where inboxd has them, SLA breaches, open incidents and
// who is on call. Small charts are inline SVG (charts.js).

import { api, probe } from './api.js';
import { $, h, clear, duration, timeText } from './dom.js';
import { bars, sparkline } from './charts.js';
import { S, failed } from './app.js';

const REFRESH_MS = 15000;
const HISTORY_MAX = 40;       // depth samples kept for the sparkline

let timer = null;
let poked = null;
const depthHistory = [];

export function init() {}

export function start() {
  stop();
  load();
  timer = setInterval(load, REFRESH_MS);
}

export function stop() {
  clearInterval(timer);
  timer = null;
}

// An event came: reload soon, once for a burst.
export function poke() {
  if (poked) return;
  poked = setTimeout(() => { poked = null; if (timer) load(); }, 1000);
}

function card(title, id, ...body) {
  return h('section', { class: 'card', 'aria-labelledby': id },
    h('h2', { id }, title), ...body);
}

function unavailable(what) {
  return h('p', { class: 'hint na' }, `${what}: not available on this inboxd.`);
}

// A list of records whose shape this page does not fix: each shown by
// the fields people read first.
function records(list, empty) {
  if (!list || list.length === 0) return h('p', { class: 'hint' }, empty);
  return h('ul', { class: 'records' }, list.slice(0, 20).map((r) => {
    const title = r.title || r.summary || r.name || r.reason || r.id || 'entry';
    const bits = [r.severity, r.state || r.status, r.queue, r.agent || r.who,
      r.at || r.started_at || r.since ? timeText(r.at || r.started_at || r.since) : null]
      .filter(Boolean);
    return h('li', {}, h('strong', {}, String(title)),
      bits.length ? h('span', { class: 'hint' }, ` · ${bits.join(' · ')}`) : null);
  }));
}

function listOf(body, keys) {
  if (Array.isArray(body)) return body;
  for (const k of keys) if (body && Array.isArray(body[k])) return body[k];
  return [];
}

async function load() {
  let stats;
  try {
    stats = await api('GET', '/v1/stats');
  } catch (e) {
    failed(e);
    return;
  }
  const [inc, oncall] = await Promise.all([probe('/v1/incidents'), probe('/v1/oncall')]);
  render(stats, inc, oncall);
}

function render(stats, inc, oncall) {
  const queues = stats.queues || [];
  const agents = stats.agents || [];
  S.agentNames = agents.map((a) => a.name);
  const waiting = queues.reduce((n, q) => n + (q.depth || 0), 0);
  depthHistory.push(waiting);
  if (depthHistory.length > HISTORY_MAX) depthHistory.shift();
  $('#team-at').textContent = `As of ${timeText(stats.at)}; refreshed every 15 s and on every event.`;

  const depth = card('Queue depths', 'c-depth',
    bars(queues.map((q) => ({ label: q.name, value: q.depth,
      text: `${q.depth} · ${q.claimed} held` })), { title: 'Items waiting per queue' }),
    h('p', { class: 'hint' }, `${waiting} waiting in all; trend while this page is open:`),
    sparkline(depthHistory, { title: 'Items waiting, all queues', text: `${waiting} now` }));

  const oldest = card('Oldest waiting', 'c-oldest',
    bars(queues.filter((q) => q.oldest_waiting_ms !== undefined).map((q) => ({
      label: q.name, value: q.oldest_waiting_ms, text: duration(q.oldest_waiting_ms),
      cls: q.oldest_waiting_ms > 3600000 ? 'bad' : '' })), { title: 'Oldest waiting item per queue' }));

  const frt = card('First response (median)', 'c-frt',
    bars(agents.filter((a) => a.median_first_response_ms !== undefined).map((a) => ({
      label: a.name, value: a.median_first_response_ms,
      text: duration(a.median_first_response_ms) })), { title: 'Median first response per agent' }));

  const table = card('Agents', 'c-agents', h('table', { class: 'agents' },
    h('thead', {}, h('tr', {}, ['Agent', 'Status', 'Holding', 'Claims', 'Answered',
      'Replies', 'Resolved', 'First response'].map((t, i) =>
      h('th', { scope: 'col', class: i > 1 ? 'num' : undefined }, t)))),
    h('tbody', {}, agents.map((a) => h('tr', {},
      h('th', { scope: 'row' }, a.name), h('td', {}, a.away ? 'away' : 'working'),
      ...['holding', 'claims', 'answered', 'replies', 'resolved'].map((k) =>
        h('td', { class: 'num' }, String(a[k] ?? 0))),
      h('td', { class: 'num' }, duration(a.median_first_response_ms)))))));

  const incidents = inc.status === 200 ? listOf(inc.body, ['incidents', 'items']) : null;
  const open = incidents ? incidents.filter((i) => !['resolved', 'closed'].includes(i.state || i.status)) : null;
  const breaches = incidents ? incidents.filter((i) => /sla/i.test(i.kind || i.type || i.reason || '')) : null;
  const sla = card('SLA breaches', 'c-sla', breaches ? records(breaches, 'No SLA breach.') :
    unavailable('SLA breaches'));
  const incCard = card('Open incidents', 'c-inc', open ? records(open, 'No open incident.') :
    unavailable('Incidents'));
  const onc = oncall.status === 200 ? listOf(oncall.body, ['oncall', 'on_call', 'agents', 'schedule']) : null;
  const onCard = card('On call', 'c-oncall', onc ? records(onc, 'Nobody is on call.') :
    unavailable('On call'));

  clear($('#team-grid')).append(depth, oldest, frt, sla, incCard, onCard, table);
}
