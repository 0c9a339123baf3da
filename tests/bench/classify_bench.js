/*
 * The npm packages a user might pick instead of inboxd's rules (the ones
 * tests/eval/peers.js measures for quality), timed over the benchmark's
 * comments: one JSON item per line, only "text" and "lang" are read.
 * Each package checks every line once, after a warm-up; prints items/s
 * per package. Modules come from tests/eval/node_modules.
 *
 *   node tests/bench/classify_bench.js corpus.jsonl
 */
'use strict';

const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');
const { pathToFileURL } = require('url');

const MODULES = path.join(__dirname, '..', 'eval', 'node_modules');

const requireThere = createRequire(path.join(MODULES, 'noop.js'));

function need(name) {
    return requireThere(name);
}

async function loadPeers() {
    const obscenity = need('obscenity');
    const { Filter } = await import(pathToFileURL(
        requireThere.resolve('bad-words')).href);
    const leo = need('leo-profanity');
    const Sentiment = need('sentiment');
    const matcher = new obscenity.RegExpMatcher({
        ...obscenity.englishDataset.build(),
        ...obscenity.englishRecommendedTransformers,
    });
    const badWords = new Filter();
    const sentiment = new Sentiment();

    return {
        'obscenity': (text) => matcher.hasMatch(text),
        'bad-words': (text) => {
            try {
                return badWords.isProfane(text);
            } catch (e) {
                return false;
            }
        },
        'leo-profanity': (text) => leo.check(text),
        'sentiment': (text) => sentiment.analyze(text).score < 0,
    };
}

async function main(argv) {
    if (argv.length !== 1) {
        process.stderr.write('usage: node classify_bench.js corpus.jsonl\n');
        return 2;
    }
    const texts = fs.readFileSync(argv[0], 'utf8').split('\n')
        .filter((l) => l.trim() !== '').map((l) => JSON.parse(l).text);
    let peers;

    try {
        peers = await loadPeers();
    } catch (e) {
        process.stderr.write(`classify_bench.js: npm peers not usable: ${e}\n`);
        return 0;
    }
    for (const [name, fn] of Object.entries(peers)) {
        let hits = 0;

        for (let i = 0; i < Math.min(200, texts.length); i++)
            fn(texts[i]);
        const t0 = process.hrtime.bigint();
        for (const t of texts)
            hits += fn(t) ? 1 : 0;
        const secs = Number(process.hrtime.bigint() - t0) / 1e9;
        process.stdout.write(`${(name + ' (npm)').padEnd(34)} ` +
            `${String(texts.length).padStart(6)} items in ` +
            `${secs.toFixed(3).padStart(6)} s: ` +
            `${(texts.length / secs).toFixed(0).padStart(7)} items/s ` +
            `(${hits} flagged)\n`);
    }
    return 0;
}

main(process.argv.slice(2)).then((rc) => {
    process.exitCode = rc;
}, (err) => {
    process.stderr.write(`classify_bench.js: ${err.stack || err}\n`);
    process.exitCode = 1;
});
