// explorer.mjs: the public block explorer (explorer.html).
//
// A hash router (#/chain/degree/block/12) picks a view; each view fetches what it shows
// from the gateway's API (docs/GATEWAY.md) and renders it with DOM calls only: every
// string from the network is hostile and goes in as text. A view that finishes after the
// user moved on is dropped (its sequence number is stale). One server-sent event stream
// keeps the chain list and a chain's latest blocks live; events are only a wake-up, and
// the views fetch again by height, at most once a second.
//
// What it never shows: a payload. A certificate's payload (and an inspection's) is sealed
// to its holder; the API serves it to anyone, but the explorer only says how many bytes
// it has.

import { apiGet, apiPath, apiEvents, isNotFound } from './api.mjs';
import {
    el, replace, replaceKeepFocus, dl, table, hexCode, hexLink, timeNode, fmtAge, fmtInt, base64Bytes,
    sealedNote, errorBox, tjsonNode, bodyFieldNames, STEP_NAMES, HEX64_RE, ADDRESS_RE,
    HEIGHT_RE, CHAIN_RE,
} from './explorer-dom.mjs';

const BLOCKS_PER_PAGE = 20;
const TXS_SHOWN_MAX = 500;
const HOLDER_CERTS_MAX = 100;

const main = document.getElementById('content');
const live = document.getElementById('live');
const searchForm = document.getElementById('search');
const searchInput = document.getElementById('search-q');

/* ---------- routes ---------- */

/** Route links; every piece is escaped. */
export const route = {
    home: () => '#/',
    chain: (c) => `#/chain/${encodeURIComponent(c)}`,
    chainFrom: (c, h) => `#/chain/${encodeURIComponent(c)}/from/${h}`,
    block: (c, h) => `#/chain/${encodeURIComponent(c)}/block/${h}`,
    tx: (c, id) => `#/chain/${encodeURIComponent(c)}/tx/${encodeURIComponent(id)}`,
    cert: (c, id) => `#/chain/${encodeURIComponent(c)}/cert/${encodeURIComponent(id)}`,
    validators: (c, h) => `#/chain/${encodeURIComponent(c)}/validators${h ? `/${h}` : ''}`,
    account: (a) => `#/account/${encodeURIComponent(a)}`,
    search: (q, c) => `#/search/${encodeURIComponent(q)}${c ? `/${encodeURIComponent(c)}` : ''}`,
};

/** Splits the hash into its decoded segments; null when it is not a route (#content). */
function s_segments() {
    const h = location.hash;
    if (h === '' || h === '#') return [];
    if (!h.startsWith('#/')) return null;
    try {
        return h.slice(2).split('/').filter((s) => s !== '').map(decodeURIComponent);
    } catch {
        return ['bad'];
    }
}

/** The chain the current route is about, for a height typed in the search box. */
let currentChain = null;

/* ---------- chain list cache ---------- */

let chainsCache = null;
let chainsCacheAt = 0;

/** The /chains answer, cached for 5 s (the search and the anchor table need names). */
async function s_chains(fresh = false) {
    if (!fresh && chainsCache && Date.now() - chainsCacheAt < 5000) return chainsCache;
    const r = await apiGet('chains');
    chainsCache = Array.isArray(r.chains) ? r.chains.filter((c) => c && typeof c.name === 'string') : [];
    chainsCacheAt = Date.now();
    return chainsCache;
}

function s_isMain(chains, name) {
    const c = chains.find((x) => x.name === name);
    return c ? c.kind === 'main' : name === 'main';
}

/* ---------- view lifecycle ---------- */

let viewSeq = 0;
/** Live-update hook of the current view: { header(ev), anchor(ev) } or null. */
let viewLive = null;

/** Starts a view: a new sequence number, the page emptied to a heading. */
function s_begin(title) {
    viewSeq += 1;
    viewLive = null;
    const seq = viewSeq;
    const h1 = el('h1', { tabindex: '-1' }, title);
    replace(main, h1, el('p', { class: 'muted loading' }, 'Loading…'));
    document.title = `${title} · ecert explorer`;
    return {
        seq,
        alive: () => seq === viewSeq,
        h1,
        /** Puts the view's content under its heading (dropped when the view is stale). */
        show(...nodes) {
            if (seq !== viewSeq) return false;
            replaceKeepFocus(main, h1, ...nodes);
            return true;
        },
    };
}

/** Calls `fn` at most once per `ms`, the last call winning. */
function s_throttle(fn, ms) {
    let timer = null;
    let last = 0;
    return () => {
        if (timer) return;
        const wait = Math.max(0, last + ms - Date.now());
        timer = setTimeout(() => {
            timer = null;
            last = Date.now();
            fn();
        }, wait);
    };
}

function s_codeName(code, name) {
    if (code === 0) return el('span', { class: 'ok' }, 'applied');
    return el('span', { class: 'bad' }, `refused: ${name || ''} (${code})`);
}

function s_stepText(s) {
    if (!s || s.error) return '—';
    return `round ${s.round ?? '?'}, ${STEP_NAMES[s.step] ?? `step ${s.step}`}`;
}

/* ---------- views ---------- */

/** #/ : every chain with its height, validators, round, tip time and anchoring. */
async function viewHome() {
    const v = s_begin('Chains');
    const render = async (first) => {
        let chains;
        let anchors = null;
        try {
            [chains, anchors] = await Promise.all([s_chains(true), apiGet('anchors').catch(() => null)]);
        } catch (err) {
            if (first) v.show(errorBox(err, 'Cannot list the chains'));
            return;
        }
        if (!v.alive()) return;
        const sides = new Map((anchors && Array.isArray(anchors.sides) ? anchors.sides : [])
            .map((s) => [s.name, s]));
        const rows = chains.map((c) => {
            if (c.error) {
                return [el('a', { href: route.chain(c.name) }, c.name),
                    el('span', { class: 'bad' }, `${c.error.name || 'error'}: ${c.error.message || ''}`),
                    '', '', '', '', ''];
            }
            const a = sides.get(c.name);
            let anchored = '—';
            let mirror = '—';
            if (c.kind === 'main') {
                anchored = 'anchors the side chains';
            } else if (a) {
                anchored = el('span', null, el('a', { href: route.block(c.name, a.anchored_height) },
                    fmtInt(a.anchored_height)), ` (lag ${fmtInt(a.lag_blocks)})`,
                a.frozen ? el('strong', { class: 'bad' }, ' frozen') : null);
                mirror = el('span', null, el('a', { href: route.block('main', a.mirrored_main_height) },
                    fmtInt(a.mirrored_main_height)), ` (lag ${fmtInt(a.main_lag_blocks)})`);
            }
            return [
                el('a', { href: route.chain(c.name) }, c.name),
                c.height > 0 ? el('a', { href: route.block(c.name, c.height) }, fmtInt(c.height)) : '0',
                el('span', null, timeNode(c.tip_time_ms), el('br'),
                    el('span', { class: 'muted' }, fmtAge(c.tip_time_ms))),
                el('a', { href: route.validators(c.name) }, fmtInt(c.validators)),
                s_stepText(c),
                anchored,
                mirror,
            ];
        });
        const mainH = anchors && Number.isFinite(anchors.main_height) ? anchors.main_height : null;
        v.show(
            table('Chains: height, validators, consensus round, tip time and anchoring',
                ['Chain', 'Height', 'Tip time', 'Validators', 'Consensus', 'Anchored in main (side-to-main)',
                    'Mirrors main (main-to-side)'], rows, { numeric: [1, 3], id: 'chains' }),
            el('p', { class: 'muted' }, mainH !== null ? `Main chain height ${fmtInt(mainH)}. ` : '',
                'Updated live from the chains\u2019 header and anchor events.'),
        );
    };
    const again = s_throttle(() => render(false), 1000);
    viewLive = { header: again, anchor: again };
    await render(true);
}

/** #/chain/{c}[/from/{h}] : a chain's status and its latest blocks. */
async function viewChain(name, from) {
    const v = s_begin(`Chain ${name}`);
    currentChain = name;
    const render = async (first) => {
        let st;
        let hs;
        let anchors = null;
        try {
            [st, hs, anchors] = await Promise.all([
                apiGet(apiPath('chains', name)),
                apiGet(apiPath('chains', name, 'headers'), { from: from ?? null, count: BLOCKS_PER_PAGE }),
                apiGet('anchors').catch(() => null),
            ]);
        } catch (err) {
            if (first) v.show(errorBox(err, `Cannot read chain ${name}`));
            return;
        }
        if (!v.alive()) return;
        const headers = Array.isArray(hs.headers) ? hs.headers : [];
        const a = anchors && Array.isArray(anchors.sides) ? anchors.sides.find((s) => s.name === name) : null;
        const facts = dl([
            ['Chain id', el('code', null, st.chain_id)],
            ['Kind', st.kind === 'main' ? 'main chain' : `side chain of certificate type ${st.cert_type}`],
            ['Height', st.height > 0 ? el('a', { href: route.block(name, st.height) }, fmtInt(st.height)) : '0'],
            ['Tip hash', st.tip_hash ? hexCode(st.tip_hash, true) : '—'],
            ['Tip time', el('span', null, timeNode(st.tip_time_ms), ` (${fmtAge(st.tip_time_ms)})`)],
            ['Genesis hash', hexCode(st.genesis_hash, true)],
            ['Consensus', s_stepText(st)],
            ['Validators', el('a', { href: route.validators(name) }, `${fmtInt(st.validators)} (the set)`)],
            ['Peers of the node asked', fmtInt(st.peers)],
            ['Mempool', `${fmtInt(st.mempool)} transactions waiting`],
            ['Anchored in the main chain', a ? el('span', null,
                el('a', { href: route.block(name, a.anchored_height) }, fmtInt(a.anchored_height)),
                ` (${fmtInt(a.lag_blocks)} blocks behind)`, a.frozen ? ' — frozen' : '') : null],
            ['Mirrors the main chain up to', a ? el('span', null,
                el('a', { href: route.block('main', a.mirrored_main_height) }, fmtInt(a.mirrored_main_height)),
                ` (${fmtInt(a.main_lag_blocks)} blocks behind)`) : null],
        ]);
        const rows = headers.map((h) => [
            el('a', { href: route.block(name, h.height) }, fmtInt(h.height)),
            timeNode(h.time_ms),
            fmtInt(h.tx_count),
            hexLink(route.block(name, h.height), h.hash),
            Number.isFinite(h.commit_signatures) ? fmtInt(h.commit_signatures) : '—',
        ]);
        const low = headers.length ? headers[headers.length - 1].height : 0;
        const pager = el('nav', { class: 'pager', 'aria-label': 'Blocks' },
            from !== null ? el('a', { href: route.chain(name) }, 'Newest blocks') : null,
            low > 1 ? el('a', { href: route.chainFrom(name, low - 1) }, 'Older blocks') : null);
        v.show(facts,
            el('h2', null, from === null ? 'Latest blocks' : `Blocks from ${fmtInt(from)} down`),
            table(`Blocks of ${name}`, ['Height', 'Time', 'Transactions', 'Hash', 'Signatures'], rows,
                { numeric: [0, 2, 4], id: 'blocks', empty: 'No blocks yet.' }),
            pager);
    };
    const again = s_throttle(() => render(false), 1000);
    viewLive = {
        header: (ev) => { if (ev.chain === name && from === null) again(); },
        anchor: (ev) => { if (ev.chain === name) again(); },
    };
    await render(true);
}

/** #/chain/{c}/block/{h} : a block's header, transactions and anchor entries. */
async function viewBlock(name, height) {
    const v = s_begin(`Block ${fmtInt(height)} of ${name}`);
    currentChain = name;
    let b;
    let chains = [];
    try {
        [b, chains] = await Promise.all([apiGet(apiPath('chains', name, 'blocks', height)),
            s_chains().catch(() => [])]);
    } catch (err) {
        v.show(errorBox(err, `Cannot read block ${height} of ${name}`));
        return;
    }
    const txs = Array.isArray(b.txs) ? b.txs : [];
    const anchors = Array.isArray(b.anchors) ? b.anchors : [];
    const byId = new Map(chains.filter((c) => !c.error).map((c) => [c.chain_id, c.name]));
    const nav = el('nav', { class: 'pager', 'aria-label': 'Neighbouring blocks' },
        height > 1 ? el('a', { href: route.block(name, height - 1), rel: 'prev' }, `Block ${fmtInt(height - 1)}`) : null,
        el('a', { href: route.chain(name) }, `Chain ${name}`),
        el('a', { href: route.block(name, height + 1), rel: 'next' }, `Block ${fmtInt(height + 1)}`));
    const facts = dl([
        ['Hash', hexCode(b.hash, true)],
        ['Time', el('span', null, timeNode(b.time_ms), ` (${fmtAge(b.time_ms)})`)],
        ['Chain id', b.chain_id !== undefined ? el('code', null, b.chain_id) : null],
        ['Previous block', height > 1 ? hexLink(route.block(name, height - 1), b.prev_hash, true)
            : el('span', null, hexCode(b.prev_hash, true), ' (the genesis)')],
        ['Transactions', fmtInt(b.tx_count ?? txs.length)],
        ['Signatures in its commit', Number.isFinite(b.commit_signatures) ? fmtInt(b.commit_signatures) : null],
        ['Decided in round', Number.isFinite(b.commit_round) ? fmtInt(b.commit_round) : null],
        ['Transaction root', b.tx_root ? hexCode(b.tx_root, true) : null],
        ['State root', b.state_root ? hexCode(b.state_root, true) : null],
        ['History root', b.hist_root ? hexCode(b.hist_root, true) : null],
        ['Anchor root', b.xanchor_root ? el('span', null, hexCode(b.xanchor_root, true),
            Number.isFinite(b.xanchor_count) ? ` (${fmtInt(b.xanchor_count)} entries)` : '') : null],
        ['Validator set', b.valset_hash ? el('span', null,
            el('a', { href: route.validators(name, height) }, hexCode(b.valset_hash, true))) : null],
        ['Next validator set', b.next_valset_hash ? hexCode(b.next_valset_hash, true) : null],
        ['Evidence', Number.isFinite(b.evidence_count) ? `${fmtInt(b.evidence_count)} entries` : null],
        ['Encoded header', b.header ? `${fmtInt(base64Bytes(b.header))} bytes` : null],
        ['Encoded commit', b.commit ? `${fmtInt(base64Bytes(b.commit))} bytes` : null],
    ]);
    const shown = txs.slice(0, TXS_SHOWN_MAX);
    const txRows = shown.map((t) => [
        fmtInt(t.index),
        hexLink(route.tx(name, t.id), t.id),
        `${t.type_name || 'type'} (${t.type})`,
        hexCode(t.sender),
        s_codeName(t.code, t.code_name),
    ]);
    const anchorRows = anchors.map((a) => {
        const other = byId.get(a.chain_id);
        return [
            other ? el('a', { href: route.chain(other) }, other) : el('code', null, a.chain_id),
            other ? el('a', { href: route.block(other, a.height) }, fmtInt(a.height)) : fmtInt(a.height),
            hexCode(a.hash),
        ];
    });
    v.show(nav, facts,
        el('h2', null, 'Transactions'),
        table(`Transactions of block ${height}`, ['Index', 'Id', 'Type', 'Sender', 'Result'], txRows,
            { numeric: [0], id: 'txs', empty: 'This block has no transactions.' }),
        txs.length > shown.length ? el('p', { class: 'muted' },
            `The first ${fmtInt(shown.length)} of ${fmtInt(txs.length)} are shown.`) : null,
        el('h2', null, 'Anchor entries'),
        el('p', { class: 'muted' }, name === 'main'
            ? 'Side-chain headers this block accepted (side-to-main anchoring).'
            : 'Main-chain headers this block accepted (main-to-side mirroring).'),
        table(`Anchor entries of block ${height}`, ['Chain', 'Height', 'Header hash'], anchorRows,
            { numeric: [1], id: 'anchors', empty: 'This block carries no anchor entries.' }));
}

/** A body field's value, with ids and addresses made into links. */
function s_bodyValue(chain, isMain, field, value, chains) {
    if (field === 'cert_id' && !isMain && value && HEX64_RE.test(value.hex || '')) {
        return hexLink(route.cert(chain, value.hex), value.hex, true);
    }
    if ((field === 'holder' || field === 'address') && typeof value === 'string' && ADDRESS_RE.test(value)) {
        return el('a', { href: route.account(value) }, el('code', { class: 'hex' }, value));
    }
    if (field === 'expires_ms' && Number.isFinite(value)) {
        return value === 0 ? 'never' : el('span', null, timeNode(value), ` (${value})`);
    }
    if (field === 'chain_id' && typeof value === 'string') {
        const other = chains.find((c) => c.chain_id === value);
        if (other) return el('span', null, el('code', null, value), ' (', el('a', { href: route.chain(other.name) }, other.name), ')');
    }
    return tjsonNode(value);
}

/** #/chain/{c}/tx/{id} : a transaction, its body decoded; its payload only as a size. */
async function viewTx(name, id) {
    const v = s_begin('Transaction');
    currentChain = name;
    let t;
    let chains = [];
    try {
        [t, chains] = await Promise.all([apiGet(apiPath('chains', name, 'txs', id)), s_chains().catch(() => [])]);
    } catch (err) {
        v.show(errorBox(err, `Cannot read transaction ${id} on ${name}`));
        return;
    }
    const isMain = s_isMain(chains, name);
    const names = bodyFieldNames(isMain, t.type);
    const body = Array.isArray(t.body) ? t.body : [];
    const bodyPairs = body.map((val, i) => [names[i] || `field ${i}`,
        s_bodyValue(name, isMain, names[i], val, chains)]);
    const isIssue = !isMain && t.type === 1;
    const facts = dl([
        ['Id', hexCode(t.id ?? id, true)],
        ['Chain', el('a', { href: route.chain(name) }, name)],
        ['Block', el('span', null, el('a', { href: route.block(name, t.height) }, fmtInt(t.height)),
            `, index ${fmtInt(t.index)}`)],
        ['Type', `${t.type_name || 'unknown'} (${t.type})`],
        ['Result', s_codeName(t.code, t.code_name)],
        ['Sender key', hexCode(t.sender, true)],
        ['Nonce', t.nonce !== undefined ? String(t.nonce) : null],
        ['Authorized by main height', !isMain && t.ref ? el('a', { href: route.block('main', t.ref) }, fmtInt(t.ref)) : null],
        ['Status-list slot', isIssue && t.code === 0 ? fmtInt(t.slot) : null],
        ['Certificate', isIssue && t.code === 0 ? hexLink(route.cert(name, t.id ?? id), t.id ?? id, true) : null],
        ['Payload', t.payload ? sealedNote(base64Bytes(t.payload))
            : el('span', { class: 'muted' }, 'none (the transaction had none, was refused, or it was erased)')],
        ['Envelope', t.tx ? `${fmtInt(base64Bytes(t.tx))} bytes (signed)` : null],
    ]);
    v.show(facts, el('h2', null, 'Body'),
        bodyPairs.length ? dl(bodyPairs, 'facts body') : el('p', { class: 'muted' }, 'The body is empty.'));
}

/** #/chain/{c}/validators[/{h}] : the validator set that commits a block. */
async function viewValidators(name, height) {
    const v = s_begin(`Validators of ${name}`);
    currentChain = name;
    let r;
    try {
        r = await apiGet(apiPath('chains', name, 'validators'), { height: height ?? null });
    } catch (err) {
        v.show(errorBox(err, `Cannot read the validator set of ${name}`));
        return;
    }
    const vals = Array.isArray(r.validators) ? r.validators : [];
    const total = vals.reduce((s, x) => s + (Number.isFinite(x.power) ? x.power : 0), 0);
    const form = el('form', { class: 'inline', 'aria-label': 'Validator set at a height' },
        el('label', { for: 'vh' }, 'At height '),
        el('input', { id: 'vh', name: 'h', inputmode: 'numeric', pattern: '[0-9]*', size: '10',
            value: height ?? '' }),
        el('button', { type: 'submit' }, 'Show'));
    form.addEventListener('submit', (e) => {
        e.preventDefault();
        const h = form.elements.h.value.trim();
        location.hash = route.validators(name, HEIGHT_RE.test(h) && Number(h) > 0 ? Number(h) : null);
    });
    v.show(form,
        dl([['Commits block', r.height ? el('a', { href: route.block(name, r.height) }, fmtInt(r.height)) : 'the next block'],
            ['Set hash', r.hash ? hexCode(r.hash, true) : null],
            ['Total power', fmtInt(total)]]),
        table(`Validator set of ${name}`, ['Index', 'Public key', 'Power'],
            vals.map((x, i) => [String(i), hexCode(x.pk, true), fmtInt(x.power)]),
            { numeric: [0, 2], id: 'validators' }));
}

/** #/chain/{c}/cert/{id} : a certificate's public record and history (never its contents). */
async function viewCert(name, id) {
    const v = s_begin('Certificate');
    currentChain = name;
    let c;
    try {
        c = await apiGet(apiPath('chains', name, 'certs', id));
    } catch (err) {
        v.show(errorBox(err, `Cannot read certificate ${id} on ${name}`));
        return;
    }
    const expired = c.expires_ms > 0 && c.expires_ms < Date.now();
    const history = Array.isArray(c.history) ? c.history : [];
    const historyCount = Number.isFinite(c.history_count) ? c.history_count : history.length;
    const inspections = Array.isArray(c.inspections) ? c.inspections : [];
    const facts = dl([
        ['Id', hexCode(c.cert_id ?? id, true)],
        ['Chain', el('a', { href: route.chain(name) }, name)],
        ['Status', el('strong', { class: `status status-${String(c.status).replace(/[^a-z]/g, '')}`, id: 'cert-status' },
            c.status, c.erased ? ' (erased)' : '', expired ? ' (expired)' : '')],
        ['Issuing organization', el('span', { id: 'cert-org' }, c.org_code)],
        ['Issuer key', hexCode(c.issuer, true)],
        ['Holder', ADDRESS_RE.test(c.holder || '') ? el('a', { href: route.account(c.holder), id: 'cert-holder' },
            el('code', { class: 'hex' }, c.holder)) : c.holder],
        ['Issued in block', el('a', { href: route.block(name, c.height) }, fmtInt(c.height))],
        ['Issue transaction', hexLink(route.tx(name, c.cert_id ?? id), c.cert_id ?? id)],
        ['Expires', c.expires_ms > 0 ? el('span', null, timeNode(c.expires_ms), expired ? ' (passed)' : '') : 'never'],
        ['Last changed in block', c.updated_height ? el('a', { href: route.block(name, c.updated_height) },
            fmtInt(c.updated_height)) : null],
        ['Authorized by main height', c.auth_height ? el('a', { href: route.block('main', c.auth_height) },
            fmtInt(c.auth_height)) : null],
        ['Status-list slot', Number.isFinite(c.slot) ? fmtInt(c.slot) : null],
        ['Fields root', c.fields_root ? hexCode(c.fields_root, true) : null],
        ['Contents', c.erased ? el('span', { class: 'muted' }, 'erased') : sealedNote(Number(c.payload_size) || 0)],
        ['Inspections', fmtInt(Number.isFinite(c.inspection_count) ? c.inspection_count : inspections.length)],
        ['History entries', fmtInt(historyCount)],
    ]);
    const hRows = history.map((h) => [
        fmtInt(h.seq),
        `${h.type_name || 'type'} (${h.type})`,
        el('a', { href: route.block(name, h.height) }, fmtInt(h.height)),
        hexLink(route.tx(name, h.tx_id), h.tx_id),
    ]);
    const iRows = inspections.map((x) => [
        hexLink(route.tx(name, x.tx_id), x.tx_id),
        el('a', { href: route.block(name, x.height) }, fmtInt(x.height)),
        x.org_code,
        hexCode(x.inspector),
        x.verdict,
    ]);
    v.show(facts,
        el('p', { class: 'note' }, 'The certificate\u2019s contents are sealed to its holder: the explorer shows its public record only.'),
        el('h2', null, 'History'),
        table('Transactions applied to the certificate', ['#', 'Type', 'Block', 'Transaction'], hRows,
            { numeric: [0, 2], id: 'history' }),
        historyCount > history.length ? el('p', { class: 'muted' }, `The first ${fmtInt(history.length)} of `
            + `${fmtInt(historyCount)} entries are listed; the supervisor dashboard's audit lists them all.`) : null,
        el('h2', null, 'Inspections'),
        table('Inspections of the certificate', ['Transaction', 'Block', 'Organization', 'Inspector', 'Verdict'],
            iRows, { numeric: [1], id: 'inspections', empty: 'No inspections recorded.' }));
}

/** #/account/{address} : an account's roles and attestation, and the certificates it holds. */
async function viewAccount(address) {
    const v = s_begin('Account');
    currentChain = null;
    let a;
    let chains = [];
    try {
        [a, chains] = await Promise.all([apiGet(apiPath('accounts', address)), s_chains().catch(() => [])]);
    } catch (err) {
        v.show(errorBox(err, `Cannot read account ${address}`));
        return;
    }
    const sides = chains.filter((c) => !c.error && c.kind === 'side');
    const held = await Promise.all(sides.map((c) => apiGet(apiPath('chains', c.name, 'holders', address, 'certs'),
        { limit: HOLDER_CERTS_MAX }).then((r) => ({ chain: c.name, certs: Array.isArray(r.certs) ? r.certs : [] }),
        (err) => ({ chain: c.name, err }))));
    if (!v.alive()) return;
    const zeroKey = typeof a.key === 'string' && /^0+$/.test(a.key);
    const facts = dl([
        ['Address', el('code', { class: 'hex' }, a.address ?? address)],
        ['Name', a.name],
        ['Identity key', a.pk ? hexCode(a.pk, true) : null],
        ['Signing key', a.key ? (zeroKey ? el('strong', { class: 'bad' }, 'revoked') : hexCode(a.key, true)) : null],
        ['Registered in main block', a.height ? el('a', { href: route.block('main', a.height) }, fmtInt(a.height)) : null],
        ['Attested identity', el('span', { id: 'attested' }, a.attested ? 'yes' : 'no')],
        ['Key recovery', a.recovery ? 'pending' : null],
    ]);
    const roles = Array.isArray(a.roles) ? a.roles : [];
    const certRows = [];
    for (const h of held) {
        if (h.err) {
            certRows.push([h.chain, errorBox(h.err), '', '', '']);
            continue;
        }
        for (const c of h.certs) {
            certRows.push([el('a', { href: route.chain(h.chain) }, h.chain), hexLink(route.cert(h.chain, c.cert_id), c.cert_id),
                el('a', { href: route.block(h.chain, c.height) }, fmtInt(c.height)), c.org_code, c.status]);
        }
    }
    v.show(facts,
        el('h2', null, 'Roles'),
        table('Roles granted on the main chain', ['Role', 'Certificate type', 'Organization'],
            roles.map((r) => [`${r.role_name || 'role'} (${r.role})`, r.cert_type || '—', r.org_code || '—']),
            { id: 'roles', empty: 'No roles.' }),
        el('h2', null, 'Certificates held'),
        table('Certificates held, per side chain', ['Chain', 'Certificate', 'Issued in block', 'Organization', 'Status'],
            certRows, { id: 'held', empty: 'No certificates.' }),
        held.some((h) => h.certs && h.certs.length >= HOLDER_CERTS_MAX)
            ? el('p', { class: 'muted' }, `At most ${HOLDER_CERTS_MAX} per chain are listed.`) : null);
}

/**
 * #/search/{q}[/{chain}] : a tx or certificate id (every chain is asked), an address, or
 * a height (of the chain the user was on, else every chain). One clear answer replaces
 * the search route, so Back returns to where the search started.
 */
async function viewSearch(q, chainHint) {
    const v = s_begin('Search');
    const s = q.trim();
    const lower = s.toLowerCase();
    if (ADDRESS_RE.test(lower)) {
        location.replace(route.account(lower));
        return;
    }
    let chains;
    try {
        chains = (await s_chains()).filter((c) => !c.error);
    } catch (err) {
        v.show(errorBox(err, 'Cannot list the chains'));
        return;
    }
    if (!v.alive()) return;
    if (HEIGHT_RE.test(s) && Number(s) > 0) {
        const h = Number(s);
        if (chainHint && chains.some((c) => c.name === chainHint)) {
            location.replace(route.block(chainHint, h));
            return;
        }
        const have = chains.filter((c) => c.height >= h);
        v.show(el('p', null, `Block ${fmtInt(h)} exists on ${have.length} of ${chains.length} chains:`),
            el('ul', { class: 'results' }, have.map((c) => el('li', null,
                el('a', { href: route.block(c.name, h) }, `${c.name}, block ${fmtInt(h)}`)))));
        return;
    }
    if (!HEX64_RE.test(lower)) {
        v.show(el('p', { class: 'error', role: 'alert' },
            'Type a transaction or certificate id (64 hexadecimal digits), an ec1\u2026 address, or a block height.'));
        return;
    }
    const asks = [];
    for (const c of chains) {
        asks.push(apiGet(apiPath('chains', c.name, 'txs', lower)).then((t) => ({ kind: 'tx', chain: c.name, t })));
        if (c.kind === 'side') {
            asks.push(apiGet(apiPath('chains', c.name, 'certs', lower)).then((x) => ({ kind: 'cert', chain: c.name, x })));
        }
    }
    const got = await Promise.allSettled(asks);
    if (!v.alive()) return;
    const found = got.filter((g) => g.status === 'fulfilled').map((g) => g.value);
    const failed = got.filter((g) => g.status === 'rejected' && !isNotFound(g.reason));
    const certs = found.filter((f) => f.kind === 'cert');
    const txs = found.filter((f) => f.kind === 'tx');
    if (certs.length === 1) {
        location.replace(route.cert(certs[0].chain, lower));
        return;
    }
    if (!certs.length && txs.length === 1) {
        location.replace(route.tx(txs[0].chain, lower));
        return;
    }
    const items = [
        ...certs.map((f) => el('li', null, el('a', { href: route.cert(f.chain, lower) }, `Certificate on ${f.chain}`))),
        ...txs.map((f) => el('li', null, el('a', { href: route.tx(f.chain, lower) },
            `Transaction on ${f.chain} (${f.t.type_name || f.t.type}, block ${f.t.height})`))),
    ];
    v.show(items.length ? el('ul', { class: 'results' }, items)
        : el('p', { role: 'alert' }, 'No chain knows a transaction or certificate with this id.'),
    failed.length ? el('p', { class: 'muted' },
        `${failed.length} of ${got.length} lookups failed (${failed[0].reason.name}), so this answer may be incomplete.`) : null);
}

/* ---------- router ---------- */

function s_notFound() {
    const v = s_begin('Not found');
    v.show(el('p', null, 'This address names no explorer page. ', el('a', { href: route.home() }, 'All chains')));
}

async function s_route() {
    const seg = s_segments();
    if (seg === null) return; // an in-page anchor such as the skip link, not a route
    const [a, b, c, d] = seg;
    const fromSearch = a === 'search';
    const int = (x) => (HEIGHT_RE.test(x || '') ? Number(x) : null);
    if (!fromSearch) currentChain = null;
    let p;
    if (seg.length === 0) p = viewHome();
    else if (a === 'chain' && CHAIN_RE.test(b || '')) {
        if (seg.length === 2) p = viewChain(b, null);
        else if (c === 'from' && int(d) !== null && seg.length === 4) p = viewChain(b, int(d));
        else if (c === 'block' && int(d) > 0 && seg.length === 4) p = viewBlock(b, int(d));
        else if (c === 'tx' && HEX64_RE.test(d || '') && seg.length === 4) p = viewTx(b, d);
        else if (c === 'cert' && HEX64_RE.test(d || '') && seg.length === 4) p = viewCert(b, d);
        else if (c === 'validators' && seg.length === 3) p = viewValidators(b, null);
        else if (c === 'validators' && int(d) > 0 && seg.length === 4) p = viewValidators(b, int(d));
    } else if (a === 'account' && ADDRESS_RE.test(b || '') && seg.length === 2) p = viewAccount(b);
    else if (fromSearch && b !== undefined && seg.length <= 3) p = viewSearch(b, c && CHAIN_RE.test(c) ? c : null);
    if (!p) {
        s_notFound();
        return;
    }
    const seq = viewSeq;
    await p.catch((err) => {
        if (seq === viewSeq) replace(main, el('h1', null, 'Error'), errorBox(err));
    });
    // After a navigation, move the focus to the new page's heading, so a keyboard or
    // screen-reader user starts reading there (unless the view replaced the route
    // meanwhile). Not on the first load: there the focus starts at the top of the page.
    if (seq === viewSeq && navigated) main.querySelector('h1')?.focus({ preventScroll: false });
}

let navigated = false;

searchForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = searchInput.value.trim();
    if (!q) return;
    const target = route.search(q, currentChain);
    // The same search twice does not change the hash: run it again by hand.
    if (location.hash === target) s_route();
    else location.hash = target;
});

window.addEventListener('hashchange', () => {
    navigated = true;
    s_route();
});

apiEvents({ topics: ['header', 'anchor'] }, {
    header: (ev) => viewLive?.header?.(ev),
    anchor: (ev) => viewLive?.anchor?.(ev),
}, (state) => {
    live.textContent = state === 'open' ? 'Live: following the chains.' : 'Live updates interrupted; reconnecting…';
});

s_route();
