// verify.mjs - browser test of the verify page (gateway/portal/verify.html): a real bundle
// says valid with the registry's status; with the network cut after the page loaded it is
// still valid (status not checked) and a bundle with one byte flipped says tampered; a
// revoked certificate says revoked once online again; a presentation and a QR picture of a
// bundle are read too; every input is labelled and a 360 px wide screen needs no sideways
// scrolling. Run by tests/browser/run.mjs (fixture from tests/integration/portal.sh).

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(path.join(path.dirname(fileURLToPath(import.meta.url)), '../js/package.json'));

/* Gives the page a file and waits for its verdict; returns {verdict, status, text}. */
async function verdictFor(page, file) {
  await page.evaluate(() => document.getElementById('result').removeAttribute('data-verdict'));
  await page.setInputFiles('#doc', file);
  await page.waitForFunction(() => document.getElementById('result').dataset.verdict, null, { timeout: 20000 });
  return page.evaluate(() => {
    const r = document.getElementById('result');
    const s = r.querySelector('[data-status]');
    return { verdict: r.dataset.verdict, status: s ? s.dataset.status : null, text: r.innerText };
  });
}

export async function run({ browser, baseUrl, artifacts, fixture, log, assert }) {
  const context = await browser.newContext({ viewport: { width: 360, height: 800 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // the gateway's Content-Security-Policy blocks inline scripts and styles: none may be used
  page.on('console', (m) => m.type() === 'error' && /Content Security Policy/.test(m.text()) && errors.push(m.text()));
  try {
    await page.goto(`${baseUrl}/verify.html`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 20000 });
    const trust = await page.textContent('#genesis-state');
    assert.match(trust, new RegExp(`Main chain ${fixture.main_chain_id}, genesis ${fixture.main_genesis_hash.slice(0, 16)}`), trust);
    log('the genesis came from the gateway: ' + trust.trim());
    // the clerk may load the published genesis.yaml instead: the same hash
    await page.setInputFiles('#genesis-file', fixture.main_genesis);
    await page.waitForFunction(() => /loaded from a file/.test(document.getElementById('genesis-state').textContent), null, { timeout: 10000 });
    assert.match(await page.textContent('#genesis-state'), new RegExp(fixture.main_genesis_hash.slice(0, 16)));
    log('the genesis.yaml file gives the same genesis hash');

    // every form control is labelled; nothing is wider than a 360 px screen
    const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, button, textarea, select')].filter((e) => !(e.labels?.length || e.getAttribute('aria-label') || e.textContent.trim())).map((e) => e.id || e.outerHTML));
    assert.deepEqual(unlabelled, [], 'controls without a label');
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 360), 'the page scrolls sideways at 360 px');
    await page.screenshot({ path: path.join(artifacts, 'verify-loaded.png'), fullPage: true });

    let r = await verdictFor(page, fixture.bundle);
    assert.equal(r.verdict, 'valid', r.text);
    assert.match(r.text, /Valid certificate/);
    // the registry's status list, verified; or, while the gateway has none anchored to
    // give, its report that nothing is wrong is not taken as proof: status not checked
    assert.ok(['registry', 'unchecked'].includes(r.status), r.text);
    assert.match(r.text, new RegExp(fixture.holder));
    assert.match(r.text, new RegExp(fixture.org_code));
    await page.screenshot({ path: path.join(artifacts, 'verify-valid-online.png'), fullPage: true });
    log(`a real bundle: valid, status ${r.status === 'registry' ? 'checked with the registry' : 'not proven online (the gateway had no anchored status list)'}`);

    await context.setOffline(true);
    r = await verdictFor(page, fixture.bundle);
    assert.equal(r.verdict, 'valid', r.text);
    assert.equal(r.status, 'unchecked', r.text);
    assert.match(r.text, /Status not checked \(offline\)/);
    await page.screenshot({ path: path.join(artifacts, 'verify-valid-offline.png'), fullPage: true });
    log('offline: still valid, status not checked');

    const bytes = fs.readFileSync(fixture.bundle);
    for (const at of [Math.floor(bytes.length / 2), bytes.length - 1, 40]) {
      const bad = Buffer.from(bytes);
      bad[at] ^= 0x01;
      r = await verdictFor(page, { name: 'altered.bundle', mimeType: 'application/octet-stream', buffer: bad });
      assert.equal(r.verdict, 'tampered', `byte ${at}: ${r.text}`);
      assert.match(r.text, /Tampered — this document has been altered or is not from the registry/);
    }
    await page.screenshot({ path: path.join(artifacts, 'verify-tampered-offline.png'), fullPage: true });
    log('offline: a bundle with one byte flipped says tampered');

    r = await verdictFor(page, fixture.presentation);
    assert.equal(r.verdict, 'valid', r.text);
    assert.equal(r.status, 'holder', r.text);
    assert.match(r.text, new RegExp(`name\\s*${fixture.fields.name}`));
    await page.screenshot({ path: path.join(artifacts, 'verify-presentation-offline.png'), fullPage: true });
    log('offline: a presentation is valid with the status list the holder brought');

    // offline, a status list the clerk loaded (ecert status-list fetch) tells the revoked one
    await page.click('details summary');
    await page.setInputFiles('#slist', fixture.status_list);
    await page.waitForFunction(() => /Status list loaded/.test(document.getElementById('result').textContent), null, { timeout: 10000 });
    r = await verdictFor(page, fixture.revoked_bundle);
    assert.equal(r.verdict, 'revoked', r.text);
    assert.equal(r.status, 'file', r.text);
    r = await verdictFor(page, fixture.bundle);
    assert.equal(r.verdict, 'valid', r.text);
    assert.equal(r.status, 'file', r.text);
    await page.screenshot({ path: path.join(artifacts, 'verify-revoked-offline-list.png'), fullPage: true });
    log('offline: with the status list the clerk loaded, revoked says revoked and valid stays valid');

    await context.setOffline(false);
    await page.reload(); // forgets the loaded status list; the genesis stays in localStorage
    await page.waitForSelector('body[data-ready="true"]', { timeout: 20000 });
    assert.match(await page.textContent('#genesis-state'), /loaded from a file/);
    r = await verdictFor(page, fixture.revoked_bundle);
    assert.equal(r.verdict, 'revoked', r.text);
    assert.match(r.text, /Revoked — this certificate was revoked by its issuer/);
    assert.ok(['registry', 'reported'].includes(r.status), r.text);
    await page.screenshot({ path: path.join(artifacts, 'verify-revoked.png'), fullPage: true });
    log('online: a revoked certificate says revoked');

    r = await verdictFor(page, fixture.bundle_qr);
    assert.equal(r.verdict, 'valid', r.text);
    log('a QR code picture (ecert cert proof --qr) reads and verifies');
    assert.deepEqual(errors, [], 'errors in the page');
    await cameraScan(page, { baseUrl, artifacts, fixture, log, assert });
  } finally {
    await context.close();
  }
}

/*
 * The camera: Chromium's fake capture device plays a video of the QR picture (made here:
 * the PNG decoded by the page's own canvas, written as one YUV4MPEG2 frame), and the page
 * scans it after a click on "Scan a QR code with the camera".
 */
async function cameraScan(page, { baseUrl, artifacts, fixture, log, assert }) {
  const png = fs.readFileSync(fixture.bundle_qr).toString('base64');
  const gray = await page.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const w = img.width + (img.width % 2), h = img.height + (img.height % 2);
    const c = document.createElement('canvas');
    c.width = w;
    c.height = h;
    const ctx = c.getContext('2d');
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, w, h);
    ctx.drawImage(img, 0, 0);
    const d = ctx.getImageData(0, 0, w, h).data;
    const y = new Array(w * h);
    for (let i = 0; i < w * h; i++) y[i] = d[4 * i];
    return { w, h, y };
  }, png);
  const video = path.join(fixture.work, 'qr.y4m');
  const frame = Buffer.concat([Buffer.from('FRAME\n'), Buffer.from(gray.y), Buffer.alloc(gray.w * gray.h / 2, 128)]);
  fs.writeFileSync(video, Buffer.concat([Buffer.from(`YUV4MPEG2 W${gray.w} H${gray.h} F10:1 Ip A1:1 C420jpeg\n`), frame]));
  const { chromium } = require('playwright-core');
  const browser = await chromium.launch({
    executablePath: process.env.ECERT_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${video}`],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 360, height: 800 } });
    await context.grantPermissions(['camera'], { origin: baseUrl });
    const cam = await context.newPage();
    await cam.goto(`${baseUrl}/verify.html`);
    await cam.waitForSelector('body[data-ready="true"]', { timeout: 20000 });
    await cam.click('#scan');
    await cam.waitForFunction(() => document.getElementById('result').dataset.verdict, null, { timeout: 20000 });
    const text = await cam.innerText('#result');
    assert.equal(await cam.evaluate(() => document.getElementById('result').dataset.verdict), 'valid', text);
    assert.match(text, /from the camera/);
    assert.ok(await cam.evaluate(() => document.getElementById('video').hidden), 'the camera was not released');
    await cam.screenshot({ path: path.join(artifacts, 'verify-camera.png'), fullPage: true });
    log('the camera (a fake device playing the QR code) scans and verifies');
  } finally {
    await browser.close();
  }
}
