// run.mjs - runs the portal's browser tests: Debian's Chromium, headless, driven by
// playwright-core (tests/js/node_modules), against a running ecert-gateway.
//
// Usage: node tests/browser/run.mjs FIXTURE.json TEST.mjs...
// FIXTURE.json is written by tests/integration/portal.sh: {base_url, artifacts, ...: cert
// ids, addresses, file paths, passphrase}. Each test module exports `async function
// run(ctx)` with ctx = {browser, baseUrl, artifacts, fixture, log(msg), assert}; a module
// passes when run() returns, fails when it throws. Prints "N passed, M failed" and exits 1
// on any failure. Screenshots go to ctx.artifacts.

import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../js/package.json'));
const { chromium } = require('playwright-core');

const [fixturePath, ...tests] = process.argv.slice(2);
if (!fixturePath || tests.length === 0) {
  console.error('usage: node tests/browser/run.mjs FIXTURE.json TEST.mjs...');
  process.exit(2);
}
const fixture = JSON.parse(fs.readFileSync(fixturePath, 'utf8'));
const artifacts = fixture.artifacts || fs.mkdtempSync('/tmp/ecert-portal-artifacts-');
fs.mkdirSync(artifacts, { recursive: true });

// Without the background-networking flags Chromium opens connections of its own, which
// this machine's closed network refuses (and which slow every start).
const browser = await chromium.launch({
  executablePath: process.env.ECERT_CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

let passed = 0, failed = 0;
try {
  for (const t of tests) {
    const name = path.basename(t, '.mjs');
    const started = Date.now();
    const log = (msg) => console.log(`[${name} ${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
    try {
      const mod = await import(pathToFileURL(path.resolve(t)).href);
      await mod.run({ browser, baseUrl: fixture.base_url, artifacts, fixture, log, assert });
      passed++;
      log('PASS');
    } catch (e) {
      failed++;
      log(`FAIL: ${e.stack || e}`);
    }
  }
} finally {
  await browser.close();
}
console.log(`screenshots in ${artifacts}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
