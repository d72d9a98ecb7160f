// tests/browser/explorer.mjs: the explorer (gateway/portal/explorer.html) in Chromium.
//
// Run by tests/browser/run.mjs against a devnet and a gateway on which
// tests/integration/portal.sh issued and inspected a certificate. It checks that the chain
// list follows the chains' header events without a reload, then finds that
// certificate with the search box (typed after reaching the box with Tab, sent with
// Enter), checks the certificate page (status, issuing organization, holder, history,
// inspections), opens the ISSUE transaction from the history and checks that no byte of
// its sealed payload is on the page (only its size), opens the block, goes Back, and at
// a 360x740 viewport checks that no page scrolls sideways. Screenshots of each page, at
// desktop and phone sizes, go to ctx.artifacts.
//
// Fixture keys: cert_id, cert_type, org_code (the issuing organization) are required;
// holder, inspect_tx and cert_status are checked when present.

import assert from 'node:assert/strict';
import path from 'node:path';

const STATUSES = ['issued', 'acknowledged', 'suspended', 'revoked', 'cancelled'];
const TIMEOUT_MS = 15000;

function s_need(fixture, keys) {
    for (const k of keys) {
        assert.ok(fixture && typeof fixture[k] === 'string' && fixture[k] !== '', `fixture lacks "${k}"`);
    }
    return fixture;
}

async function s_shot(ctx, page, name) {
    const file = path.join(ctx.artifacts, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    ctx.log(`screenshot ${file}`);
}

const PHONE = { width: 360, height: 740 };

/** Fails when the document is wider than the phone's screen (a sideways scroll). Not
 *  window.innerWidth: with isMobile, Chromium widens the layout viewport to the content. */
async function s_noSideScroll(page, what) {
    const sw = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(sw <= PHONE.width, `${what}: the page scrolls sideways at ${PHONE.width} px (${sw} px wide)`);
}

export async function run(ctx) {
    const f = s_need(ctx.fixture, ['cert_id', 'cert_type', 'org_code']);
    const base = ctx.baseUrl.replace(/\/$/, '');
    const certHash = `#/chain/${encodeURIComponent(f.cert_type)}/cert/${f.cert_id}`;
    const txHash = `#/chain/${encodeURIComponent(f.cert_type)}/tx/${f.cert_id}`;
    const errors = [];

    const desk = await ctx.browser.newContext({ viewport: { width: 1280, height: 900 } });
    desk.setDefaultTimeout(TIMEOUT_MS);
    try {
        const page = await desk.newPage();
        page.on('pageerror', (e) => errors.push(e.message));

        // The chain list: every chain the gateway knows, the certificate's among them.
        await page.goto(`${base}/explorer.html`);
        await page.locator('#chains tbody tr').first().waitFor();
        const chains = await (await page.request.get(`${base}/api/v1/chains`)).json();
        assert.equal(await page.locator('#chains tbody tr').count(), chains.chains.length,
            'the explorer lists every chain');
        await page.locator(`#chains a[href="#/chain/${f.cert_type}"]`).waitFor();
        await s_shot(ctx, page, 'explorer-chains-desktop');

        // Live: the list follows the chain's header events without a reload (the chains
        // of a devnet make a block at least every few seconds, empty or not).
        const heightOf = (type) => {
            const link = document.querySelector(`#chains a[href="#/chain/${type}"]`);
            const cell = link?.closest('tr')?.children[1];
            return cell ? Number(cell.textContent.replace(/,/g, '')) : NaN;
        };
        const before = await page.evaluate(heightOf, f.cert_type);
        assert.ok(before > 0, `the height of ${f.cert_type} is shown`);
        await page.waitForFunction(([type, h]) => {
            const link = document.querySelector(`#chains a[href="#/chain/${type}"]`);
            const cell = link?.closest('tr')?.children[1];
            return cell && Number(cell.textContent.replace(/,/g, '')) > h;
        }, [f.cert_type, before], { timeout: 30000 });

        // Keyboard only: Tab to the search box, type the id, Enter.
        let focused = '';
        for (let i = 0; i < 15 && focused !== 'search-q'; i++) {
            await page.keyboard.press('Tab');
            focused = await page.evaluate(() => document.activeElement?.id || '');
        }
        assert.equal(focused, 'search-q', 'Tab reaches the search box');
        await page.keyboard.type(f.cert_id);
        await page.keyboard.press('Enter');
        await page.waitForFunction((h) => location.hash === h, certHash);
        const status = page.locator('#cert-status');
        await status.waitFor();
        const statusText = (await status.innerText()).trim();
        if (f.cert_status) assert.ok(statusText.startsWith(f.cert_status), `status "${statusText}"`);
        else assert.ok(STATUSES.some((s) => statusText.startsWith(s)), `status "${statusText}"`);
        assert.equal((await page.locator('#cert-org').innerText()).trim(), f.org_code, 'issuing organization');
        if (f.holder) assert.equal((await page.locator('#cert-holder').innerText()).trim(), f.holder, 'holder');
        const issueRow = page.locator('#history tbody tr').first();
        assert.match(await issueRow.innerText(), /ISSUE/, 'the history starts with the ISSUE');
        if (f.inspect_tx) {
            await page.locator(`#inspections a[href$="/tx/${f.inspect_tx}"]`).waitFor();
        }
        assert.ok(await page.getByText(/sealed data: \d+ bytes/).count() >= 1, 'the contents are said to be sealed');
        await s_shot(ctx, page, 'explorer-certificate-desktop');

        // The ISSUE transaction, from the history: its body decoded, its payload a size.
        await issueRow.locator(`a[href="${txHash}"]`).click();
        await page.waitForFunction((h) => location.hash === h, txHash);
        await page.getByText(/sealed data: \d+ bytes/).first().waitFor();
        assert.match(await page.locator('main').innerText(), /ISSUE \(1\)/, 'the type is named');
        const tx = await (await page.request.get(`${base}/api/v1/chains/${f.cert_type}/txs/${f.cert_id}`)).json();
        assert.ok(typeof tx.payload === 'string' && tx.payload.length > 64, 'the ISSUE has a payload');
        const html = await page.content();
        const hex = Buffer.from(tx.payload, 'base64').toString('hex');
        for (let i = 0; i + 16 <= tx.payload.length; i += 16) {
            assert.ok(!html.includes(tx.payload.slice(i, i + 16)), 'a piece of the payload (base64) is on the page');
        }
        for (let i = 0; i + 16 <= hex.length; i += 16) {
            assert.ok(!html.includes(hex.slice(i, i + 16)), 'a piece of the payload (hex) is on the page');
        }
        await s_shot(ctx, page, 'explorer-transaction-desktop');

        // Its block lists it; Back returns to the transaction.
        await page.locator(`main dd a[href="#/chain/${f.cert_type}/block/${tx.height}"]`).first().click();
        await page.locator(`#txs a[href="${txHash}"]`).waitFor();
        await s_shot(ctx, page, 'explorer-block-desktop');
        await page.goBack();
        await page.waitForFunction((h) => location.hash === h, txHash);
        await page.getByText(/sealed data: \d+ bytes/).first().waitFor();

        // Phone size: no page scrolls sideways.
        const phone = await ctx.browser.newContext({ viewport: PHONE,
            deviceScaleFactor: 2, isMobile: true, hasTouch: true });
        phone.setDefaultTimeout(TIMEOUT_MS);
        try {
            const p = await phone.newPage();
            p.on('pageerror', (e) => errors.push(e.message));
            const views = [
                ['chains', '#/', '#chains tbody tr'],
                ['certificate', certHash, '#cert-status'],
                ['transaction', txHash, 'main dl.body'],
                ['block', `#/chain/${f.cert_type}/block/${tx.height}`, '#txs'],
            ];
            for (const [name, hash, sel] of views) {
                await p.goto(`${base}/explorer.html${hash}`);
                await p.locator(sel).first().waitFor();
                await s_noSideScroll(p, `explorer ${name}`);
                await s_shot(ctx, p, `explorer-${name}-phone`);
            }
        } finally {
            await phone.close();
        }
        assert.deepEqual(errors, [], 'no script errors on the pages');
        ctx.log(`explorer: certificate ${f.cert_id.slice(0, 12)}… found, status ${statusText}`);
    } finally {
        await desk.close();
    }
}
