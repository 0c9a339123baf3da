/*
 * Turn a labelled dataset (JSON Lines: {"id","lang","text","labels"}) into
 * inboxd items (docs/item.md) on stdout, one per input line and in the same
 * order. The item id is "eval:<line number>", so results join back by
 * position; the text and lang go through unchanged.
 *
 *   node items.js DATASET.jsonl > items.jsonl
 */
'use strict';

const fs = require('fs');

function main(argv) {
    if (argv.length !== 1) {
        process.stderr.write('usage: node items.js DATASET.jsonl\n');
        return 2;
    }
    const lines = fs.readFileSync(argv[0], 'utf8').split('\n');
    const out = [];
    let n = 0;

    for (const line of lines) {
        if (line.trim() === '')
            continue;
        const row = JSON.parse(line);
        n++;
        out.push(JSON.stringify({
            platform: 'eval',
            native_id: String(n),
            kind: 'comment',
            account: { id: 'eval' },
            author: { id: 'eval' },
            text: row.text,
            lang: row.lang,
            created_at: '2026-01-01T00:00:00Z',
        }));
    }
    out.push('');
    fs.writeSync(1, out.join('\n'));
    return 0;
}

process.exitCode = main(process.argv.slice(2));
