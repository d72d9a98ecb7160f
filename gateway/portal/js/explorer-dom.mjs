// explorer-dom.mjs: rendering helpers shared by the explorer and the supervisor dashboard.
//
// Every value shown comes from the network and may be hostile, so nothing here ever
// parses HTML: el() builds elements with DOM calls and puts text in with text nodes, and
// links are only ever built from our own route strings with each piece escaped. The
// helpers also hold the few facts about the chains the pages need to show an answer
// readably (body field names per transaction type, step names), taken from
// docs/PROTOCOL.md.

/**
 * Creates an element. `props` keys: `class`, `text`, `on<event>` (a function), `dataset`
 * (an object), anything else an attribute (null/undefined/false ones skipped, true as "").
 * Children: nodes, strings/numbers (as text), arrays of those; null/undefined/false skipped.
 */
export function el(tag, props, ...children) {
    const node = document.createElement(tag);
    if (props) {
        for (const [k, v] of Object.entries(props)) {
            if (v === null || v === undefined || v === false) continue;
            if (k === 'class') node.className = v;
            else if (k === 'text') node.textContent = String(v);
            else if (k === 'dataset') Object.assign(node.dataset, v);
            else if (k.startsWith('on') && typeof v === 'function') {
                node.addEventListener(k.slice(2), v);
            } else node.setAttribute(k, v === true ? '' : String(v));
        }
    }
    append(node, children);
    return node;
}

/** Appends children as el() takes them. */
export function append(node, children) {
    for (const c of children) {
        if (c === null || c === undefined || c === false) continue;
        if (Array.isArray(c)) append(node, c);
        else if (c instanceof Node) node.appendChild(c);
        else node.appendChild(document.createTextNode(String(c)));
    }
    return node;
}

/** Replaces all children of `node`. */
export function replace(node, ...children) {
    node.replaceChildren();
    return append(node, children);
}

/**
 * Replaces the children of `node` like replace(), but when the focus was on a link or a
 * scrolling table inside it, puts the focus back on the same link (same href) or the
 * same table (same id) in the new content, so a live refresh does not throw a keyboard
 * user back to the top of the page.
 */
export function replaceKeepFocus(node, ...children) {
    const active = document.activeElement;
    let sel = null;
    if (active && active !== node && node.contains(active)) {
        if (active.tagName === 'A' && active.getAttribute('href')) {
            sel = `a[href="${CSS.escape(active.getAttribute('href'))}"]`;
        } else if (active.classList.contains('table-wrap') && active.firstChild?.id) {
            sel = `.table-wrap > table#${CSS.escape(active.firstChild.id)}`;
        }
    }
    replace(node, ...children);
    if (sel) {
        let found = node.querySelector(sel);
        if (found && found.tagName === 'TABLE') found = found.parentElement;
        if (found) found.focus({ preventScroll: true });
    }
    return node;
}

export const HEX64_RE = /^[0-9a-f]{64}$/;
export const ADDRESS_RE = /^ec1[02-9ac-hj-np-z]{6,100}$/;
export const HEIGHT_RE = /^[0-9]{1,15}$/;
export const CHAIN_RE = /^[A-Za-z0-9_-]{1,63}$/;

/** "3fa9c2d1…a0b1" for a long hex string; the full value goes in the title. */
export function shortHex(hex, keep = 8) {
    const s = String(hex ?? '');
    return s.length > keep * 2 + 1 ? `${s.slice(0, keep)}…${s.slice(-4)}` : s;
}

/** A <code> of a hex value, shortened unless `full`, the whole value in its title. */
export function hexCode(hex, full = false) {
    const s = String(hex ?? '');
    return el('code', { class: full ? 'hex' : 'hex short', title: full ? null : s },
        full ? s : shortHex(s));
}

/** A link whose text is a (shortened) hex value. */
export function hexLink(href, hex, full = false) {
    return el('a', { href, class: 'hexlink' }, hexCode(hex, full));
}

/** "2026-11-26 10:04:05 UTC" from ms since the epoch; "—" for nothing. */
export function fmtTime(ms) {
    if (!Number.isFinite(ms) || ms <= 0) return '—';
    const d = new Date(ms);
    if (Number.isNaN(d.getTime())) return '—';
    return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** "12 s ago", "3 min ago", "2 h ago" (or "in …" for a time ahead of the clock). */
export function fmtAge(ms, now = Date.now()) {
    if (!Number.isFinite(ms) || ms <= 0) return '';
    const d = now - ms;
    const a = Math.abs(d);
    let s;
    if (a < 1000) s = `${a} ms`;
    else if (a < 120000) s = `${Math.round(a / 1000)} s`;
    else if (a < 7200000) s = `${Math.round(a / 60000)} min`;
    else if (a < 172800000) s = `${Math.round(a / 3600000)} h`;
    else s = `${Math.round(a / 86400000)} days`;
    return d >= 0 ? `${s} ago` : `in ${s}`;
}

/** A <time> element showing the UTC time and its age. */
export function timeNode(ms) {
    if (!Number.isFinite(ms) || ms <= 0) return el('span', null, '—');
    return el('time', { datetime: new Date(ms).toISOString(), title: fmtAge(ms) },
        fmtTime(ms));
}

/** Integer with thousands separators (raw numbers stay exact: no rounding). */
export function fmtInt(n) {
    return Number.isFinite(n) || typeof n === 'bigint' ? n.toLocaleString('en-US') : '—';
}

/** How many bytes a base64 string encodes, without decoding it. */
export function base64Bytes(b64) {
    if (typeof b64 !== 'string') return 0;
    const s = b64.replace(/[^A-Za-z0-9+/=]/g, '');
    const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
    return Math.max(0, Math.floor(s.length / 4) * 3 - pad);
}

/** The note shown wherever a payload would be: it is sealed, only its size is public. */
export function sealedNote(bytes) {
    return el('span', { class: 'sealed' },
        `sealed data: ${fmtInt(bytes)} bytes`,
        el('span', { class: 'muted' }, ' (encrypted to the holder; never shown here)'));
}

/** A <dl> from [term, description] pairs; pairs with a null description are left out. */
export function dl(pairs, cls = 'facts') {
    const list = el('dl', { class: cls });
    for (const [term, desc] of pairs) {
        if (desc === null || desc === undefined) continue;
        list.append(el('div', null, el('dt', null, term), el('dd', null, desc)));
    }
    return list;
}

/**
 * A table with a caption, column headings and rows (arrays of cell contents). Each cell
 * carries its column's heading in data-label: on a narrow screen explorer.css shows every
 * row as a card of "heading: value" lines, so the page never scrolls sideways; the ARIA
 * roles keep it a table for screen readers when CSS changes its display. On a wide
 * screen a table wider than the page scrolls inside its own box. `numeric` lists the
 * columns to right-align.
 */
export function table(caption, headings, rows, { numeric = [], id = null, empty = 'None.' } = {}) {
    const head = el('tr', { role: 'row' }, headings.map((h, i) =>
        el('th', { scope: 'col', role: 'columnheader', class: numeric.includes(i) ? 'num' : null }, h)));
    const body = el('tbody', { role: 'rowgroup' });
    for (const r of rows) body.append(tableRow(r, numeric, headings));
    const t = el('table', { id, role: 'table' }, el('caption', null, caption),
        el('thead', { role: 'rowgroup' }, head), body);
    const wrap = el('div', { class: 'table-wrap', tabindex: '0', role: 'region',
        'aria-label': typeof caption === 'string' ? caption : null }, t);
    if (!rows.length) wrap.append(el('p', { class: 'muted empty' }, empty));
    return wrap;
}

/** One table row; the first cell is a row header. */
export function tableRow(cells, numeric = [], headings = []) {
    return el('tr', { role: 'row' }, cells.map((c, i) => el(i === 0 ? 'th' : 'td', {
        scope: i === 0 ? 'row' : null,
        role: i === 0 ? 'rowheader' : 'cell',
        class: numeric.includes(i) ? 'num' : null,
        'data-label': typeof headings[i] === 'string' ? headings[i] : null,
    }, c)));
}

/** A message box for an error (an ApiError or anything thrown). */
export function errorBox(err, what = '') {
    const name = err && err.name ? err.name : 'Error';
    const msg = err && err.message ? err.message : String(err);
    return el('p', { class: 'error', role: 'alert' },
        what ? `${what}: ` : '', el('strong', null, name), ` ${msg}`);
}

/** Consensus step names (PROTOCOL "status"). */
export const STEP_NAMES = ['not started', 'propose', 'prevote', 'precommit'];

/** Body field names per transaction type (PROTOCOL "Transactions"), main and side. */
const MAIN_BODY = {
    1: ['name'], 2: ['org_code', 'name', 'billing'],
    3: ['address', 'role', 'cert_type', 'org_code'], 4: ['address', 'role', 'cert_type', 'org_code'],
    5: ['address', 'identity_hash'], 6: ['genesis'],
    7: ['chain_id', 'header', 'commit', 'prev_path', 'consistency', 'next_valset', 'claimed'],
    8: ['chain_id', 'validators', 'unfreeze'], 9: ['pk', 'power'], 10: ['chain_id', 'pk', 'power'],
    11: ['action_type', 'action', 'expires_ms'], 12: ['proposal'], 13: ['operators', 'quorum'],
    14: ['new_key', 'proof'], 15: [], 16: ['address', 'new_key', 'proof'], 17: [],
    18: ['address'], 19: ['name', 'org_code', 'code'], 20: ['name', 'org_code', 'code'],
    21: ['name', 'fn', 'args'], 22: ['name', 'id', 'decision'],
};
const SIDE_BODY = {
    1: ['holder', 'org_code', 'fields_root', 'expires_ms'],
    2: ['holder', 'org_code', 'cert_id', 'verdict'], 3: ['cert_id'], 4: ['cert_id', 'expires_ms'],
    5: ['cert_id', 'fields_root'], 6: ['cert_id', 'reason'],
    7: ['header', 'commit', 'prev_path', 'consistency', 'records_root', 'records_count',
        'state_digest', 'records', 'next_valset', 'claimed'],
    8: ['cert_id', 'reason'], 9: ['cert_id', 'reason'], 10: ['cert_id', 'reason'],
    11: ['cert_id', 'reason'], 12: ['name', 'org_code', 'code'], 13: ['name', 'org_code', 'code'],
    14: ['name', 'fn', 'args'], 15: ['name', 'id', 'decision'], 16: ['root', 'count', 'note'],
};

/** Side-chain transaction type names (PROTOCOL "Side-chain transactions"), for answers of
 *  the generic query endpoint, which carry numbers only. */
export const SIDE_TYPE_NAMES = ['', 'ISSUE', 'INSPECT', 'ACK', 'RENEW', 'CHANGE', 'REVOKE',
    'MAIN_ANCHOR', 'ERASE', 'SUSPEND', 'REINSTATE', 'CANCEL', 'CONTRACT_DEPLOY',
    'CONTRACT_UPGRADE', 'CONTRACT_CALL', 'CONTRACT_DECIDE', 'EVIDENCE'];

/** The names of a transaction body's fields, or [] when the type is unknown. */
export function bodyFieldNames(isMain, type) {
    return (isMain ? MAIN_BODY : SIDE_BODY)[type] || [];
}

/** Bytes shown of a binary value before it is cut short. */
const BIN_SHOW_BYTES = 64;

/**
 * Renders a typed-JSON value (docs/GATEWAY.md "Typed JSON"): strings as text, binaries
 * ({"hex"}) as hex with their size (long ones cut), arrays as lists. Depth and length
 * are bounded so a hostile body cannot make the page build a huge tree.
 */
export function tjsonNode(v, depth = 0) {
    if (depth > 8) return el('span', { class: 'muted' }, '…');
    if (v === null) return el('code', null, 'nil');
    if (typeof v === 'boolean' || typeof v === 'number' || typeof v === 'bigint') {
        return el('code', null, String(v));
    }
    if (typeof v === 'string') return el('span', { class: 'str' }, v);
    if (Array.isArray(v)) {
        if (!v.length) return el('code', null, '[]');
        const shown = v.slice(0, 100);
        return el('ol', { class: 'tjson', start: '0' },
            shown.map((x) => el('li', null, tjsonNode(x, depth + 1))),
            v.length > shown.length ? el('li', { class: 'muted' },
                `… ${v.length - shown.length} more`) : null);
    }
    if (typeof v === 'object' && typeof v.hex === 'string') {
        const n = v.hex.length >> 1;
        if (n <= 32) return el('code', { class: 'hex' }, v.hex || '(empty)');
        return el('span', null, el('code', { class: 'hex' }, `${v.hex.slice(0, BIN_SHOW_BYTES * 2)}…`),
            el('span', { class: 'muted' }, ` (${fmtInt(n)} bytes)`));
    }
    return el('span', { class: 'muted' }, '(not typed JSON)');
}
