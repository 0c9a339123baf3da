// dom: build elements without ever parsing markup, so text from the
// platforms can only ever be text (the CSP forbids inline script too).

const SVG_NS = 'http://www.w3.org/2000/svg';

function apply(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.setAttribute('class', v);
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function')
      el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// h('button', {class: 'x', onclick: f}, 'Text', child, ...)
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

export function $(sel, root = document) {
  return root.querySelector(sel);
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

// "3 min", "2 h 5 min", "4 d": a duration in ms for people.
export function duration(ms) {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return '–';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const hrs = Math.floor(m / 60);
  if (hrs < 48) return m % 60 ? `${hrs} h ${m % 60} min` : `${hrs} h`;
  return `${Math.floor(hrs / 24)} d`;
}

export function ago(iso) {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? `${duration(Date.now() - t)} ago` : '';
}

export function timeText(iso) {
  const t = new Date(iso);
  return Number.isFinite(t.getTime()) ?
    t.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) :
    '';
}
