// holder.mjs - browser test of the holder page (gateway/portal/holder.html): a wrong
// passphrase is refused; the key file opens with the right one and shows the holder's
// address; the certificate is listed and decrypted in the browser; the page answers a
// request made with `ecert verifier request`; the QR code it shows decodes to exactly the
// file it offers, and `ecert verify-presentation` accepts that file. Closing the key wipes
// it. Run by tests/browser/run.mjs (fixture from tests/integration/portal.sh).

import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

export async function run({ browser, baseUrl, artifacts, fixture, log, assert }) {
  const context = await browser.newContext({ viewport: { width: 360, height: 800 }, acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // the gateway's Content-Security-Policy blocks inline scripts and styles: none may be used
  page.on('console', (m) => m.type() === 'error' && /Content Security Policy/.test(m.text()) && errors.push(m.text()));
  try {
    await page.goto(`${baseUrl}/holder.html`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 20000 });
    const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, textarea')].filter((e) => !(e.labels?.length || e.getAttribute('aria-label'))).map((e) => e.id));
    assert.deepEqual(unlabelled, [], 'inputs without a label');
    await page.screenshot({ path: path.join(artifacts, 'holder-loaded.png'), fullPage: true });

    await page.setInputFiles('#key-file', fixture.key_file);
    await page.fill('#passphrase', fixture.passphrase + 'wrong');
    await page.click('#open');
    await page.waitForSelector('#key-state .error', { timeout: 30000 });
    assert.match(await page.textContent('#key-state'), /Wrong passphrase/);
    log('a wrong passphrase is refused');

    await page.fill('#passphrase', fixture.passphrase);
    await page.click('#open');
    await page.waitForSelector('#address', { timeout: 30000 });
    assert.equal(await page.textContent('#address'), fixture.holder);
    assert.equal(await page.inputValue('#passphrase'), '', 'the passphrase stays in the form');
    log('the key file opened in the browser: ' + fixture.holder);

    await page.waitForSelector('body[data-certs]', { timeout: 30000 });
    const card = page.locator(`li[data-cert="${fixture.cert_id}"]`);
    const text = await card.innerText();
    assert.match(text, new RegExp(`name\\s*${fixture.fields.name}`), text);
    assert.match(text, new RegExp(`degree\\s*${fixture.fields.degree}`), text);
    const revoked = await page.locator(`li[data-cert="${fixture.revoked_cert}"]`).innerText();
    assert.match(revoked, /revoked/, revoked);
    await page.screenshot({ path: path.join(artifacts, 'holder-certificates.png'), fullPage: true });
    log('the certificates are listed and decrypted');

    await card.getByRole('button', { name: 'Answer a verifier with this certificate' }).click();
    await page.setInputFiles('#req-file', fixture.request);
    await page.waitForSelector('#present-form:not([hidden])', { timeout: 20000 });
    const req = await page.textContent('#request');
    assert.match(req, new RegExp(fixture.verifier));
    assert.match(req, /inspection agency/, req);
    await page.click('#build');
    await page.waitForSelector('#answer-ready', { timeout: 30000 });
    await page.screenshot({ path: path.join(artifacts, 'holder-presentation.png'), fullPage: true });

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#answer-ready a[download]')]);
    const file = path.join(fixture.work, 'portal-presentation.bin');
    await download.saveAs(file);
    const bytes = fs.readFileSync(file);
    const fromQr = await page.evaluate(() => {
      const c = document.querySelector('#answer-ready canvas');
      if (!c) return null;
      const img = c.getContext('2d').getImageData(0, 0, c.width, c.height);
      const code = window.jsQR(img.data, img.width, img.height);
      return code ? Array.from(code.binaryData) : null;
    });
    assert.ok(fromQr, 'the page shows no readable QR code');
    assert.ok(Buffer.from(fromQr).equals(bytes), 'the QR code does not hold the downloaded answer');
    log(`the answer (${bytes.length} bytes) is a QR code and a download, the same bytes`);

    const out = execFileSync(fixture.ecert, ['verify-presentation', '--in', file, '--request', fixture.request, '--main-genesis', fixture.main_genesis], { env: { ...process.env, ECERT_CONFIG: fixture.ecert_config }, encoding: 'utf8' });
    // exit 0 (execFileSync throws otherwise); the status line depends on whether the gateway
    // had an anchored status list to put in the answer
    assert.match(out, /presentation verifies: it answers your request, signed by the holder/, out);
    assert.match(out, /status\s+(valid|not checked)/, out);
    assert.match(out, new RegExp(`name: ${fixture.fields.name}`), out);
    assert.doesNotMatch(out, /major|graduated/, 'an undisclosed field was shown');
    log('ecert verify-presentation accepts the page\'s answer');

    await page.click('#close');
    assert.match(await page.textContent('#key-state'), /wiped/);
    assert.deepEqual(errors, [], 'errors in the page');
  } finally {
    await context.close();
  }
}
