// charts: small inline SVG charts, drawn here (no library, no inline
// style: colours come from app.css classes). Each chart is an image with
// a text alternative that says what it shows.

import { svg } from './dom.js';

// Horizontal bars: rows [{label, value, text}], text is the value shown.
export function bars(rows, { title, max } = {}) {
  const rowH = 26, labelW = 100, valueW = 110, width = 380;
  const barW = width - labelW - valueW;
  const top = Math.max(max || 0, ...rows.map((r) => r.value || 0), 1);
  const height = Math.max(rowH * rows.length, rowH);
  const desc = rows.map((r) => `${r.label}: ${r.text}`).join(', ') || 'no data';
  const el = svg('svg', {
    class: 'chart', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img',
    'aria-label': `${title}. ${desc}`, preserveAspectRatio: 'xMinYMin meet',
  }, svg('title', {}, title));
  rows.forEach((r, i) => {
    const y = i * rowH;
    const w = Math.round(((r.value || 0) / top) * barW);
    el.append(
      svg('text', { x: labelW - 8, y: y + 18, class: 'chart-label',
        'text-anchor': 'end' }, r.label),
      svg('rect', { x: labelW, y: y + 5, width: Math.max(w, 1), height: 16,
        rx: 3, class: `chart-bar ${r.cls || ''}` }),
      svg('text', { x: labelW + Math.max(w, 1) + 6, y: y + 18,
        class: 'chart-value' }, r.text));
  });
  if (rows.length === 0) {
    el.append(svg('text', { x: 8, y: 18, class: 'chart-label', 'text-anchor': 'start' }, 'no data'));
  }
  return el;
}

// A sparkline of values (oldest first), with its last value.
export function sparkline(values, { title, text } = {}) {
  const width = 240, height = 48, pad = 4;
  // One sample is a flat line, not an invisible point.
  if (values.length === 1) values = [values[0], values[0]];
  const n = values.length;
  const top = Math.max(...values, 1);
  const pts = values.map((v, i) => {
    const x = pad + (n <= 1 ? 0 : (i / (n - 1)) * (width - 2 * pad));
    const y = height - pad - (v / top) * (height - 2 * pad);
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  }).join(' ');
  return svg('svg', {
    class: 'chart spark', viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-label': `${title}: ${text}`,
  }, svg('title', {}, title),
  svg('polyline', { points: pts || `${pad},${height - pad}`,
    class: 'spark-line', fill: 'none' }));
}
