// What the browser tests share: the real server started on a free port,
// stopped with SIGTERM (its exit status is checked), and Debian's Chromium.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const AXE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..',
  'node_modules', 'axe-core', 'axe.min.js');

// A timer for races, which does not keep the process alive after the test.
// What ctest gives every browser test: the binary, the repository root,
// where screenshots go (SEULA_TEST_OUTPUT, default tests/output/) and
// axe-core's script.
export function testPaths() {
  const BIN = process.env.SEULA_BIN;
  const SOURCE = process.env.SEULA_SOURCE_DIR;
  if (!BIN || !SOURCE)
    throw new Error('set SEULA_BIN (the seula binary) and SEULA_SOURCE_DIR (the repository root); ctest does');
  const ROOT = path.resolve(SOURCE);
  return {
    BIN, SOURCE, ROOT,
    OUTPUT: path.resolve(process.env.SEULA_TEST_OUTPUT || path.join(ROOT, 'tests', 'output')),
    AXE: path.join(ROOT, 'node_modules', 'axe-core', 'axe.min.js'),
  };
}

export const deadline = (ms) => new Promise((r) => setTimeout(r, ms).unref());

// `seula serve --config config`; resolves once it listens, to
// { base, stop }: stop() ends it (SIGTERM, SIGKILL after 10 s) and resolves
// to its exit status, or the signal that ended it.  cwd: where it starts
// (relative paths in the config are relative to it).
export async function startSeula(bin, config, { echo = false, cwd } = {}) {
  const server = spawn(bin, ['serve', '--config', config], { stdio: ['ignore', 'pipe', 'inherit'], cwd });
  let exitCode;
  const exited = new Promise((resolve) => server.once('exit', (code, signal) => {
    exitCode = code ?? signal;
    resolve(exitCode);
  }));
  const lines = createInterface({ input: server.stdout });
  const stop = async () => {
    if (exitCode === undefined) {
      server.kill('SIGTERM');
      await Promise.race([exited, deadline(10000)]);
      if (exitCode === undefined) server.kill('SIGKILL');
    }
    return exitCode;
  };
  try {
    const base = await Promise.race([
      new Promise((resolve, reject) => lines.once('line', (line) => {
        const m = /^listening on (http:\/\/\S+)$/.exec(line);
        m ? resolve(m[1]) : reject(new Error(`seula's first line is not "listening on": ${line}`));
      })),
      exited.then((code) => { throw new Error(`seula exited with ${code} before listening`); }),
      deadline(15000).then(() => { throw new Error('seula did not start listening in 15 s'); }),
    ]);
    if (echo) lines.on('line', (line) => console.log(`seula: ${line}`));
    return { base, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

export function launchChromium() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
}

// The text of an INI file with key = value set in [section] (replaced where
// it is, or added as the section's first key; the section is added when
// missing): a config derived from contrib/seula.ini.example.
export function setIni(text, section, key, value) {
  const lines = text.split('\n');
  const head = lines.findIndex((l) => l.trim() === `[${section}]`);
  if (head < 0) return `${text.replace(/\n*$/, '\n')}\n[${section}]\n${key} = ${value}\n`;
  let end = lines.findIndex((l, i) => i > head && /^\s*\[/.test(l));
  if (end < 0) end = lines.length;
  const at = lines.findIndex((l, i) => i > head && i < end && new RegExp(`^\\s*${key}\\s*=`).test(l));
  if (at >= 0) {
    // A value continued on indented lines goes with it.
    let n = 1;
    while (at + n < end && /^[ \t]+\S/.test(lines[at + n])) n++;
    lines.splice(at, n, `${key} = ${value}`);
  } else {
    lines.splice(head + 1, 0, `${key} = ${value}`);
  }
  return lines.join('\n');
}

// contrib/seula.ini.example as a test's server runs it, from the
// repository root where its relative paths point: a free port, the
// database `db`, the repository's web/ and the plugins built beside BIN.
export function exampleIni(db) {
  const { BIN, ROOT } = testPaths();
  let ini = readFileSync(path.join(ROOT, 'contrib', 'seula.ini.example'), 'utf8');
  ini = setIni(ini, 'server', 'listen', '127.0.0.1:0');
  ini = setIni(ini, 'server', 'db', db);
  ini = setIni(ini, 'server', 'web_root', path.join(ROOT, 'web'));
  return setIni(ini, 'server', 'plugin_dir', path.join(path.dirname(path.resolve(BIN)), 'plugins'));
}

// Keep in `problems` (page.problems unless given) what a page must not do:
// a script error, a console error, a Content-Security-Policy violation
// (an init script reports each as a console error).  allowed(message):
// true for a console error that is an answer the test asked for (the
// browser logs each 4xx of a fetch).  Call before the page's first goto.
export async function recordProblems(page, allowed = () => false, problems = []) {
  page.problems = problems;
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && !allowed(m)) problems.push(`${m.text()} (${m.location().url})`);
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return problems;
}

// axe-core's WCAG 2.1 A and AA rules on `selector` of the page (the whole
// document when null), injected through the debugger so that the page's
// CSP does not stop it: { violations, serious, passes }, the violations
// as lines ("impact id: help (targets)"), serious the serious and
// critical ones, passes the number of rules that passed.
export async function axeRun(page, selector = null) {
  if (!await page.evaluate(() => !!window.axe)) await page.evaluate(readFileSync(AXE, 'utf8'));
  const result = await page.evaluate((sel) => window.axe.run(sel || document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
  }), selector);
  const line = (v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`;
  return {
    violations: result.violations.map(line),
    serious: result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map(line),
    passes: result.passes.length,
  };
}

// axeRun() on the whole page, asserting: no serious or critical violation
// (the minor ones printed), or with `strict` none at all; and at least
// minPasses rules passed, so that axe did run.
export async function axeCheck(page, minPasses, { strict = false } = {}) {
  const r = await axeRun(page);
  const minor = r.violations.filter((v) => !r.serious.includes(v));
  if (strict) assert.deepEqual(r.violations, [], 'axe: no violation');
  else if (minor.length) console.log(`axe, minor: ${minor.join('\n')}`);
  assert.deepEqual(r.serious, [], 'axe: no serious or critical violation');
  assert.ok(r.passes >= minPasses, `axe ran ${r.passes} passing rules`);
}

// `seula user add` for each of users, [{ name, role, password }], the
// password on stdin as a person would type it, before the server starts:
// into the database `seula migrate` makes (user add makes none).
export function addStaff(bin, config, users, { cwd } = {}) {
  execFileSync(bin, ['migrate', '--config', config], { stdio: ['ignore', 'ignore', 'inherit'], cwd });
  for (const u of users)
    execFileSync(bin, ['user', 'add', u.name, '--role', u.role, '--config', config],
      { input: `${u.password}\n`, stdio: ['pipe', 'ignore', 'inherit'], cwd });
}

// A test file's end: the browser closed, the server stopped (its exit
// status returned: 0 after a clean SIGTERM; undefined when none ran) and
// the temp folder removed, whichever of them exist.
export async function shutDown({ browser, seula, dir }) {
  if (browser) await browser.close();
  const code = seula ? await seula.stop() : undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  return code;
}

// A config's text without the [plugin.NAME] sections of plugins not in
// `loaded`: the server refuses settings for a plugin it does not load.
export function withoutPluginSections(text, loaded) {
  const out = [];
  let keep = true;
  for (const line of text.split('\n')) {
    const m = /^\s*\[([^\]]+)\]/.exec(line);
    if (m) keep = !(m[1].startsWith('plugin.') && !loaded.includes(m[1].slice(7)));
    if (keep) out.push(line);
  }
  return out.join('\n');
}

// POST body as JSON in text/plain, as the tracker's beacon sends it, to
// pathname on base; resolves to {status, text}.
export function postBeacon(base, pathname, body, headers) {
  const u = new URL(pathname, base);
  const data = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: u.hostname, port: u.port, path: u.pathname, method: 'POST',
      headers: { 'Content-Type': 'text/plain', 'Content-Length': data.length, ...headers },
    }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

// A new page of `context` at url that records script errors, console
// errors and CSP violations; `expected` lists the console errors (as
// regexps of "text (url)") that are answers the test asked for.
export async function openRecording(context, url, expected = []) {
  const page = await context.newPage();
  await recordProblems(page, (m) => expected.some((re) => re.test(`${m.text()} (${m.location().url})`)));
  await page.goto(url);
  return page;
}

// Signs in on the sign-in page `page` was sent to.
export async function signInAs(page, name, password) {
  await page.waitForSelector('#login:not([hidden])');
  await page.fill('#username', name);
  await page.fill('#password', password);
  await page.click('#submit');
}
