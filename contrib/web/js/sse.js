// sse: a Server-Sent Events parser for a stream read with fetch(),
// because EventSource cannot send the Authorization header. Feed it
// decoded text as it arrives; it returns the complete events.
// (https://html.spec.whatwg.org/multipage/server-sent-events.html)

export class SseParser {
  constructor() {
    this.buf = '';
    this.reset();
    this.lastId = null;
    this.retry = null;
  }

  reset() {
    this.type = '';
    this.data = [];
    this.id = null;
  }

  // Returns [{type, data, id}] for every event completed by text.
  push(text) {
    const out = [];
    this.buf += text;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buf);
      // A lone \r at the very end may be the first half of \r\n.
      if (!m || (m[0] === '\r' && m.index === this.buf.length - 1)) break;
      const line = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      this.line(line, out);
    }
    return out;
  }

  line(line, out) {
    if (line === '') {
      if (this.data.length > 0) {
        out.push({ type: this.type || 'message', data: this.data.join('\n'),
          id: this.lastId });
      }
      this.reset();
      return;
    }
    if (line.startsWith(':')) return;
    const c = line.indexOf(':');
    const field = c === -1 ? line : line.slice(0, c);
    let value = c === -1 ? '' : line.slice(c + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event': this.type = value; break;
      case 'data': this.data.push(value); break;
      case 'id': if (!value.includes('\0')) this.lastId = value; break;
      case 'retry': if (/^\d+$/.test(value)) this.retry = Number(value); break;
      default: break;
    }
  }
}
