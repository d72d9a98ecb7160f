// tests/browser/supervisor.mjs: the supervisor dashboard (gateway/portal/supervisor.html)
// in Chromium.
//
// Run by tests/browser/run.mjs after tests/integration/portal.sh issued a certificate
// and recorded an inspection. Checks that the anchoring-lag table lists every side chain
// of /api/v1/anchors with a number, that the consensus table lists every chain, that the
// usage form (sent with Enter) shows the fixture's inspection for the inspecting
// organization, and that the audit search shows the certificate's history. Screenshots
// at desktop and phone sizes go to ctx.artifacts; at 360x740 the page must not scroll
// sideways.
//
// Fixture keys: cert_id, cert_type and inspect_org are required; inspect_tx is checked
// when present.

import assert from 'node:assert/strict';
import path from 'node:path';

const TIMEOUT_MS = 15000;

export async function run(ctx) {
    const f = ctx.fixture || {};
    for (const k of ['cert_id', 'cert_type', 'inspect_org']) {
        assert.ok(typeof f[k] === 'string' && f[k] !== '', `fixture lacks "${k}"`);
    }
    const base = ctx.baseUrl.replace(/\/$/, '');
    const errors = [];
    const shot = async (page, name) => {
        const file = path.join(ctx.artifacts, `${name}.png`);
        await page.screenshot({ path: file, fullPage: true });
        ctx.log(`screenshot ${file}`);
    };

    const desk = await ctx.browser.newContext({ viewport: { width: 1280, height: 900 } });
    desk.setDefaultTimeout(TIMEOUT_MS);
    try {
        const page = await desk.newPage();
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto(`${base}/supervisor.html`);

        // Anchoring lag: one row per side chain, each with a lag number both ways.
        await page.locator('#lag-table tbody tr').first().waitFor();
        const anchors = await (await page.request.get(`${base}/api/v1/anchors`)).json();
        assert.ok(anchors.sides.length >= 1, 'the gateway has side chains');
        assert.equal(await page.locator('#lag-table tbody tr').count(), anchors.sides.length, 'a row per side chain');
        for (const s of anchors.sides) {
            const lags = page.locator(`#lag-table .lag[data-chain="${s.name}"]`);
            assert.equal(await lags.count(), 2, `both lags of ${s.name}`);
            for (const t of await lags.allInnerTexts()) assert.match(t.trim(), /^[0-9][0-9,]*$/, `lag of ${s.name}`);
        }
        const chains = await (await page.request.get(`${base}/api/v1/chains`)).json();
        assert.equal(await page.locator('#consensus-table tbody tr').count(), chains.chains.length, 'a row per chain');
        await page.locator('#rates-table tbody tr').first().waitFor();

        // Usage: the inspecting organization's inspection of the fixture's certificate.
        await page.locator(`#usage-chain option[value="${f.cert_type}"]`).waitFor({ state: 'attached' });
        await page.selectOption('#usage-chain', f.cert_type);
        await page.fill('#usage-orgs', f.inspect_org);
        await page.focus('#usage-orgs');
        await page.keyboard.press('Enter');
        const count = page.locator(`#usage-summary .count[data-org="${f.inspect_org}"][data-chain="${f.cert_type}"]`);
        await count.waitFor();
        assert.ok(Number((await count.innerText()).replace(/,/g, '')) >= 1, 'at least one inspection counted');
        await page.locator(`#usage-detail a[href$="/cert/${f.cert_id}"]`).first().waitFor();
        if (f.inspect_tx) await page.locator(`#usage-detail a[href$="/tx/${f.inspect_tx}"]`).waitFor();

        // Audit: the certificate's public history.
        await page.fill('#audit-q', f.cert_id);
        await page.focus('#audit-q');
        await page.keyboard.press('Enter');
        await page.locator('#audit-history tbody tr').first().waitFor();
        assert.match(await page.locator('#audit-history tbody tr').first().innerText(), /ISSUE/, 'the audit starts at the ISSUE');
        if (f.inspect_tx) await page.locator(`#audit-inspections a[href$="/tx/${f.inspect_tx}"]`).waitFor();
        await shot(page, 'supervisor-desktop');

        const phone = await ctx.browser.newContext({ viewport: { width: 360, height: 740 },
            deviceScaleFactor: 2, isMobile: true, hasTouch: true });
        phone.setDefaultTimeout(TIMEOUT_MS);
        try {
            const p = await phone.newPage();
            p.on('pageerror', (e) => errors.push(e.message));
            await p.goto(`${base}/supervisor.html?org=${encodeURIComponent(f.inspect_org)}`);
            await p.locator('#lag-table tbody tr').first().waitFor();
            await p.locator('#usage-summary').waitFor();
            // Not window.innerWidth: with isMobile, Chromium widens the layout viewport to
            // the content.
            const sw = await p.evaluate(() => document.documentElement.scrollWidth);
            assert.ok(sw <= 360, `the dashboard scrolls sideways at 360 px (${sw} px wide)`);
            await shot(p, 'supervisor-phone');
        } finally {
            await phone.close();
        }
        assert.deepEqual(errors, [], 'no script errors on the page');
        ctx.log(`supervisor: ${anchors.sides.length} side chains with their lag; usage of ${f.inspect_org} shown`);
    } finally {
        await desk.close();
    }
}
