// highlight: the item's text cut into runs, each with the rule hits that
// cover it. Hits carry byte offsets into the UTF-8 text (docs/item.md
// §6), so the cutting is done on bytes and each run decoded back.

export function segments(text, hits) {
  const bytes = new TextEncoder().encode(text || '');
  const dec = new TextDecoder('utf-8', { fatal: false });
  const spans = (hits || [])
    .filter((x) => Number.isInteger(x.start) && Number.isInteger(x.end) &&
      x.start < x.end && x.start >= 0)
    .map((x) => ({ ...x, start: x.start, end: Math.min(x.end, bytes.length) }))
    .filter((x) => x.start < bytes.length);
  const cuts = new Set([0, bytes.length]);
  for (const s of spans) { cuts.add(s.start); cuts.add(s.end); }
  const points = [...cuts].sort((a, b) => a - b);
  const out = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const a = points[i], b = points[i + 1];
    const on = spans.filter((s) => s.start <= a && s.end >= b);
    out.push({ text: dec.decode(bytes.subarray(a, b)), hits: on });
  }
  return out;
}
