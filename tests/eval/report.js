/*
 * Score inboxd's classify output and the peers' predictions against the
 * datasets' labels (tasks.js), print a table, and write it as markdown.
 *
 *   node report.js --datasets DIR --own DIR --work DIR --md FILE
 *                  [--rules] [--show NAME:fp|fn[:N]]
 *
 * DATASETS holds the public sets, OWN our own (leads*.jsonl). WORK holds,
 * per dataset NAME, NAME.out.jsonl (inboxd classify) and
 * NAME.peers.jsonl (peers.js), both one line per dataset line, in order.
 * --rules adds, per task, how often each rule fired on positives and on
 * negatives. --show prints up to N false positives or false negatives of
 * one dataset with the rules that fired (to stderr, for debugging rules;
 * never paste them into rules).
 */
'use strict';

const fs = require('fs');
const path = require('path');
const { TASKS, PEERS, HIDE } = require('./tasks');

const HIDE_TARGET = 0.95;

function readJsonl(file) {
    return fs.readFileSync(file, 'utf8').split('\n')
        .filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
}

function parseArgs(argv) {
    const o = { rules: false, show: null };

    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === '--rules')
            o.rules = true;
        else if (['--datasets', '--own', '--work', '--md', '--show']
            .includes(a))
            o[a.slice(2)] = argv[++i];
        else
            throw new Error(`unknown argument ${a}`);
    }
    for (const k of ['datasets', 'own', 'work', 'md']) {
        if (!o[k])
            throw new Error(`--${k} is required`);
    }
    return o;
}

/* Confusion counts of a list of [gold, predicted] pairs. */
function confusion(pairs) {
    const c = { tp: 0, fp: 0, fn: 0, tn: 0 };

    for (const [g, p] of pairs) {
        if (g && p)
            c.tp++;
        else if (!g && p)
            c.fp++;
        else if (g && !p)
            c.fn++;
        else
            c.tn++;
    }
    c.n = pairs.length;
    c.pos = c.tp + c.fn;
    c.flagged = c.tp + c.fp;
    c.p = c.flagged ? c.tp / c.flagged : null;
    c.r = c.pos ? c.tp / c.pos : null;
    c.f1 = c.p !== null && c.r !== null && c.p + c.r > 0 ?
        2 * c.p * c.r / (c.p + c.r) : 0;
    return c;
}

function fmt(x) {
    return x === null || x === undefined ? 'n/a' : x.toFixed(3);
}

/* Load what one dataset needs: rows, inboxd results, peer results. */
function loadDataset(opts, task, cache) {
    if (cache.has(task.file))
        return cache.get(task.file);
    const file = path.join(task.own ? opts.own : opts.datasets,
        `${task.file}.jsonl`);
    let d = null;

    if (fs.existsSync(file)) {
        const rows = readJsonl(file);
        const out = readJsonl(path.join(opts.work, `${task.file}.out.jsonl`));
        const peers = readJsonl(path.join(opts.work,
            `${task.file}.peers.jsonl`));
        const bad = out.filter((o) => o.error);

        if (bad.length)
            throw new Error(`${task.file}: inboxd rejected ${bad.length} ` +
                `items, first: line ${bad[0].line}: ${bad[0].error}`);
        if (out.length !== rows.length || peers.length !== rows.length)
            throw new Error(`${task.file}: ${rows.length} rows but ` +
                `${out.length} results and ${peers.length} peer lines`);
        d = { file, rows, out, peers };
    }
    cache.set(task.file, d);
    return d;
}

/* One scored line of the table: a task, optionally limited to a lang. */
function scoreTask(task, d, lang) {
    const idx = [];

    d.rows.forEach((row, i) => {
        if (lang && row.lang !== lang)
            return;
        if (task.gold(row.labels) !== undefined)
            idx.push(i);
    });
    const gold = (i) => task.gold(d.rows[i].labels);
    const cats = (i) => d.out[i].categories || [];
    const ours = confusion(idx.map((i) => [gold(i),
        cats(i).includes(task.category)]));
    const line = {
        task, lang,
        name: task.file + (lang ? `[${lang}]` : '') +
            (task.label !== task.category && task.label !== 'toxic' ?
            ` (${task.label})` : ''),
        ours,
        peers: {},
        hide: null,
        idx,
        data: d,
    };

    if (HIDE.includes(task.category)) {
        line.hide = confusion(idx.map((i) => [gold(i),
            cats(i).some((c) => HIDE.includes(c))]));
    }
    for (const p of PEERS) {
        if (p.category !== task.category)
            continue;
        const covered = idx.filter((i) => p.name in d.peers[i]);
        if (covered.length === 0 || covered.length !== idx.length)
            continue;
        line.peers[p.name] = confusion(idx.map((i) => [gold(i),
            d.peers[i][p.name]]));
    }
    const best = Object.values(line.peers).reduce((m, c) =>
        Math.max(m, c.f1), -1);
    line.bestPeer = best < 0 ? null : best;
    return line;
}

function buildLines(opts, cache) {
    const lines = [];
    const missing = [];

    for (const task of TASKS) {
        const d = loadDataset(opts, task, cache);
        if (d === null) {
            missing.push(task.file);
            continue;
        }
        if (task.byLang) {
            const langs = [...new Set(d.rows.map((r) => r.lang))].sort();
            for (const lang of langs)
                lines.push(scoreTask(task, d, lang));
        }
        lines.push(scoreTask(task, d, null));
    }
    return { lines, missing: [...new Set(missing)] };
}

function verdict(l) {
    const notes = [];

    if (l.task.diagnostic)
        return 'diagnostic';
    if (l.bestPeer !== null)
        notes.push(l.ours.f1 > l.bestPeer ? 'F1>peers' : 'F1<=peers');
    if (l.hide !== null && l.hide.p !== null)
        notes.push(l.hide.p >= HIDE_TARGET ? 'hideP ok' : 'hideP<0.95');
    else if (l.hide !== null)
        notes.push('nothing hidden');
    return notes.join(', ');
}

function pad(s, n) {
    s = String(s);
    return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function lpad(s, n) {
    s = String(s);
    return s.length >= n ? s : ' '.repeat(n - s.length) + s;
}

function printText(lines) {
    const peerNames = PEERS.map((p) => p.name);
    const w = Math.max(...lines.map((l) => l.name.length), 7);
    const head = pad('dataset', w) + '  ' + pad('category', 8) + ' ' +
        lpad('n', 6) + ' ' + lpad('pos', 6) + '  ' + pad('system', 13) +
        lpad('P', 6) + lpad('R', 7) + lpad('F1', 7) + lpad('hideP', 7) +
        lpad('hidden', 7);
    const out = [head, '-'.repeat(head.length)];

    for (const l of lines) {
        const c = l.ours;
        out.push(pad(l.name, w) + '  ' + pad(l.task.category, 8) + ' ' +
            lpad(c.n, 6) + ' ' + lpad(c.pos, 6) + '  ' + pad('inboxd', 13) +
            lpad(fmt(c.p), 6) + lpad(fmt(c.r), 7) + lpad(fmt(c.f1), 7) +
            lpad(l.hide ? fmt(l.hide.p) : '', 7) +
            lpad(l.hide ? l.hide.flagged : '', 7) + '   ' + verdict(l));
        if (!l.lang && !PEERS.some((x) => x.category === l.task.category))
            out.push(pad('', w) + '  ' + pad('', 8) + ' ' + lpad('', 6) +
                ' ' + lpad('', 6) + '  ' + pad('peers', 13) + lpad('n/a', 6) +
                `   (no peer answers ${l.task.category})`);
        for (const name of peerNames) {
            const p = l.peers[name];
            const applies = PEERS.find((x) => x.name === name).category ===
                l.task.category;
            if (!p && !applies)
                continue;
            out.push(pad('', w) + '  ' + pad('', 8) + ' ' + lpad('', 6) +
                ' ' + lpad('', 6) + '  ' + pad(name, 13) +
                (p ? lpad(fmt(p.p), 6) + lpad(fmt(p.r), 7) +
                lpad(fmt(p.f1), 7) + (l.hide ? lpad(fmt(p.p), 7) +
                lpad(p.flagged, 7) : '') : lpad('n/a', 6) +
                '   (no word list for this language)'));
        }
    }
    process.stdout.write(out.join('\n') + '\n');
}

function peerCell(l, name) {
    const p = l.peers[name];

    if (!p)
        return 'n/a';
    return `${fmt(p.p)} / ${fmt(p.r)} / **${fmt(p.f1)}**`;
}

function markdown(lines, missing, opts) {
    const peerNames = PEERS.map((p) => p.name);
    const md = [];

    md.push('<!-- Written by tests/eval/run.sh; do not edit by hand. -->');
    md.push('');
    md.push('Each cell is precision / recall / **F1** of the decided ' +
        'category against the dataset label. `hide P` is the precision ' +
        'of hiding (the item was decided `spam` or `abuse`), with the ' +
        'number of items hidden; the target is 0.95. A peer is `n/a` ' +
        'where it does not answer that category or has no word list ' +
        'for the language.');
    md.push('');
    md.push('| dataset | category | label | rows | pos | inboxd | hide P ' +
        '(hidden) | ' + peerNames.join(' | ') + ' | notes |');
    md.push('|---|---|---|--:|--:|---|---|' +
        peerNames.map(() => '---').join('|') + '|---|');
    for (const l of lines) {
        const c = l.ours;
        md.push(`| ${l.task.file}${l.lang ? ` [${l.lang}]` : ''} | ` +
            `${l.task.category} | ${l.task.label.replace(/\|/g, ' \\| ')} | ` +
            `${c.n} | ${c.pos} | ` +
            `${fmt(c.p)} / ${fmt(c.r)} / **${fmt(c.f1)}** | ` +
            (l.hide ? `${fmt(l.hide.p)} (${l.hide.flagged})` : '') + ' | ' +
            peerNames.map((n) => peerCell(l, n)).join(' | ') + ` | ` +
            `${verdict(l)} |`);
    }
    if (missing.length) {
        md.push('');
        md.push(`Not run (file missing): ${missing.join(', ')}.`);
    }
    md.push('');
    fs.writeFileSync(opts.md, md.join('\n'));
}

/* Per task: for each rule of the category, hits on positives/negatives. */
function printRules(lines) {
    const out = [];

    for (const l of lines) {
        if (l.lang)
            continue;
        const stats = new Map();
        for (const i of l.idx) {
            const g = l.task.gold(l.data.rows[i].labels);
            const seen = new Set();
            for (const h of l.data.out[i].hits || []) {
                if (h.category !== l.task.category || seen.has(h.rule))
                    continue;
                seen.add(h.rule);
                const s = stats.get(h.rule) || { pos: 0, neg: 0 };
                if (g)
                    s.pos++;
                else
                    s.neg++;
                stats.set(h.rule, s);
            }
        }
        if (stats.size === 0)
            continue;
        out.push(`\n${l.name} / ${l.task.category}: rule  hits-on-positive` +
            `  hits-on-negative  precision`);
        [...stats.entries()].sort((a, b) => (b[1].pos + b[1].neg) -
            (a[1].pos + a[1].neg)).forEach(([id, s]) => {
            out.push(`  ${pad(id, 40)} ${lpad(s.pos, 6)} ${lpad(s.neg, 6)}` +
                `  ${fmt(s.pos / (s.pos + s.neg))}`);
        });
    }
    process.stdout.write(out.join('\n') + '\n');
}

function show(lines, spec) {
    const [name, kind, nstr] = spec.split(':');
    const max = Number(nstr || 30);
    const l = lines.find((x) => x.name === name || (x.task.file === name &&
        !x.lang));
    if (!l)
        throw new Error(`--show: no task ${name}`);
    let shown = 0;
    for (const i of l.idx) {
        const g = l.task.gold(l.data.rows[i].labels);
        const p = (l.data.out[i].categories || []).includes(l.task.category);
        if ((kind === 'fp' && !g && p) || (kind === 'fn' && g && !p)) {
            const rules = (l.data.out[i].hits || [])
                .map((h) => `${h.rule}=${JSON.stringify(h.match)}`)
                .join(' ');
            process.stderr.write(`${kind} ${l.data.rows[i].text
                .replace(/\s+/g, ' ').slice(0, 200)}\n    ${rules}\n`);
            if (++shown >= max)
                break;
        }
    }
}

/*
 * Decisions on data that has no label for the category: lead anywhere
 * outside our lead sets, spam outside the spam sets. Public tweets,
 * forum posts and subtitles are hardly ever sales leads or spam, so
 * these counts are mostly false alarms (an upper bound on them).
 */
function alarms(cache) {
    const rows = [];

    for (const [name, d] of cache) {
        /* Our own sets hold deliberate spam pitches among the non-leads. */
        if (d === null || TASKS.some((t) => t.file === name && t.own))
            continue;
        const labelled = new Set(TASKS.filter((t) => t.file === name)
            .map((t) => t.category));
        const r = { name, n: d.rows.length, lang: d.rows[0].lang };
        for (const cat of ['lead', 'spam']) {
            r[cat] = labelled.has(cat) ? null :
                d.out.filter((o) => (o.categories || []).includes(cat)).length;
        }
        rows.push(r);
    }
    return rows.filter((r) => r.lead !== null || r.spam !== null);
}

function alarmText(rows) {
    const pct = (k, n) => (k === null ? '' : `${k} (${(100 * k / n)
        .toFixed(1)}%)`);
    const out = ['', 'Decided without a label for it (mostly false ' +
        'alarms): lead outside the lead sets, spam outside the spam sets',
        pad('dataset', 34) + lpad('rows', 7) + lpad('lead', 16) +
        lpad('spam', 16)];
    for (const r of rows)
        out.push(pad(r.name, 34) + lpad(r.n, 7) + lpad(pct(r.lead, r.n), 16) +
            lpad(pct(r.spam, r.n), 16));
    return out.join('\n') + '\n';
}

function alarmMarkdown(rows) {
    const pct = (k, n) => (k === null ? 'labelled' : `${k} (${(100 * k / n)
        .toFixed(1)}%)`);
    const md = ['', '### Decided without a label', '',
        'Items decided `lead` or `spam` in datasets that do not label that ' +
        'category. The texts are public tweets, forum posts, subtitles and ' +
        'SMS, so most of these are false alarms (DailyDialog has shopping ' +
        'dialogues, so some of its leads are real).', '',
        '| dataset | rows | lead | spam |', '|---|--:|--:|--:|'];
    for (const r of rows)
        md.push(`| ${r.name} | ${r.n} | ${pct(r.lead, r.n)} | ` +
            `${pct(r.spam, r.n)} |`);
    return md.join('\n') + '\n';
}

function main(argv) {
    const opts = parseArgs(argv);
    const cache = new Map();
    const { lines, missing } = buildLines(opts, cache);
    const alarmRows = alarms(cache);

    printText(lines);
    process.stdout.write(alarmText(alarmRows));
    if (missing.length)
        process.stdout.write(`\nnot run (file missing): ` +
            `${missing.join(', ')}\n`);
    if (opts.rules)
        printRules(lines);
    if (opts.show)
        show(lines, opts.show);
    markdown(lines, missing, opts);
    fs.appendFileSync(opts.md, alarmMarkdown(alarmRows));
    return 0;
}

try {
    process.exitCode = main(process.argv.slice(2));
} catch (e) {
    process.stderr.write(`report.js: ${e.message}\n`);
    process.exitCode = 1;
}
