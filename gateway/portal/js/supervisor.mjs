// supervisor.mjs: the supervisor dashboard (supervisor.html).
//
// Five panels over the gateway's public API (docs/GATEWAY.md): anchoring lag both ways
// (/anchors), validators and consensus rounds (/chains), transaction rates (computed here
// from block headers: the latest 100 of each chain when the page opens, then each header
// event), inspections per organization (/chains/{c}/usage) and an audit search (a
// certificate's whole public history, or an account's roles and certificates). Numbers
// are shown raw. Events are a wake-up only: the panels fetch again, at most every two
// seconds, and every 15 s without events too. Everything from the network goes in as
// text (explorer-dom.mjs).

import { apiGet, apiPost, apiPath, apiEvents, isNotFound } from './api.mjs';
import {
    el, replace, replaceKeepFocus, dl, table, hexCode, hexLink, timeNode, fmtAge, fmtInt, fmtTime, errorBox,
    STEP_NAMES, HEX64_RE, ADDRESS_RE, SIDE_TYPE_NAMES,
} from './explorer-dom.mjs';

const RATE_WINDOW_MS = 60000;
const RATE_KEEP_MS = 600000;
const RATE_KEEP_BLOCKS = 2000;
const USAGE_PAGES_MAX = 20;       // 20 pages of 1000 inspections per organization and chain
const USAGE_ROWS_SHOWN = 500;
const HISTORY_PAGES_MAX = 20;     // 20,000 history entries
const AUDIT_TX_DETAILS_MAX = 100; // history entries whose transaction is fetched for its sender
const HOLDER_PAGES_MAX = 10;

const $ = (id) => document.getElementById(id);

/** Explorer links (the explorer's own route format, every piece escaped). */
const ex = {
    chain: (c) => `explorer.html#/chain/${encodeURIComponent(c)}`,
    block: (c, h) => `explorer.html#/chain/${encodeURIComponent(c)}/block/${h}`,
    tx: (c, id) => `explorer.html#/chain/${encodeURIComponent(c)}/tx/${encodeURIComponent(id)}`,
    cert: (c, id) => `explorer.html#/chain/${encodeURIComponent(c)}/cert/${encodeURIComponent(id)}`,
    account: (a) => `explorer.html#/account/${encodeURIComponent(a)}`,
    validators: (c) => `explorer.html#/chain/${encodeURIComponent(c)}/validators`,
};

let chains = [];

/** Calls `fn` at most once per `ms`. */
function s_throttle(fn, ms) {
    let timer = null;
    let last = 0;
    return () => {
        if (timer) return;
        timer = setTimeout(() => {
            timer = null;
            last = Date.now();
            fn();
        }, Math.max(0, last + ms - Date.now()));
    };
}

function s_stamp() {
    return el('p', { class: 'muted stamp' }, `Read ${fmtTime(Date.now())}.`);
}

/* ---------- anchoring lag and consensus ---------- */

async function s_refreshStatus() {
    let anchors;
    try {
        const [c, a] = await Promise.all([apiGet('chains'), apiGet('anchors')]);
        chains = Array.isArray(c.chains) ? c.chains.filter((x) => x && typeof x.name === 'string') : [];
        anchors = a;
    } catch (err) {
        replace($('lag'), errorBox(err, 'Cannot read the anchoring state'));
        return;
    }
    const sides = Array.isArray(anchors.sides) ? anchors.sides : [];
    const lagRows = sides.map((s) => [
        el('a', { href: ex.chain(s.name) }, s.name),
        fmtInt(s.height),
        el('a', { href: ex.block(s.name, s.anchored_height) }, fmtInt(s.anchored_height)),
        el('span', { class: `lag${s.lag_blocks > 0 ? ' behind' : ''}`, 'data-chain': s.name }, fmtInt(s.lag_blocks)),
        s.frozen ? el('strong', { class: 'bad' }, 'yes') : 'no',
        el('a', { href: ex.block('main', s.mirrored_main_height) }, fmtInt(s.mirrored_main_height)),
        el('span', { class: 'lag', 'data-chain': s.name, 'data-direction': 'main-to-side' }, fmtInt(s.main_lag_blocks)),
    ]);
    replaceKeepFocus($('lag'),
        el('p', null, 'Main chain height: ', el('strong', { id: 'main-height' }, fmtInt(anchors.main_height))),
        table('Anchoring lag per side chain, in blocks',
            ['Side chain', 'Height', 'Anchored in main', 'Side-to-main lag', 'Frozen',
                'Mirrored main height', 'Main-to-side lag'], lagRows,
            { numeric: [1, 2, 3, 5, 6], id: 'lag-table', empty: 'No side chains.' }),
        s_stamp());
    const now = Date.now();
    const consRows = chains.map((c) => (c.error
        ? [c.name, el('span', { class: 'bad' }, `${c.error.name || 'error'}: ${c.error.message || ''}`), '', '', '', '', '', '', '']
        : [
            el('a', { href: ex.chain(c.name) }, c.name),
            fmtInt(c.height),
            el('span', { title: fmtTime(c.tip_time_ms) }, fmtAge(c.tip_time_ms, now)),
            fmtInt(c.round),
            STEP_NAMES[c.step] ?? String(c.step),
            el('a', { href: ex.validators(c.name) }, fmtInt(c.validators)),
            c.validator === null || c.validator === undefined ? 'not a validator' : fmtInt(c.validator),
            fmtInt(c.peers),
            fmtInt(c.mempool),
        ]));
    replaceKeepFocus($('consensus'),
        table('Validators and consensus per chain (as the node the gateway asks sees it)',
            ['Chain', 'Height', 'Tip age', 'Round', 'Step', 'Validators', 'Node\u2019s index', 'Peers', 'Mempool'],
            consRows, { numeric: [1, 3, 5, 7, 8], id: 'consensus-table' }),
        s_stamp());
    s_fillChainSelect();
}

function s_fillChainSelect() {
    const sel = $('usage-chain');
    const have = new Set([...sel.options].map((o) => o.value));
    for (const c of chains) {
        if (c.error || c.kind !== 'side' || have.has(c.name)) continue;
        sel.append(el('option', { value: c.name }, c.name));
    }
}

/* ---------- transaction rates ---------- */

/** chain name -> Map(height -> {time_ms, tx_count}) */
const blocks = new Map();
/** chain name -> {blocks, txs} counted from header events since the page opened */
const sinceOpen = new Map();
const openedAt = Date.now();

function s_noteHeader(chain, h) {
    if (typeof chain !== 'string' || !Number.isFinite(h.height) || !Number.isFinite(h.time_ms)) return;
    let m = blocks.get(chain);
    if (!m) blocks.set(chain, (m = new Map()));
    m.set(h.height, { time_ms: h.time_ms, tx_count: Number.isFinite(h.tx_count) ? h.tx_count : 0 });
    if (m.size > RATE_KEEP_BLOCKS) {
        const drop = [...m.keys()].sort((a, b) => a - b).slice(0, m.size - RATE_KEEP_BLOCKS);
        for (const k of drop) m.delete(k);
    }
}

async function s_seedRates() {
    await Promise.all(chains.filter((c) => !c.error).map(async (c) => {
        try {
            const r = await apiGet(apiPath('chains', c.name, 'headers'), { count: 100 });
            for (const h of Array.isArray(r.headers) ? r.headers : []) s_noteHeader(c.name, h);
        } catch {
            // A chain that does not answer shows no rate; the consensus panel says why.
        }
    }));
}

function s_renderRates() {
    const now = Date.now();
    const rows = [];
    for (const c of chains) {
        if (c.error) continue;
        const m = blocks.get(c.name) || new Map();
        let nb = 0;
        let nt = 0;
        for (const [height, b] of m) {
            if (now - b.time_ms > RATE_KEEP_MS) m.delete(height);
            else if (now - b.time_ms <= RATE_WINDOW_MS) {
                nb += 1;
                nt += b.tx_count;
            }
        }
        const so = sinceOpen.get(c.name) || { blocks: 0, txs: 0 };
        rows.push([
            el('a', { href: ex.chain(c.name) }, c.name),
            fmtInt(nb),
            fmtInt(nt),
            (nt / (RATE_WINDOW_MS / 1000)).toFixed(2),
            fmtInt(so.blocks),
            fmtInt(so.txs),
        ]);
    }
    replaceKeepFocus($('rates'),
        table('Transactions per chain', ['Chain', 'Blocks (1 min)', 'Transactions (1 min)',
            'Per second (1 min)', 'Blocks since opened', 'Transactions since opened'],
        rows, { numeric: [1, 2, 3, 4, 5], id: 'rates-table' }),
        el('p', { class: 'muted stamp' }, `Page opened ${fmtAge(openedAt, now)}; block times by the chains\u2019 clocks.`));
}

/* ---------- usage ---------- */

function s_pad(n) {
    return String(n).padStart(2, '0');
}

/** A datetime-local value for a time (the browser's zone). */
function s_localValue(ms) {
    const d = new Date(ms);
    return `${d.getFullYear()}-${s_pad(d.getMonth() + 1)}-${s_pad(d.getDate())}T${s_pad(d.getHours())}:${s_pad(d.getMinutes())}:${s_pad(d.getSeconds())}`;
}

/** The inspections of one answer: the gateway names the list; take the first array. */
function s_usageList(r) {
    if (Array.isArray(r)) return r;
    if (r && Array.isArray(r.usage)) return r.usage;
    if (r && Array.isArray(r.inspections)) return r.inspections;
    for (const v of Object.values(r || {})) if (Array.isArray(v)) return v;
    return [];
}

/** Converts a generic-query usage row [time_ms, height, {hex}, {hex}, verdict] to names. */
function s_usageRow(x) {
    if (!Array.isArray(x)) return x;
    return { time_ms: x[0], height: x[1], tx_id: x[2]?.hex, cert_id: x[3]?.hex, verdict: x[4] };
}

/** Every inspection of `org` on `chain` in [from, to): the named endpoint's first page,
 *  then the generic query's `after` paging while pages come back full. */
async function s_usage(chain, org, fromMs, toMs) {
    const first = s_usageList(await apiGet(apiPath('chains', chain, 'usage'), { org, from_ms: fromMs, to_ms: toMs }))
        .map(s_usageRow);
    const all = [...first];
    let page = first;
    for (let i = 1; i < USAGE_PAGES_MAX && page.length >= 1000; i++) {
        const last = page[page.length - 1];
        const r = await apiPost(apiPath('chains', chain, 'query', 'usage'),
            { args: [org, fromMs, toMs, [last.time_ms, last.height, { hex: last.tx_id }]] });
        page = (Array.isArray(r.result) ? r.result : []).map(s_usageRow);
        all.push(...page);
    }
    return { list: all, truncated: page.length >= 1000 };
}

async function s_onUsage(e) {
    e.preventDefault();
    const out = $('usage');
    const form = e.target;
    const orgs = [...new Set(form.elements.orgs.value.split(/[\s,]+/).filter(Boolean))].slice(0, 32);
    if (!orgs.length) {
        replace(out, el('p', { class: 'error', role: 'alert' }, 'Name at least one organization code.'));
        return;
    }
    const fromMs = form.elements.from.value ? new Date(form.elements.from.value).getTime() : 0;
    const toMs = form.elements.to.value ? new Date(form.elements.to.value).getTime() : Date.now() + 60000;
    if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || fromMs >= toMs) {
        replace(out, el('p', { class: 'error', role: 'alert' }, 'The time window is empty: "From" must be before "To".'));
        return;
    }
    const pick = form.elements.chain.value;
    const sides = chains.filter((c) => !c.error && c.kind === 'side' && (!pick || c.name === pick)).map((c) => c.name);
    replace(out, el('p', { class: 'muted' }, 'Reading…'));
    const jobs = [];
    for (const org of orgs) for (const chain of sides) jobs.push({ org, chain });
    const got = await Promise.all(jobs.map((j) => s_usage(j.chain, j.org, fromMs, toMs)
        .then((r) => ({ ...j, ...r }), (err) => ({ ...j, err }))));
    const sumRows = [];
    const detail = [];
    for (const g of got) {
        if (g.err) {
            if (!isNotFound(g.err)) sumRows.push([g.org, g.chain, errorBox(g.err), '', '']);
            continue;
        }
        const verdicts = new Map();
        for (const x of g.list) verdicts.set(x.verdict, (verdicts.get(x.verdict) || 0) + 1);
        const vtext = [...verdicts].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([k, n]) => `${k}: ${n}`).join(', ');
        if (g.list.length || pick) {
            sumRows.push([g.org, el('a', { href: ex.chain(g.chain) }, g.chain),
                el('span', { class: 'count', 'data-org': g.org, 'data-chain': g.chain }, fmtInt(g.list.length)),
                g.truncated ? 'more than shown' : '', vtext]);
        }
        for (const x of g.list) detail.push({ ...x, org: g.org, chain: g.chain });
    }
    detail.sort((a, b) => a.time_ms - b.time_ms);
    const shown = detail.slice(-USAGE_ROWS_SHOWN);
    replace(out,
        el('p', null, `${fmtInt(detail.length)} inspection${detail.length === 1 ? '' : 's'} by ${orgs.join(', ')} between ${fmtTime(fromMs)} and ${fmtTime(toMs)}.`),
        table('Inspections per organization and chain', ['Organization', 'Chain', 'Inspections', 'Note', 'Verdicts'],
            sumRows, { numeric: [2], id: 'usage-summary', empty: 'No inspections in this window.' }),
        detail.length ? table('Inspections, oldest first', ['Time', 'Organization', 'Chain', 'Certificate', 'Transaction', 'Verdict'],
            shown.map((x) => [timeNode(x.time_ms), x.org, x.chain, hexLink(ex.cert(x.chain, x.cert_id), x.cert_id),
                hexLink(ex.tx(x.chain, x.tx_id), x.tx_id), x.verdict]), { id: 'usage-detail' }) : null,
        detail.length > shown.length ? el('p', { class: 'muted' }, `The latest ${USAGE_ROWS_SHOWN} are listed.`) : null);
}

/* ---------- audit ---------- */

/** A certificate's whole history: the named endpoint's list, then cert_history pages
 *  (from the entry after the last one held) until `history_count` entries are held. */
async function s_fullHistory(chain, id, c) {
    const hist = Array.isArray(c.history) ? [...c.history] : [];
    const total = Number.isFinite(c.history_count) ? c.history_count : Infinity;
    let page = hist;
    for (let i = 1; i < HISTORY_PAGES_MAX && hist.length < total && page.length > 0
        && (Number.isFinite(total) || page.length >= 1000); i++) {
        const r = await apiPost(apiPath('chains', chain, 'query', 'cert_history'), { args: [{ hex: id }, hist.length] });
        page = (Array.isArray(r.result) ? r.result : []).map((x) => ({
            seq: x[0], type: x[1], type_name: SIDE_TYPE_NAMES[x[1]] || '', height: x[2], tx_id: x[3]?.hex,
        }));
        hist.push(...page);
    }
    return hist;
}

async function s_auditCert(out, id) {
    const sides = chains.filter((c) => !c.error && c.kind === 'side');
    const got = await Promise.allSettled(sides.map((c) => apiGet(apiPath('chains', c.name, 'certs', id))
        .then((x) => ({ chain: c.name, x }))));
    const found = got.filter((g) => g.status === 'fulfilled').map((g) => g.value);
    if (!found.length) {
        const other = got.find((g) => g.status === 'rejected' && !isNotFound(g.reason));
        replace(out, other ? errorBox(other.reason, 'The search failed') : el('p', { role: 'alert' }, 'No side chain has this certificate.'));
        return;
    }
    const parts = [];
    for (const { chain, x } of found) {
        const hist = await s_fullHistory(chain, id, x);
        const details = await Promise.all(hist.slice(0, AUDIT_TX_DETAILS_MAX).map((h) =>
            apiGet(apiPath('chains', chain, 'txs', h.tx_id)).catch(() => null)));
        const rows = hist.map((h, i) => {
            const t = details[i];
            const reason = t && Array.isArray(t.body) && typeof t.body[1] === 'string' && [6, 8, 9, 10, 11].includes(h.type)
                ? t.body[1] : (t && h.type === 2 && typeof t.body?.[3] === 'string' ? `verdict: ${t.body[3]}` : '');
            return [fmtInt(h.seq), `${h.type_name || SIDE_TYPE_NAMES[h.type] || 'type'} (${h.type})`,
                el('a', { href: ex.block(chain, h.height) }, fmtInt(h.height)),
                hexLink(ex.tx(chain, h.tx_id), h.tx_id),
                t ? hexCode(t.sender) : '—', reason];
        });
        const insp = Array.isArray(x.inspections) ? x.inspections : [];
        parts.push(el('h3', null, `Certificate on ${chain}`),
            dl([
                ['Id', hexLink(ex.cert(chain, id), id, true)],
                ['Status', el('strong', null, x.status, x.erased ? ' (erased)' : '')],
                ['Issuing organization', x.org_code],
                ['Issuer key', hexCode(x.issuer, true)],
                ['Holder', el('a', { href: ex.account(x.holder) }, x.holder)],
                ['Issued in block', fmtInt(x.height)],
                ['Expires', x.expires_ms > 0 ? timeNode(x.expires_ms) : 'never'],
                ['History entries', fmtInt(hist.length)],
            ]),
            table('Public history (every transaction applied to it)', ['#', 'Type', 'Block', 'Transaction', 'Sender key', 'Reason or verdict'],
                rows, { numeric: [0, 2], id: 'audit-history' }),
            hist.length > AUDIT_TX_DETAILS_MAX ? el('p', { class: 'muted' },
                `Senders are shown for the first ${AUDIT_TX_DETAILS_MAX} entries.`) : null,
            table('Inspections', ['Transaction', 'Block', 'Organization', 'Inspector key', 'Verdict'],
                insp.map((i) => [hexLink(ex.tx(chain, i.tx_id), i.tx_id), fmtInt(i.height), i.org_code, hexCode(i.inspector), i.verdict]),
                { numeric: [1], id: 'audit-inspections', empty: 'No inspections.' }));
    }
    replace(out, ...parts);
}

async function s_auditAddress(out, address) {
    let a;
    try {
        a = await apiGet(apiPath('accounts', address));
    } catch (err) {
        replace(out, errorBox(err, 'Cannot read the account'));
        return;
    }
    const sides = chains.filter((c) => !c.error && c.kind === 'side');
    const held = await Promise.all(sides.map(async (c) => {
        const certs = [];
        let after = null;
        try {
            for (let i = 0; i < HOLDER_PAGES_MAX; i++) {
                const r = await apiGet(apiPath('chains', c.name, 'holders', address, 'certs'), { after, limit: 1000 });
                const page = Array.isArray(r.certs) ? r.certs : [];
                certs.push(...page);
                if (page.length < 1000) break;
                after = page[page.length - 1].cert_id;
            }
            return { chain: c.name, certs };
        } catch (err) {
            return { chain: c.name, certs, err };
        }
    }));
    const roles = Array.isArray(a.roles) ? a.roles : [];
    const certRows = [];
    for (const h of held) {
        if (h.err && !isNotFound(h.err)) certRows.push([h.chain, errorBox(h.err), '', '', '']);
        for (const c of h.certs) {
            certRows.push([h.chain, hexLink(ex.cert(h.chain, c.cert_id), c.cert_id), fmtInt(c.height), c.org_code, c.status]);
        }
    }
    replace(out,
        el('h3', null, 'Account'),
        dl([
            ['Address', el('a', { href: ex.account(a.address ?? address) }, a.address ?? address)],
            ['Name', a.name],
            ['Attested identity', a.attested ? 'yes' : 'no'],
            ['Registered in main block', fmtInt(a.height)],
            ['Key recovery', a.recovery ? 'pending' : null],
        ]),
        table('Roles', ['Role', 'Certificate type', 'Organization'],
            roles.map((r) => [`${r.role_name || 'role'} (${r.role})`, r.cert_type || '—', r.org_code || '—']),
            { id: 'audit-roles', empty: 'No roles.' }),
        table('Certificates held', ['Chain', 'Certificate', 'Issued in block', 'Organization', 'Status'], certRows,
            { numeric: [2], id: 'audit-certs', empty: 'No certificates.' }));
}

async function s_onAudit(e) {
    e.preventDefault();
    const out = $('audit');
    const q = e.target.elements.q.value.trim().toLowerCase();
    replace(out, el('p', { class: 'muted' }, 'Searching…'));
    try {
        if (HEX64_RE.test(q)) await s_auditCert(out, q);
        else if (ADDRESS_RE.test(q)) await s_auditAddress(out, q);
        else replace(out, el('p', { class: 'error', role: 'alert' }, 'Type a certificate id (64 hexadecimal digits) or an ec1\u2026 address.'));
    } catch (err) {
        replace(out, errorBox(err, 'The audit failed'));
    }
}

/* ---------- start ---------- */

async function s_start() {
    const params = new URLSearchParams(location.search);
    const form = $('usage-form');
    form.elements.from.value = s_localValue(Date.now() - 86400000);
    if (params.get('org')) form.elements.orgs.value = params.get('org');
    form.addEventListener('submit', s_onUsage);
    $('audit-form').addEventListener('submit', s_onAudit);
    if (params.get('audit')) $('audit-q').value = params.get('audit');

    await s_refreshStatus();
    await s_seedRates();
    s_renderRates();
    const refresh = s_throttle(s_refreshStatus, 2000);
    apiEvents({ topics: ['header', 'anchor'] }, {
        header: (ev) => {
            s_noteHeader(ev.chain, ev);
            const so = sinceOpen.get(ev.chain) || { blocks: 0, txs: 0 };
            so.blocks += 1;
            so.txs += Number.isFinite(ev.tx_count) ? ev.tx_count : 0;
            sinceOpen.set(ev.chain, so);
            refresh();
        },
        anchor: refresh,
    }, (state) => {
        $('live').textContent = state === 'open' ? 'Live.' : 'Live updates interrupted; reconnecting…';
    });
    setInterval(s_renderRates, 2000);
    setInterval(refresh, 15000);
    if (params.get('org')) form.requestSubmit();
    if (params.get('audit')) $('audit-form').requestSubmit();
}

s_start();
