// ecert_web.mjs - what the verify and holder pages share in the browser: reading the
// gateway's JSON API (docs/GATEWAY.md) with a time limit, keeping the trusted main genesis
// in localStorage, building DOM from untrusted text (textContent only, never HTML) and
// formatting times for people.

import { EcertError, decodeGenesis, genesisFromYaml, fromBase64, toBase64, toHex, sniff } from './ecert.mjs';

/* The API root, found from this module's place (js/ sits in the portal's root). */
export const API = new URL('../api/v1/', import.meta.url);

/*
 * GET path under /api/v1 as JSON; throws Error with the gateway's message on failure.
 * waitAnchoredMs: retry while the gateway answers ESTATE (a status list or bundle whose
 * block the main chain has not anchored yet), for up to that long.
 */
export async function api(path, { timeoutMs = 8000, waitAnchoredMs = 0 } = {}) {
  const deadline = Date.now() + waitAnchoredMs;
  for (;;) {
    try {
      return await apiOnce(path, timeoutMs);
    } catch (e) {
      if (e.name !== 'ESTATE' || Date.now() + 500 > deadline) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

async function apiOnce(path, timeoutMs) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  try {
    const r = await fetch(new URL(path, API), { signal: ctl.signal, cache: 'no-store' });
    const body = await r.json().catch(() => null);
    if (!r.ok) {
      const e = new Error(body?.error?.message || `HTTP ${r.status}`);
      e.status = r.status;
      e.name = body?.error?.name || 'EIO';
      throw e;
    }
    return body;
  } finally {
    clearTimeout(timer);
  }
}
export const seg = (s) => encodeURIComponent(String(s));

/* ---- the trusted main genesis --------------------------------------------------------- */

const GENESIS_KEY = 'ecert.mainGenesis';

/* The genesis kept in this browser: {genesis, source, saved_ms} or null. */
export async function storedGenesis() {
  try {
    const s = JSON.parse(localStorage.getItem(GENESIS_KEY) || 'null');
    if (!s) return null;
    return { genesis: await decodeGenesis(fromBase64(s.genesis)), source: s.source, saved_ms: s.saved_ms };
  } catch {
    return null;
  }
}
export function storeGenesis(genesis, source) {
  localStorage.setItem(GENESIS_KEY, JSON.stringify({ genesis: toBase64(genesis.bytes), source, saved_ms: Date.now() }));
}

/* A genesis from the gateway's /chains/main/genesis: its hash must match the bytes. */
export async function fetchGenesis() {
  const j = await api('chains/main/genesis');
  const g = await decodeGenesis(fromBase64(j.genesis));
  if (g.kind !== 1) throw new EcertError('EINVAL', 'the gateway served a side-chain genesis as the main one');
  if (j.hash && j.hash !== toHex(g.hash)) throw new EcertError('EINVAL', "the genesis does not hash to the gateway's own hash");
  return g;
}

/* A genesis file: the YAML `ecert genesis main` writes, the msgpack, or the gateway's JSON. */
export async function genesisFromFile(bytes) {
  const text = new TextDecoder().decode(bytes);
  if (/^\s*\{/.test(text)) return decodeGenesis(fromBase64(JSON.parse(text).genesis));
  if (/^\s*chain_id:/m.test(text)) return genesisFromYaml(text);
  if (sniff(bytes) === 'genesis') return decodeGenesis(bytes);
  throw new EcertError('EINVAL', 'not a main-chain genesis (YAML, msgpack or the gateway JSON)');
}

/* ---- chains -------------------------------------------------------------------------- */

const CHAINS_KEY = 'ecert.chains';

/* {chain_id: {name, cert_type}} for the side chains, from the gateway, kept for offline. */
export async function chainNames({ online = true } = {}) {
  let map = {};
  try {
    map = JSON.parse(localStorage.getItem(CHAINS_KEY) || '{}');
  } catch {
    map = {};
  }
  if (online) {
    try {
      const j = await api('chains', { timeoutMs: 5000 });
      for (const c of j.chains || []) if (c.chain_id && c.name) map[c.chain_id] = { name: c.name, kind: c.kind, cert_type: c.cert_type || c.name };
      localStorage.setItem(CHAINS_KEY, JSON.stringify(map));
    } catch {
      /* offline: the names kept from an earlier visit */
    }
  }
  return map;
}

/* ---- DOM ------------------------------------------------------------------------------ */

/* el('p', {class: 'x'}, 'text', child...): children are text (textContent) or nodes. */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

/* A <dl class="facts"> from [[term, value]...] (values text or nodes; null rows skipped). */
export function facts(rows) {
  const dl = el('dl', { class: 'facts' });
  for (const r of rows) if (r && r[1] !== null && r[1] !== undefined) dl.append(el('dt', {}, r[0]), el('dd', {}, r[1]));
  return dl;
}

export function when(ms) {
  const d = new Date(Number(ms));
  return d.toLocaleString(undefined, { dateStyle: 'long', timeStyle: 'short' });
}
export function day(ms) {
  return new Date(Number(ms)).toLocaleDateString(undefined, { dateStyle: 'long' });
}

/* The bytes of a file the user picked. */
export async function fileBytes(file) {
  return new Uint8Array(await file.arrayBuffer());
}

/* A download link for bytes. */
export function downloadLink(bytes, name, text) {
  const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
  return el('a', { class: 'button secondary', href: url, download: name }, text);
}

/* Text pasted by a user: base64 or hex of the bytes. */
export function bytesFromText(text) {
  const t = text.replace(/\s+/g, '');
  if (/^[0-9a-fA-F]+$/.test(t) && t.length % 2 === 0) {
    const out = new Uint8Array(t.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(t.substr(2 * i, 2), 16);
    return out;
  }
  try {
    return fromBase64(t);
  } catch {
    throw new EcertError('EINVAL', 'paste the request as base64 or hex');
  }
}
