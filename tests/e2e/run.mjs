// The web inbox end to end, in a real headless Chromium (Debian's
// chromium, driven by playwright-core over CDP) against a real inboxd,
// a real redis-server and the fake platforms, all started by e2e_env.
// Scenarios: sign in, claim, reply (the fake receives it), hide, a
// second browser sees the claim live, the lead's team view, a phone
// width, the shortcuts, and no CSP violation anywhere. Screenshots of
// the main views go to docs/screenshots/. Ends with "N passed, N failed".
//
//   E2E_ENV=build/tests/e2e_env CHROMIUM=/usr/bin/chromium node tests/e2e/run.mjs

import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));
const SHOTS = join(HERE, '..', '..', 'docs', 'screenshots');
const ENV_BIN = process.env.E2E_ENV || join(HERE, '..', '..', 'build', 'tests', 'e2e_env');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const DEADLINE_MS = 240000;
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync'];

const children = [];
let passed = 0;
let failed = 0;

// Chromium and its helpers write the profile until they have all exited:
// stop the whole process group (TERM, then KILL after 5 s), then remove
// the profile.  Removal is cleanup, not a test: a failure is reported and
// the directory left for the system's tmp cleaner.
async function stopChromium(chrome) {
  const group = (sig) => { try { process.kill(-chrome.proc.pid, sig); } catch (e) { /* gone */ } };
  if (chrome.proc.exitCode === null && chrome.proc.signalCode === null) {
    const exited = new Promise((res) => chrome.proc.once('exit', res));
    group('SIGTERM');
    await Promise.race([exited, new Promise((res) => setTimeout(res, 5000))]);
  }
  group('SIGKILL');
  for (let i = 0; i < 20; i++) {
    try {
      rmSync(chrome.profile, { recursive: true, force: true });
      return;
    } catch (e) {
      await new Promise((res) => setTimeout(res, 250));
    }
  }
  console.log(`note: could not remove ${chrome.profile}`);
}

function killAll() {
  for (const c of children) {
    try {
      if (c.group) process.kill(-c.pid, 'SIGKILL');
      else c.kill('SIGTERM');
    } catch (e) { /* gone */ }
  }
}

const guard = setTimeout(() => {
  console.log(`FAIL the run took longer than ${DEADLINE_MS / 1000} s`);
  console.log(`${passed} passed, ${failed + 1} failed`);
  killAll();
  process.exit(1);
}, DEADLINE_MS);

function sleep(ms) { return new Promise((res) => setTimeout(res, ms)); }

async function until(what, fn, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

// ------------------------------------------------------------ the env

function startEnv() {
  const env = spawn(ENV_BIN, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(env);
  const effects = [];
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: env.stdout });
    rl.on('line', (line) => {
      if (line.startsWith('ready ')) {
        resolve({ ...JSON.parse(line.slice(6)), effects, proc: env });
      } else if (line.startsWith('effect ')) {
        effects.push(line.slice(7));
      }
    });
    env.on('exit', (code) => reject(new Error(`e2e_env exited (${code})`)));
  });
}

// Chromium with exactly our flags and a fresh profile; playwright-core
// attaches over CDP.
function startChromium() {
  const profile = mkdtempSync(join(tmpdir(), 'inboxd-e2e-profile-'));
  const proc = spawn(CHROMIUM, [...FLAGS, `--user-data-dir=${profile}`,
    '--remote-debugging-port=0', '--remote-debugging-address=127.0.0.1', 'about:blank'],
  // Its own process group, so its helpers (zygote, crashpad) stop with it.
  { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  proc.group = true;
  children.push(proc);
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: proc.stderr });
    rl.on('line', (line) => {
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(line);
      if (m) resolve({ ws: m[1], proc, profile });
    });
    proc.on('exit', (code) => reject(new Error(`chromium exited (${code})`)));
  });
}

// ------------------------------------------------------------ the API

async function post(env, path, body, tok) {
  const r = await fetch(env.api + path, {
    method: 'POST',
    headers: { Authorization: `Bearer ${tok}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: r.status === 204 ? null : await r.json() };
}

function fbComment(env, n, text, name) {
  return {
    platform: 'facebook', native_id: `${env.page}_10000000000000${n}`, kind: 'comment',
    account: { id: env.page, name: 'Acme' }, conversation: `${env.page}_5550${n}`,
    author: { id: `10${n}0${n}`, name },
    text, created_at: new Date(Date.now() - 60000 * n).toISOString(),
    permalink: `https://www.facebook.com/acme/posts/5550${n}?comment_id=${n}`,
  };
}

// ------------------------------------------------------------ pages

const cspViolations = [];
const consoleErrors = [];

async function newPage(browser, env, viewport = { width: 1280, height: 860 }) {
  const ctx = await browser.newContext({ viewport, reducedMotion: 'reduce' });
  const page = await ctx.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  page.on('console', (m) => {
    if (m.text().startsWith('CSP violation')) cspViolations.push(m.text());
  });
  await page.goto(env.web + '/');
  return page;
}

async function signIn(page, tok, name) {
  await page.fill('#token', tok);
  await page.click('#signin-form button[type=submit]');
  await page.waitForFunction((n) => document.querySelector('#who')?.textContent.startsWith(n),
    name, { timeout: 10000 });
  await page.waitForSelector('#conn:text("Live")', { timeout: 10000, state: 'attached' });
}

async function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

const row = (id) => `button.item-row[data-id="${id}"]`;

// ------------------------------------------------------------ scenarios

async function main() {
  const env = await startEnv();
  const chrome = await startChromium();
  const browser = await chromium.connectOverCDP(chrome.ws);
  const S = {};
  const ids = {};

  const scenarios = [
    ['items arrive through the API', async () => {
      const a = fbComment(env, 1, 'Hi! How do I reset my password? The link in the email does not work.', 'Jane Doe');
      const b = fbComment(env, 2, 'FREE MONEY!!! crypto giveaway, send 0.1 BTC and get 2 back, click http://bit.ly/xyz now', 'Crypto King');
      for (const [k, item] of [['question', a], ['spam', b]]) {
        const r = await post(env, '/v1/items', item, 'test-token');
        check(r.status === 202, `POST /v1/items answered ${r.status}`);
        ids[k] = r.body.id;
        ids[`${k}_native`] = item.native_id;
        ids[`${k}_queue`] = r.body.queue;
      }
      check(ids.question_queue === 'support', `question went to ${ids.question_queue}`);
      check(ids.spam_queue === 'moderation', `spam went to ${ids.spam_queue}`);
    }],

    ['the page is served with its security headers', async () => {
      const r = await fetch(env.web + '/');
      const csp = r.headers.get('content-security-policy') || '';
      check(csp.includes("default-src 'none'") && csp.includes("script-src 'self'") &&
        csp.includes("frame-ancestors 'none'"), `CSP: ${csp}`);
      check(r.headers.get('x-content-type-options') === 'nosniff', 'nosniff');
      check(r.headers.get('referrer-policy') === 'no-referrer', 'referrer policy');
    }],

    ['sign in: a wrong token is refused, the right one opens the inbox', async () => {
      S.alice = await newPage(browser, env);
      await shot(S.alice, 'signin');
      await S.alice.fill('#token', 'not-a-token');
      await S.alice.click('#signin-form button[type=submit]');
      await S.alice.waitForSelector('#signin-error:text("does not know")');
      await signIn(S.alice, 'alice-token', 'alice');
      check(!S.alice.url().includes('alice-token'), 'the token is not in the URL');
      const stored = await S.alice.evaluate(() => sessionStorage.getItem('inboxd.token'));
      check(stored === 'alice-token', 'the token is in sessionStorage');
      check(await S.alice.evaluate(() => localStorage.length) === 0, 'nothing in localStorage');
      await S.alice.waitForSelector('#queues .queue:has-text("support")');
      await S.alice.waitForSelector(`#recent ${row(ids.question)}`);
      await S.alice.waitForSelector(`#recent ${row(ids.spam)} .row-text:text("FREE MONEY")`);
      const q = await S.alice.textContent('#queues .queue:has-text("support")');
      check(/1 waiting/.test(q) && /oldest/.test(q), `support queue shows its count and age: ${q}`);
    }],

    ['a second agent opens the same item', async () => {
      S.bob = await newPage(browser, env);
      await signIn(S.bob, 'bob-token', 'bob');
      await S.bob.click(`#recent ${row(ids.question)}`);
      await S.bob.waitForSelector('#item-h:has-text("Jane Doe")');
      await S.bob.waitForSelector('#claim');
    }],

    ['claim: take next from the queue; the other browser sees it live', async () => {
      await S.alice.click('button[aria-label="Take next from support"]');
      await S.alice.waitForSelector('#item-h:has-text("Jane Doe")');
      await S.alice.waitForSelector(`#mine ${row(ids.question)}`);
      const focused = await S.alice.evaluate(() => document.activeElement?.id);
      check(focused === 'item-h', `focus went to the item's heading (${focused})`);
      // Bob never reloads: the event stream tells his page.
      await S.bob.waitForSelector('#held-by:has-text("alice holds this item")', { timeout: 10000 });
      check(await S.bob.isDisabled('#reply-text'), "bob cannot write a reply to alice's item");
      check(await S.bob.isDisabled('button:text("Send reply")'), 'nor send one');
      check(await S.bob.$('#claim') === null, 'nor claim it');
      await S.bob.waitForSelector(`#recent ${row(ids.question)} .badge:has-text("by alice")`);
      await shot(S.bob, 'held-by-another');
    }],

    ['the matched rule text is highlighted', async () => {
      await S.alice.waitForSelector('blockquote.text mark');
      const t = await S.alice.getAttribute('blockquote.text mark', 'title');
      check(/question/.test(t), `mark names the rule and category: ${t}`);
      await S.alice.waitForSelector('table.rules tbody tr');
      await S.alice.waitForSelector('a:has-text("Open the original")');
      check(await S.alice.getAttribute('a:has-text("Open the original")', 'rel') === 'noopener noreferrer',
        'the link to the original leaks nothing');
    }],

    ['reply with the keyboard: the fake platform receives it', async () => {
      const text = 'Sorry about that, Jane! Try the link again, it works now.';
      await S.alice.keyboard.press('r');
      check(await S.alice.evaluate(() => document.activeElement?.id) === 'reply-text', 'r focuses the reply');
      await S.alice.keyboard.type(text);
      await S.alice.keyboard.press('Control+Enter');
      const want = `facebook reply ${ids.question_native} ${text}`;
      await until('the reply on the fake platform', () => env.effects.includes(want), 15000);
      await S.alice.waitForSelector('#outbound:has-text("reached facebook")', { timeout: 15000 });
      await S.alice.waitForSelector('.history li:has-text("replied")');
      await shot(S.alice, 'item');
    }],

    ['bob cannot answer it through the page either', async () => {
      await S.bob.waitForSelector('.history li:has-text("replied")', { timeout: 10000 });
      check(await S.bob.isDisabled('#reply-text'), 'still no reply box for bob');
      check(env.effects.filter((e) => e.includes(' reply ')).length === 1, 'exactly one reply');
    }],

    ['pick one from the list, claim it, hide it', async () => {
      await S.alice.click(`#recent ${row(ids.spam)}`);
      await S.alice.waitForSelector('#item-h:has-text("Crypto King")');
      await S.alice.waitForSelector('blockquote.text mark.cat-spam');
      await S.alice.focus('#item-h');
      await S.alice.keyboard.press('c');
      await S.alice.waitForSelector(`#mine ${row(ids.spam)}`);
      await S.alice.waitForSelector('#hide:not([disabled])');
      check(await S.alice.evaluate(() => document.activeElement?.id) === 'reply-text',
        'a claim puts the cursor in the reply');
      await S.alice.focus('#item-h');
      await S.alice.keyboard.press('h');
      const want = `facebook hide ${ids.spam_native}`;
      await until('the hide on the fake platform', () => env.effects.includes(want), 15000);
      await S.alice.waitForSelector('#hide:has-text("Unhide")');
      await S.alice.waitForSelector('.meta dd:has-text("hidden on the platform"), .meta dd:has-text("hide requested")');
      await shot(S.alice, 'inbox');
    }],

    ['note, label and resolve', async () => {
      await S.alice.click(`#mine ${row(ids.question)}`);
      await S.alice.waitForSelector('#item-h:has-text("Jane Doe")');
      await S.alice.fill('#note-text', 'Password links expire after an hour.');
      await S.alice.click('button:text("Add note")');
      await S.alice.waitForSelector('.history li:has-text("Password links expire")');
      await S.alice.fill('#label-text', 'login');
      await S.alice.click('button:text("Add label")');
      await S.alice.waitForSelector('.chip.label:has-text("login")');
      await S.alice.focus('#item-h');
      await S.alice.keyboard.press('e');
      await S.alice.waitForSelector('.meta dd:has-text("resolved")');
      await S.bob.waitForSelector(`#recent ${row(ids.question)} .badge:has-text("resolved")`, { timeout: 10000 });
    }],

    ['shortcuts: ? opens the list, Escape closes it', async () => {
      await S.alice.focus('#item-h');
      await S.alice.keyboard.press('?');
      await S.alice.waitForSelector('#help[open]');
      check(await S.alice.evaluate(() => document.activeElement?.id) === 'help-close', 'focus in the dialog');
      await S.alice.keyboard.press('Escape');
      await S.alice.waitForFunction(() => !document.querySelector('#help').open);
      check(await S.alice.evaluate(() => document.activeElement?.id) === 'item-h',
        'focus back where it was');
    }],

    ['a new item appears live, without reloading', async () => {
      const c = fbComment(env, 3, 'Do you ship to Finland? I want to buy two of the blue ones.', 'Mikko');
      const r = await post(env, '/v1/items', c, 'test-token');
      check(r.status === 202, `POST answered ${r.status}`);
      ids.new = r.body.id;
      await S.bob.waitForSelector(`#recent ${row(ids.new)} .row-text:has-text("Finland")`, { timeout: 10000 });
      await S.alice.waitForSelector(`#recent ${row(ids.new)}`, { timeout: 10000 });
    }],

    ['the lead sees the team view', async () => {
      S.lena = await newPage(browser, env);
      await signIn(S.lena, 'lena-token', 'lena');
      await S.lena.waitForSelector('#tab-team:not([hidden])');
      await S.lena.keyboard.press('t');
      await S.lena.waitForSelector('#c-depth');
      await S.lena.waitForSelector('#team-grid svg.chart');
      const charts = await S.lena.$$eval('#team-grid svg.chart', (l) => l.length);
      check(charts >= 3, `${charts} charts`);
      await S.lena.waitForSelector('#c-agents + table th:has-text("alice")');
      const frt = await S.lena.textContent('#c-agents + table');
      check(/alice/.test(frt), 'agents table lists alice');
      await S.lena.waitForSelector('.card:has(#c-inc) .na:has-text("not available")');
      await S.lena.waitForSelector('.card:has(#c-oncall) .na:has-text("not available")');
      await shot(S.lena, 'team');
      check(await S.alice.$('#tab-team:not([hidden])') === null, 'an agent has no team view');
    }],

    ['a phone width: one column, nothing wider than the screen', async () => {
      S.phone = await newPage(browser, env, { width: 390, height: 844 });
      await signIn(S.phone, 'alice-token', 'alice');
      await S.phone.waitForSelector(`#recent ${row(ids.new)}`);
      const over = await S.phone.evaluate(() => document.documentElement.scrollWidth);
      check(over <= 391, `page is ${over}px wide`);
      await shot(S.phone, 'phone-list');
      await S.phone.click(`#recent ${row(ids.new)}`);
      await S.phone.waitForSelector('#item-h:has-text("Mikko")');
      check(await S.phone.isHidden('#side'), 'the lists give way to the item');
      const over2 = await S.phone.evaluate(() => document.documentElement.scrollWidth);
      check(over2 <= 391, `item page is ${over2}px wide`);
      await shot(S.phone, 'phone-item');
      await S.phone.click('button.back');
      await S.phone.waitForSelector('#side', { state: 'visible' });
    }],

    ['sign out forgets the token', async () => {
      await S.phone.click('#signout');
      await S.phone.waitForSelector('#signin:not([hidden])');
      check(await S.phone.evaluate(() => sessionStorage.getItem('inboxd.token')) === null, 'token gone');
    }],

    ['no CSP violation and no console error', async () => {
      check(cspViolations.length === 0, `CSP violations: ${cspViolations.join('; ')}`);
      const real = consoleErrors.filter((e) => !/status of 40[134]/.test(e) && !e.startsWith('CSP'));
      check(real.length === 0, `console errors: ${real.join('; ')}`);
    }],
  ];

  for (const [name, fn] of scenarios) {
    try {
      await fn();
      passed++;
      console.log(`ok   ${name}`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${name}: ${e.message.split('\n')[0]}`);
      // What each browser showed, for the one who reads the failure.
      for (const [who, page] of Object.entries(S)) {
        const file = join(tmpdir(), `inboxd-e2e-fail-${failed}-${who}.png`);
        await page.screenshot({ path: file }).then(() => console.log(`  see ${file}`), () => {});
      }
    }
  }
  await browser.close().catch(() => {});
  await stopChromium(chrome);
  env.proc.stdin.end();
  const code = await new Promise((res) => env.proc.on('exit', res));
  if (code !== 0) {
    failed++;
    console.log('FAIL e2e_env: the daemon reported errors at exit');
  }
}

main().catch((e) => {
  failed++;
  console.log(`FAIL setup: ${e.message}`);
}).finally(() => {
  clearTimeout(guard);
  killAll();
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
});
