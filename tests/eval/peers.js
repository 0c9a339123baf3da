/*
 * The npm packages a user might pick instead of inboxd's rules, run over
 * the same dataset. Prints one JSON line per input line, in order:
 *
 *   {"n": 1, "obscenity": false, "bad-words": true, "leo-profanity": false,
 *    "sentiment": true}
 *
 * true means the peer decides the category it answers (tasks.js PEERS):
 * profanity found (abuse) or a sentiment score below 0 (negative). A peer
 * whose word list does not cover the line's lang is left out of the line,
 * and so is one whose category tasks.js does not measure on this file.
 *
 *   node peers.js DATASET.jsonl > peers.jsonl
 */
'use strict';

const fs = require('fs');
const path = require('path');
const { TASKS, PEERS } = require('./tasks');

async function loadPeers() {
    const obscenity = require('obscenity');
    const { Filter } = await import('bad-words');
    const leo = require('leo-profanity');
    const Sentiment = require('sentiment');

    const matcher = new obscenity.RegExpMatcher({
        ...obscenity.englishDataset.build(),
        ...obscenity.englishRecommendedTransformers,
    });
    const badWords = new Filter();
    const sentiment = new Sentiment();

    /* leo-profanity keeps one active list: switch it when the lang
     * changes. Its 'ru' dictionary is russian-bad-words; add that list
     * again explicitly so it is there even if leo stops bundling it. */
    const russian = require('russian-bad-words').flatWords;
    let leoLang = null;
    const leoCheck = (text, lang) => {
        if (leoLang !== lang) {
            leo.loadDictionary(lang);
            if (lang === 'ru')
                leo.add(russian);
            leoLang = lang;
        }
        return leo.check(text);
    };

    return {
        'obscenity': (text) => matcher.hasMatch(text),
        'bad-words': (text) => {
            try {
                return badWords.isProfane(text);
            } catch (e) {
                return false;
            }
        },
        'leo-profanity': (text, lang) => leoCheck(text, lang),
        'sentiment': (text) => sentiment.analyze(text).score < 0,
    };
}

async function main(argv) {
    if (argv.length !== 1) {
        process.stderr.write('usage: node peers.js DATASET.jsonl\n');
        return 2;
    }
    const name = path.basename(argv[0], '.jsonl');
    const cats = new Set(TASKS.filter((t) => t.file === name)
        .map((t) => t.category));
    const peers = PEERS.filter((p) => cats.has(p.category));
    const fns = await loadPeers();
    const lines = fs.readFileSync(argv[0], 'utf8').split('\n');
    const out = [];
    let n = 0;

    for (const line of lines) {
        if (line.trim() === '')
            continue;
        const row = JSON.parse(line);
        const pred = { n: ++n };

        for (const p of peers) {
            if (p.langs.includes(row.lang))
                pred[p.name] = fns[p.name](row.text, row.lang);
        }
        out.push(JSON.stringify(pred));
    }
    out.push('');
    fs.writeSync(1, out.join('\n'));
    return 0;
}

main(process.argv.slice(2)).then((rc) => {
    process.exitCode = rc;
}, (err) => {
    process.stderr.write(`peers.js: ${err.stack || err}\n`);
    process.exitCode = 1;
});
