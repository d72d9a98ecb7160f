// ecert.mjs - the portal's verification library: strict decoding of ecert's canonical
// msgpack objects and offline verification of proof bundles, status lists and
// presentations against a trusted main-chain genesis, written from docs/PROTOCOL.md
// ("Encoding", "Signatures", "Blocks, headers, commits", "Proof bundle", "Status list",
// "Presentations", "Certificate payload", "Addresses"); the C reference is common/ec_bundle.c,
// ec_slist.c, ec_types.c and client/cl_present.c.
//
// It runs unchanged in a browser (an ES module; @msgpack/msgpack imported by its path under
// node_modules/, since the gateway's Content-Security-Policy allows no inline import map)
// and in Node 20 (node --test tests/js/ecert_lib.test.mjs). Hashes and
// signatures use WebCrypto only (SHA-256, Ed25519), so a page that loaded this module checks
// bundles with the network off. Everything that needs libsodium (key files, sealed payloads,
// signing) lives in ecert_holder.mjs, so the verify page never loads it.
//
// Invariants, as in the C decoders: every decoder refuses non-canonical msgpack (it re-encodes
// what it parsed and compares bytes), wrong field counts and types, and anything over the
// format's limits before allocating; every byte of an accepted bundle is covered by a check.
// A failure throws EcertError with the protocol's error name (EINVAL, ETOOBIG, EVERSION,
// ESIG, EPROOF, ECHAIN) and a sentence saying which step failed.

import { Decoder, Encoder } from '../node_modules/@msgpack/msgpack/dist.esm/index.mjs';

/* ---- errors ------------------------------------------------------------------------------ */

export class EcertError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'EcertError';
    this.code = code; // 'EINVAL', 'ETOOBIG', 'EVERSION', 'ESIG', 'EPROOF', 'ECHAIN', ...
  }
}

function fail(code, message) {
  throw new EcertError(code, message);
}

/* ---- bytes ------------------------------------------------------------------------------- */

const utf8 = new TextEncoder();

export function concat(...parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function toHex(bytes) {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

export function fromHex(hex) {
  if (typeof hex !== 'string' || hex.length % 2 || /[^0-9a-fA-F]/.test(hex))
    fail('EINVAL', 'not a hex string');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(2 * i, 2), 16);
  return out;
}

export function fromBase64(b64) {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export function toBase64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000)
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

/* A domain tag with its terminating 0x00 ("Signatures"). */
function tag(name) {
  return concat(utf8.encode(name), new Uint8Array([0]));
}

const TAG_TX = tag('ecert/tx');
const TAG_VOTE = tag('ecert/vote');
const TAG_REQUEST = tag('ecert/request');
const TAG_PRESENTATION = tag('ecert/presentation');
const TAG_STATUS = tag('ecert/status');
const TAG_SIDESTATE = tag('ecert/sidestate');

/* ---- WebCrypto --------------------------------------------------------------------------- */

const subtle = globalThis.crypto.subtle;

export async function sha256(data) {
  return new Uint8Array(await subtle.digest('SHA-256', data));
}

/* Ed25519 over msg; false (never an exception) for a key that is no valid point. */
export async function ed25519Verify(pk, sig, msg) {
  if (pk.length !== 32 || sig.length !== 64) return false;
  try {
    const key = await subtle.importKey('raw', pk, { name: 'Ed25519' }, false, ['verify']);
    return await subtle.verify({ name: 'Ed25519' }, key, sig, msg);
  } catch {
    return false;
  }
}

/* ---- canonical msgpack ------------------------------------------------------------------- */

export const LIMITS = Object.freeze({
  message: 64 << 20, // any message ("Encoding")
  depth: 16,
  tx: 16 * 1024,
  payload: 64 * 1024,
  header: 1024,
  commit: 4096,
  bundle: 608 * 1024,
  path: 64,
  transitions: 64,
  validators: 32,
  request: 2048,
  fields: 64,
  fieldName: 64,
  fieldValue: 4096,
  slistCerts: 2 ** 26,
});
const SLIST_BYTES_MAX = LIMITS.slistCerts / 4 + 64 * 1024 + 8192 * 64;
const PRESENT_BYTES_MAX = LIMITS.bundle + (16 << 20) + 512 * 1024;

/*
 * Big integers become Numbers when exact; larger 64-bit values stay BigInt. depth counts the
 * arrays around v, so an array at depth 16 is the 17th level the C decoder refuses. A lone
 * surrogate (UTF-8 ED A0..BF xx) is refused here: the msgpack decoder turns it into one code
 * unit that re-encodes to the same bytes, so the canonical check alone would let through the
 * string the C's ec_utf8_valid refuses.
 */
function normalize(v, depth) {
  if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  if (Array.isArray(v)) {
    if (depth >= LIMITS.depth) fail('ETOOBIG', `nested deeper than ${LIMITS.depth} arrays`);
    for (let i = 0; i < v.length; i++) v[i] = normalize(v[i], depth + 1);
    return v;
  }
  if (typeof v === 'string') {
    if (/\p{Cs}/u.test(v)) fail('EINVAL', 'a string is not UTF-8 (a surrogate)');
    return v;
  }
  if (v === null || typeof v === 'boolean' || v instanceof Uint8Array) return v;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) fail('EINVAL', 'a float is not allowed');
    return v;
  }
  fail('EINVAL', 'only arrays, integers, strings, binaries, nil and booleans are allowed');
}

/* What the encoder must see: integers outside 32 bits as BigInt, so they take 8 bytes. */
function forEncode(v) {
  if (typeof v === 'number') return v >= 2 ** 32 || v < -(2 ** 31) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map(forEncode);
  if (v === undefined) throw new Error('undefined in an object to encode'); // our own bug
  return v;
}

/* Canonical msgpack of v (arrays, integers, strings, Uint8Array, null, booleans). */
export function encode(v) {
  return new Encoder({ useBigInt64: true, ignoreUndefined: false }).encode(forEncode(v));
}

/*
 * Decodes bytes strictly: at most max bytes, no trailing bytes, no maps, floats or ext
 * types, nesting at most 16, and the canonical encoding only (checked by re-encoding).
 * Returns the value: arrays, Numbers (BigInt above 2^53), strings, Uint8Array, null, booleans.
 */
export function decodeStrict(bytes, max = LIMITS.message) {
  if (!(bytes instanceof Uint8Array)) fail('EINVAL', 'not bytes');
  if (bytes.length > max) fail('ETOOBIG', `${bytes.length} bytes, at most ${max}`);
  if (bytes.length === 0) fail('EINVAL', 'empty');
  let v;
  try {
    // Arrays may not declare more elements than bytes remain.
    v = new Decoder({ useBigInt64: true, maxArrayLength: bytes.length, maxMapLength: 0, maxExtLength: 0 }).decode(bytes);
  } catch (e) {
    if (e instanceof EcertError) throw e;
    fail('EINVAL', `not msgpack (${e.message})`);
  }
  v = normalize(v, 0);
  let again;
  try {
    again = encode(v);
  } catch {
    fail('EINVAL', 'not canonical msgpack');
  }
  if (!bytesEqual(again, bytes)) fail('EINVAL', 'not canonical msgpack');
  return v;
}

/* ---- typed field readers ----------------------------------------------------------------- */

function arr(v, n, what) {
  if (!Array.isArray(v) || (n !== undefined && v.length !== n))
    fail('EINVAL', `${what}: expected an array of ${n ?? 'some'} elements`);
  return v;
}
function arrMax(v, max, what) {
  if (!Array.isArray(v)) fail('EINVAL', `${what}: expected an array`);
  if (v.length > max) fail('EINVAL', `${what}: more than ${max} elements`);
  return v;
}
function uint(v, what, max) {
  const ok = (typeof v === 'number' && Number.isInteger(v) && v >= 0) || (typeof v === 'bigint' && v >= 0n);
  if (!ok) fail('EINVAL', `${what}: expected an unsigned integer`);
  if (max !== undefined && v > max) fail('EINVAL', `${what}: above ${max}`);
  return v;
}
function int(v, what) {
  if (!((typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint')) fail('EINVAL', `${what}: expected an integer`);
  return v;
}
function bin(v, what, max) {
  if (!(v instanceof Uint8Array)) fail('EINVAL', `${what}: expected a binary`);
  if (max !== undefined && v.length > max) fail('EINVAL', `${what}: more than ${max} bytes`);
  return v;
}
function binFixed(v, n, what) {
  if (!(v instanceof Uint8Array) || v.length !== n) fail('EINVAL', `${what}: expected ${n} bytes`);
  return v;
}
function binOpt(v, what, max) {
  return v === null ? null : bin(v, what, max);
}
/* A string field as the C's ec_cur_str_copy reads it: no NUL inside, at most max bytes. */
function str(v, what, max) {
  if (typeof v !== 'string') fail('EINVAL', `${what}: expected a string`);
  if (v.includes('\0')) fail('EINVAL', `${what}: a NUL inside`);
  if (max !== undefined && utf8.encode(v).length > max) fail('EINVAL', `${what}: more than ${max} bytes`);
  return v;
}
function path(v, what) {
  arrMax(v, LIMITS.path, what);
  for (const h of v) binFixed(h, 32, what);
  return v;
}
/* Formats with a version check it before the field count, so a newer one is named as such. */
function versioned(v, version, n, what) {
  if (Array.isArray(v) && v.length >= 1 && typeof v[0] === 'number' && v[0] !== version)
    fail('EVERSION', `${what}: version ${v[0]}, this page reads version ${version}`);
  arr(v, n, what);
  uint(v[0], what);
  return v;
}

export function chainIdValid(s) {
  return typeof s === 'string' && /^[a-z0-9-]{1,63}$/.test(s);
}
function chainId(v, what) {
  if (!chainIdValid(v)) fail('EINVAL', `${what}: not a chain id`);
  return v;
}

/* ---- Merkle trees (RFC 9162, "Blocks, headers, commits") ---------------------------------- */

export const LEAF = Object.freeze({ TX: 1, BLOCK: 2, ANCHOR: 3, RECORD: 4, FIELD: 5, EVIDENCE: 6, STATUS: 7, FILE: 8 });

export async function merkleLeaf(tagByte, data) {
  return sha256(concat(new Uint8Array([0, tagByte]), data));
}
async function merkleNode(l, r) {
  return sha256(concat(new Uint8Array([1]), l, r));
}
function split(n) {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
/* The root over leaf hashes (SHA-256("") for none). */
export async function merkleRoot(leaves) {
  if (leaves.length === 0) return sha256(new Uint8Array(0));
  if (leaves.length === 1) return leaves[0];
  const k = split(leaves.length);
  return merkleNode(await merkleRoot(leaves.slice(0, k)), await merkleRoot(leaves.slice(k)));
}
/* The inclusion path of leaf index among leaves, bottom-up (RFC 9162 PATH). */
export async function merkleProof(leaves, index) {
  const out = [];
  let begin = 0, end = leaves.length, m = index;
  while (end - begin > 1) {
    const k = split(end - begin);
    if (m < k) {
      out.push(await merkleRoot(leaves.slice(begin + k, end)));
      end = begin + k;
    } else {
      out.push(await merkleRoot(leaves.slice(begin, begin + k)));
      begin += k;
      m -= k;
    }
  }
  return out.reverse();
}
/* RFC 9162 2.1.3.2; also proves the path has exactly the length index and size imply. */
export async function merkleVerify(leaf, index, size, proof, root) {
  index = Number(index);
  size = Number(size);
  if (!(index < size) || proof.length > LIMITS.path) return false;
  let fn = index, sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await merkleNode(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = await merkleNode(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && bytesEqual(r, root);
}

function be64(v) {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(v));
  return out;
}

/* ---- validator sets, headers, commits, genesis ------------------------------------------- */

function readValset(v, what) {
  arrMax(v, LIMITS.validators, what);
  const out = [];
  for (const e of v) {
    arr(e, 2, what);
    const pk = binFixed(e[0], 32, what);
    const power = uint(e[1], what, 2 ** 48);
    if (power === 0) fail('EINVAL', `${what}: a power of 0`);
    if (out.some((x) => bytesEqual(x.pk, pk))) fail('EINVAL', `${what}: a key listed twice`);
    out.push({ pk, power });
  }
  return out;
}
export function encodeValset(vs) {
  return encode(vs.map((v) => [v.pk, v.power]));
}
export async function valsetHash(vs) {
  return sha256(encodeValset(vs));
}

const HEADER_NAMES = ['version', 'chain_id', 'height', 'time_ms', 'prev_hash', 'tx_root', 'tx_count', 'state_root', 'hist_root', 'xanchor_root', 'xanchor_count', 'valset_hash', 'next_valset_hash', 'evidence_root', 'evidence_count'];

/* A header (version 2, 15 fields); hash is SHA-256 of its bytes. */
export async function decodeHeader(bytes) {
  const v = versioned(decodeStrict(bytes, LIMITS.header), 2, 15, 'header');
  const h = {};
  HEADER_NAMES.forEach((n, i) => (h[n] = v[i]));
  chainId(h.chain_id, 'header chain_id');
  uint(h.height, 'header height');
  uint(h.time_ms, 'header time_ms');
  for (const n of ['prev_hash', 'tx_root', 'state_root', 'hist_root', 'xanchor_root', 'valset_hash', 'next_valset_hash', 'evidence_root'])
    binFixed(h[n], 32, `header ${n}`);
  uint(h.tx_count, 'header tx_count', 20000);
  uint(h.xanchor_count, 'header xanchor_count', 20000);
  uint(h.evidence_count, 'header evidence_count', 16);
  if (h.height === 0) fail('EINVAL', 'header: height 0');
  h.hash = await sha256(bytes);
  return h;
}

/* A commit [1, height, round, block_hash, [[index, sig]...]], indexes strictly increasing. */
export function decodeCommit(bytes) {
  const v = versioned(decodeStrict(bytes, LIMITS.commit), 1, 5, 'commit');
  const c = { height: uint(v[1], 'commit height'), round: uint(v[2], 'commit round'), block_hash: binFixed(v[3], 32, 'commit block_hash'), sigs: [] };
  arrMax(v[4], LIMITS.validators, 'commit sigs');
  for (const s of v[4]) {
    arr(s, 2, 'commit sig');
    const index = uint(s[0], 'commit index', LIMITS.validators - 1);
    const sig = binFixed(s[1], 64, 'commit sig');
    if (c.sigs.length && index <= c.sigs[c.sigs.length - 1].index) fail('EINVAL', 'commit: indexes not strictly increasing');
    c.sigs.push({ index, sig });
  }
  if (c.height === 0) fail('EINVAL', 'commit: height 0');
  return c;
}

/* True when commit c decides header h under set vs: every signature holds, power > 2/3. */
export async function commitVerify(c, h, vs) {
  if (vs.length === 0) return false;
  let total = 0n, signedPower = 0n;
  for (const v of vs) total += BigInt(v.power);
  for (const s of c.sigs) {
    if (s.index >= vs.length) return false;
    signedPower += BigInt(vs[s.index].power);
  }
  if (c.height !== h.height || !bytesEqual(c.block_hash, h.hash)) return false;
  if (3n * signedPower <= 2n * total) return false;
  const msg = concat(TAG_VOTE, encode([h.chain_id, c.height, c.round, 2, c.block_hash]));
  for (const s of c.sigs) if (!(await ed25519Verify(vs[s.index].pk, s.sig, msg))) return false;
  return true;
}

/* A genesis (formats 2, 3, 4; "Genesis"): the fields by name, plus its hash. */
export async function decodeGenesis(bytes) {
  const v = decodeStrict(bytes, 64 * 1024);
  if (!Array.isArray(v) || typeof v[0] !== 'number' || v[0] < 2 || v[0] > 4) fail('EVERSION', 'genesis: not format 2, 3 or 4');
  const version = v[0];
  arr(v, 11 + (version - 2), 'genesis');
  let i = 1;
  const g = { version };
  g.chain_id = chainId(v[i++], 'genesis chain_id');
  g.kind = uint(v[i++], 'genesis kind');
  g.cert_type = str(v[i++], 'genesis cert_type', 31);
  g.time_ms = uint(v[i++], 'genesis time_ms');
  g.validators = readValset(v[i++], 'genesis validators');
  g.operators = arrMax(v[i++], 8, 'genesis operators').map((k) => binFixed(k, 32, 'genesis operator'));
  g.operator_quorum = version >= 3 ? uint(v[i++], 'genesis operator_quorum', 8) : 1;
  if (version === 3 && g.operator_quorum < 2) fail('EINVAL', 'genesis: format 3 with a quorum below 2');
  g.main_chain_id = str(v[i++], 'genesis main_chain_id', 63);
  g.main_genesis_hash = binFixed(v[i++], 32, 'genesis main_genesis_hash');
  g.main_validators = readValset(v[i++], 'genesis main_validators');
  g.main_freshness_ms = uint(v[i++], 'genesis main_freshness_ms');
  g.features = version === 4 ? uint(v[i++], 'genesis features') : 0;
  if (version === 4 && (g.features === 0 || g.features & ~1)) fail('EINVAL', 'genesis: unknown features');
  if (g.kind !== 1 && g.kind !== 2) fail('EINVAL', 'genesis: unknown kind');
  if (g.validators.length === 0) fail('EINVAL', 'genesis: no validators');
  g.hash = await sha256(bytes);
  g.bytes = bytes;
  return g;
}

/*
 * A main genesis as `ecert genesis main` writes it in YAML (chain_id, kind, time_ms,
 * validators [{pk, power}], operators, operator_quorum, contracts): the page takes the file
 * a clerk was given. Rebuilt as msgpack ("Genesis", the lowest format that holds it) and
 * decoded, so its hash is the chain's genesis hash. Only this flat shape is read.
 */
export async function genesisFromYaml(text) {
  const top = {};
  let list = null;
  let item = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/\s+#.*$/, '');
    if (!line.trim() || line.trim() === '---') continue;
    let m;
    if ((m = /^([a-z_]+):\s*(.*)$/.exec(line))) {
      list = null;
      if (m[2] === '') top[m[1]] = list = [];
      else top[m[1]] = m[2].replace(/^"(.*)"$/, '$1');
    } else if (list && (m = /^\s*-\s+([a-z_]+):\s*(.*)$/.exec(line))) {
      item = { [m[1]]: m[2].replace(/^"(.*)"$/, '$1') };
      list.push(item);
    } else if (list && (m = /^\s*-\s+(.*)$/.exec(line))) {
      list.push(m[1].replace(/^"(.*)"$/, '$1'));
    } else if (list && item && (m = /^\s+([a-z_]+):\s*(.*)$/.exec(line))) {
      item[m[1]] = m[2].replace(/^"(.*)"$/, '$1');
    } else fail('EINVAL', `genesis YAML: cannot read "${line.trim()}"`);
  }
  if (top.kind !== 'main') fail('EINVAL', 'genesis YAML: not a main-chain genesis (kind: main)');
  const num = (s, what) => {
    if (!/^[0-9]+$/.test(s ?? '')) fail('EINVAL', `genesis YAML: ${what} is not a number`);
    return Number(s);
  };
  const vals = (top.validators || []).map((e) => [fromHex(e.pk), num(e.power, 'power')]);
  const ops = (top.operators || []).map((k) => fromHex(k));
  const quorum = top.operator_quorum ? num(top.operator_quorum, 'operator_quorum') : 1;
  const features = top.contracts === 'true' ? 1 : 0;
  const head = [top.chain_id, 1, '', num(top.time_ms, 'time_ms'), vals, ops];
  const tail = ['', new Uint8Array(32), [], 0];
  let g;
  if (features) g = [4, ...head, quorum, ...tail, features];
  else if (quorum > 1) g = [3, ...head, quorum, ...tail];
  else g = [2, ...head, ...tail];
  return decodeGenesis(encode(g));
}

/* ---- transactions ------------------------------------------------------------------------ */

export const SIDE_TX_NAMES = { 1: 'ISSUE', 2: 'INSPECT', 3: 'ACK', 4: 'RENEW', 5: 'CHANGE', 6: 'REVOKE', 7: 'MAIN_ANCHOR', 8: 'ERASE', 9: 'SUSPEND', 10: 'REINSTATE', 11: 'CANCEL', 12: 'CONTRACT_DEPLOY', 13: 'CONTRACT_UPGRADE', 14: 'CONTRACT_CALL', 15: 'CONTRACT_DECIDE', 16: 'EVIDENCE' };

/* An envelope [signed, sig]: fields, id, and whether the sender's signature holds. */
export async function decodeTx(bytes) {
  const env = arr(decodeStrict(bytes, LIMITS.tx), 2, 'transaction');
  const signed = bin(env[0], 'transaction signed', LIMITS.tx);
  const sig = binFixed(env[1], 64, 'transaction sig');
  const v = versioned(decodeStrict(signed, LIMITS.tx), 1, 7, 'transaction');
  const tx = {
    chain_id: chainId(v[1], 'transaction chain_id'),
    type: uint(v[2], 'transaction type', 2 ** 32 - 1),
    sender: binFixed(v[3], 32, 'transaction sender'),
    nonce: uint(v[4], 'transaction nonce'),
    payload_hash: v[5] === null ? null : binFixed(v[5], 32, 'transaction payload_hash'),
    body: arr(v[6], undefined, 'transaction body'),
    signed,
    sig,
  };
  const signBytes = concat(TAG_TX, signed);
  tx.id = await sha256(signBytes);
  tx.sigValid = await ed25519Verify(tx.sender, sig, signBytes);
  return tx;
}

/* The body of an ISSUE: [holder, org_code, fields_root, expires_ms]. */
export function decodeIssueBody(body) {
  arr(body, 4, 'ISSUE body');
  const holder = str(body[0], 'ISSUE holder', 63);
  if (!addressValid(holder)) fail('EINVAL', 'ISSUE holder: not an address');
  const org = str(body[1], 'ISSUE org_code', 31);
  if (org === '') fail('EINVAL', 'ISSUE org_code: empty');
  return { holder, org_code: org, fields_root: binFixed(body[2], 32, 'ISSUE fields_root'), expires_ms: uint(body[3], 'ISSUE expires_ms') };
}

/* ---- proof bundles ----------------------------------------------------------------------- */

function readAnchoring(v, at) {
  const a = {
    side_header: bin(v[at], 'side_header', LIMITS.header),
    anchored_header: binOpt(v[at + 1], 'anchored_header', LIMITS.header),
    hist_path: path(v[at + 2], 'hist_path'),
    anchor_index: uint(v[at + 3], 'anchor_index'),
    anchor_path: path(v[at + 4], 'anchor_path'),
    main_header: bin(v[at + 5], 'main_header', LIMITS.header),
    main_commit: bin(v[at + 6], 'main_commit', LIMITS.commit),
    transitions: [],
  };
  arrMax(v[at + 7], LIMITS.transitions, 'main_transitions');
  for (const t of v[at + 7]) {
    arr(t, 3, 'main transition');
    const next = readValset(t[2], 'main transition next_valset');
    if (next.length === 0) fail('EINVAL', 'main transition: an empty set');
    a.transitions.push({ header: bin(t[0], 'transition header', LIMITS.header), commit: bin(t[1], 'transition commit', LIMITS.commit), next });
  }
  return a;
}

/* The proof bundle's parts ("Proof bundle"), strictly decoded; nothing verified yet. */
export function decodeBundle(bytes) {
  const v = versioned(decodeStrict(bytes, LIMITS.bundle), 2, 15, 'bundle');
  const result = arr(v[5], 3, 'result');
  const code = int(result[0], 'result code');
  if (code > 0 || code < -64) fail('EINVAL', 'result: code out of range');
  return {
    side_chain_id: chainId(v[1], 'bundle side_chain_id'),
    tx: bin(v[2], 'tx', LIMITS.tx),
    payload: binOpt(v[3], 'payload', LIMITS.payload),
    tx_index: uint(v[4], 'tx_index'),
    result: { code, ref: uint(result[1], 'result ref'), slot: uint(result[2], 'result slot') },
    tx_path: path(v[6], 'tx_path'),
    ...readAnchoring(v, 7),
  };
}

/* Carries the trusted set through the main chain's set changes the bundle lists. */
async function verifyTransitions(a, main, vs) {
  let last = 0;
  for (let i = 0; i < a.transitions.length; i++) {
    const t = a.transitions[i];
    let h, c;
    try {
      h = await decodeHeader(t.header);
      c = decodeCommit(t.commit);
    } catch {
      fail('EINVAL', `main transition ${i}: malformed`);
    }
    if (h.chain_id !== main.chain_id || h.height <= last || h.height >= main.height) fail('EINVAL', `main transition ${i}: out of order`);
    if (!bytesEqual(await valsetHash(vs), h.valset_hash)) fail('ESIG', `main transition ${i}: header ${h.height} is not committed by the set this bundle trusts at that height`);
    if (!(await commitVerify(c, h, vs))) fail('ESIG', `main transition ${i}: commit does not verify`);
    if (!bytesEqual(await valsetHash(t.next), h.next_valset_hash)) fail('ESIG', `main transition ${i}: the set given is not the one header ${h.height} names`);
    vs = t.next;
    last = h.height;
  }
  return vs;
}

/*
 * From the side header on: the side block in the anchored header's history, the anchor entry
 * in the main header, and the main header committed by the main chain's validators as the
 * genesis and the transitions give them. Returns what it proved.
 */
async function verifyAnchoring(a, side, sideChainId, genesis) {
  if (side.chain_id !== sideChainId) fail('ECHAIN', `side header: chain ${side.chain_id}, expected ${sideChainId}`);
  let anchoredHeight = side.height, anchoredHash = side.hash, anchored = side;
  if (a.anchored_header === null) {
    if (a.hist_path.length) fail('EINVAL', 'hist_path: must be empty without an anchored header');
  } else {
    anchored = await decodeHeader(a.anchored_header);
    if (anchored.chain_id !== sideChainId) fail('ECHAIN', `anchored header: chain ${anchored.chain_id}, bundle says ${sideChainId}`);
    if (anchored.height <= side.height) fail('EINVAL', `anchored header: height ${anchored.height} not above ${side.height}`);
    const leaf = await merkleLeaf(LEAF.BLOCK, side.hash);
    if (!(await merkleVerify(leaf, side.height, anchored.height, a.hist_path, anchored.hist_root)))
      fail('EPROOF', `hist_path: side block ${side.height} not in the history of block ${anchored.height}`);
    anchoredHeight = anchored.height;
    anchoredHash = anchored.hash;
  }
  const main = await decodeHeader(a.main_header);
  const entryLeaf = await merkleLeaf(LEAF.ANCHOR, encode([sideChainId, anchoredHeight, anchoredHash]));
  if (!(await merkleVerify(entryLeaf, a.anchor_index, main.xanchor_count, a.anchor_path, main.xanchor_root)))
    fail('EPROOF', `anchor_path: anchor of ${sideChainId} height ${anchoredHeight} not entry ${a.anchor_index} of main block ${main.height}`);
  if (main.chain_id !== genesis.chain_id) fail('ECHAIN', `main header: chain ${main.chain_id}, trusted chain is ${genesis.chain_id}`);
  const commit = decodeCommit(a.main_commit);
  if (commit.height !== main.height || !bytesEqual(commit.block_hash, main.hash)) fail('ESIG', 'main commit: not for this main header');
  const vs = await verifyTransitions(a, main, genesis.validators);
  if (!(await commitVerify(commit, main, vs))) fail('ESIG', 'main commit: does not verify');
  return { side_height: side.height, side_time_ms: side.time_ms, anchored_height: anchoredHeight, main_height: main.height, main_time_ms: main.time_ms, main_hash: main.hash, main_chain_id: main.chain_id, main_transitions: a.transitions.length };
}

function trustedMain(genesis) {
  if (!genesis || genesis.kind !== 1 || !Array.isArray(genesis.validators)) fail('EINVAL', 'no trusted main-chain genesis');
}

/*
 * Verifies a proof bundle against the main genesis ("Proof bundle", in order). Returns the
 * facts it proves: side_chain_id, tx (decoded), result {code, ref, slot}, side and main
 * heights and times, has_payload. Throws EcertError on the first step that fails.
 */
export async function verifyBundle(bytes, genesis) {
  trustedMain(genesis);
  const b = decodeBundle(bytes);
  let tx;
  try {
    tx = await decodeTx(b.tx);
  } catch (e) {
    fail(e.code || 'EINVAL', `transaction: malformed (${e.message})`);
  }
  if (tx.chain_id !== b.side_chain_id) fail('ECHAIN', `transaction: chain ${tx.chain_id}, bundle says ${b.side_chain_id}`);
  if (!tx.sigValid) fail('ESIG', 'transaction: signature does not verify');
  if (b.payload) {
    if (!tx.payload_hash) fail('EINVAL', 'payload: transaction has no payload_hash');
    if (!bytesEqual(await sha256(b.payload), tx.payload_hash)) fail('EPROOF', 'payload: hash differs from payload_hash');
  }
  const side = await decodeHeader(b.side_header);
  if (side.chain_id !== b.side_chain_id) fail('ECHAIN', `side header: chain ${side.chain_id}, bundle says ${b.side_chain_id}`);
  const code = -Number(b.result.code);
  const leaf = await merkleLeaf(LEAF.TX, concat(tx.id, new Uint8Array([code]), be64(b.result.ref), be64(b.result.slot)));
  if (!(await merkleVerify(leaf, b.tx_index, side.tx_count, b.tx_path, side.tx_root)))
    fail('EPROOF', `tx_path: tx ${b.tx_index} of ${side.tx_count} not in side block ${side.height}`);
  const at = await verifyAnchoring(b, side, b.side_chain_id, genesis);
  return { side_chain_id: b.side_chain_id, tx, tx_id: tx.id, tx_type: tx.type, tx_type_name: SIDE_TX_NAMES[tx.type] || `type ${tx.type}`, sender: tx.sender, result: b.result, has_payload: !!b.payload, payload: b.payload, ...at };
}

/* ---- status lists ------------------------------------------------------------------------ */

export const STATUS_NAMES = ['valid', 'suspended', 'revoked', 'ended'];

export function statusAt(list, index) {
  index = Number(index);
  return (list[Math.floor(index / 4)] >> (2 * (index % 4))) & 3;
}

export async function statusRoot(list, count) {
  const bytes = Math.ceil(count / 4);
  const leaves = [];
  for (let at = 0; at < bytes; at += 1024) leaves.push(await merkleLeaf(LEAF.STATUS, list.subarray(at, Math.min(bytes, at + 1024))));
  return sha256(concat(TAG_STATUS, be64(count), await merkleRoot(leaves)));
}

/* Verifies a status-list object ("Status list"): {side_chain_id, count, list, time_ms, ...}. */
export async function verifyStatusList(bytes, genesis) {
  trustedMain(genesis);
  const v = versioned(decodeStrict(bytes, SLIST_BYTES_MAX), 1, 14, 'status list');
  const sideChainId = chainId(v[1], 'status list side_chain_id');
  const count = uint(v[2], 'status list count', LIMITS.slistCerts);
  const list = bin(v[3], 'status list list');
  const digest = binFixed(v[4], 32, 'status list state_digest');
  const mirrored = uint(v[5], 'status list mirrored_records');
  const a = readAnchoring(v, 6);
  if (list.length !== Math.ceil(count / 4)) fail('EINVAL', 'status list: wrong length for its count');
  if (count % 4 && list[list.length - 1] >> (2 * (count % 4))) fail('EINVAL', 'status list: bits set past its count');
  const side = await decodeHeader(a.side_header);
  const root = await statusRoot(list, count);
  const stateRoot = await sha256(concat(TAG_SIDESTATE, digest, be64(mirrored), root));
  if (!bytesEqual(stateRoot, side.state_root)) fail('EPROOF', `status list: not the list side block ${side.height} of ${sideChainId} commits to`);
  const at = await verifyAnchoring(a, side, sideChainId, genesis);
  return { side_chain_id: sideChainId, count, list, time_ms: side.time_ms, ...at };
}

/* ---- certificate fields ------------------------------------------------------------------ */

/* leaf(0x05, msgpack [name, value, salt]) ("Certificate payload"). */
export async function fieldLeaf(f) {
  return merkleLeaf(LEAF.FIELD, encode([f.name, f.value, f.salt]));
}
export async function fieldsRoot(fields) {
  return merkleRoot(await Promise.all(fields.map(fieldLeaf)));
}

/* ---- addresses (bech32m, "Addresses") ---------------------------------------------------- */

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const BECH32M = 0x2bc830a3;
function polymod(values) {
  const gen = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = (((chk & 0x1ffffff) << 5) ^ v) >>> 0;
    for (let i = 0; i < 5; i++) if ((top >> i) & 1) chk = (chk ^ gen[i]) >>> 0;
  }
  return chk;
}
function hrpExpand(hrp) {
  const out = [];
  for (const c of hrp) out.push(c.charCodeAt(0) >> 5);
  out.push(0);
  for (const c of hrp) out.push(c.charCodeAt(0) & 31);
  return out;
}

/* ec1...: bech32m over the first 20 bytes of SHA-256("ecert/address" || pk). */
export async function addressFromPk(pk) {
  const h = (await sha256(concat(utf8.encode('ecert/address'), pk))).subarray(0, 20);
  const groups = [];
  let acc = 0, bits = 0;
  for (const b of h) {
    acc = ((acc << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      groups.push((acc >> bits) & 31);
    }
  }
  const chk = polymod([...hrpExpand('ec'), ...groups, 0, 0, 0, 0, 0, 0]) ^ BECH32M;
  let s = 'ec1';
  for (const g of groups) s += CHARSET[g];
  for (let i = 0; i < 6; i++) s += CHARSET[(chk >>> (5 * (5 - i))) & 31];
  return s;
}

/* True for a well-formed ec1 address (lowercase, 32 data groups, bech32m checksum). */
export function addressValid(s) {
  if (typeof s !== 'string' || !/^ec1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{38}$/.test(s)) return false;
  const data = [...s.slice(3)].map((c) => CHARSET.indexOf(c));
  return polymod([...hrpExpand('ec'), ...data]) === BECH32M;
}

/* ---- presentations ----------------------------------------------------------------------- */

function openEnvelope(bytes, max, what) {
  const env = arr(decodeStrict(bytes, max), 2, what);
  return { body: bin(env[0], `${what} body`, max), sig: binFixed(env[1], 64, `${what} sig`) };
}

/* A verifier's request ("Presentations"), with its signature checked. */
export async function openRequest(bytes) {
  if (bytes.length > LIMITS.request) fail('ETOOBIG', `a request is at most ${LIMITS.request} bytes`);
  const { body, sig } = openEnvelope(bytes, LIMITS.request, 'request');
  const v = versioned(decodeStrict(body, LIMITS.request), 1, 6, 'request');
  const r = {
    verifier_pk: binFixed(v[1], 32, 'request verifier_pk'),
    side_chain_id: chainId(v[2], 'request side_chain_id'),
    fields: arrMax(v[3], 16, 'request fields').map((f) => str(f, 'request field', 64)),
    nonce: binFixed(v[4], 16, 'request nonce'),
    expires_ms: uint(v[5], 'request expires_ms'),
    bytes,
  };
  if (r.fields.length === 0 || r.fields.some((f, i) => f === '' || r.fields.indexOf(f) !== i)) fail('EINVAL', 'request: fields must be 1..16 distinct names');
  if (!(await ed25519Verify(r.verifier_pk, sig, concat(TAG_REQUEST, body)))) fail('ESIG', "the request's signature does not hold (altered)");
  r.verifier = await addressFromPk(r.verifier_pk);
  return r;
}

/*
 * Checks a presentation as cl_present_check does. ownRequest (the bytes of the request
 * this verifier made) is optional: without it the page says which verifier asked and
 * cannot tell a replay or a foreign nonce. now_ms is the clock. Returns
 * {ok: true, ...facts} or {ok: false, reason, message, ...facts known so far}; reasons as
 * the CLI's: malformed, altered, wrong-verifier, foreign-nonce, expired, bad-proof,
 * wrong-holder, missing-field.
 */
export async function checkPresentation(bytes, genesis, { ownRequest = null, nowMs = Date.now() } = {}) {
  const out = { ok: false };
  const refuse = (reason, message) => Object.assign(out, { reason, message });
  let body, sig, v;
  try {
    ({ body, sig } = openEnvelope(bytes, PRESENT_BYTES_MAX, 'presentation'));
    v = versioned(decodeStrict(body, PRESENT_BYTES_MAX), 1, 7, 'presentation');
    out.request_bytes = bin(v[1], 'presentation request', LIMITS.request);
    out.holder_pk = binFixed(v[2], 32, 'presentation holder_pk');
    out.bundle = bin(v[3], 'presentation bundle', LIMITS.bundle);
    out.field_count = uint(v[4], 'presentation field_count', LIMITS.fields);
    out.status_list = binOpt(v[6], 'presentation status_list');
  } catch (e) {
    return refuse('malformed', `not a presentation (${e.message})`);
  }
  out.holder = await addressFromPk(out.holder_pk);
  if (!(await ed25519Verify(out.holder_pk, sig, concat(TAG_PRESENTATION, body)))) return refuse('altered', "altered: the holder's signature does not hold");
  try {
    out.request = await openRequest(out.request_bytes);
  } catch (e) {
    return refuse('altered', `altered: the request inside: ${e.message}`);
  }
  if (ownRequest) {
    let own;
    try {
      own = await openRequest(ownRequest);
    } catch (e) {
      return refuse('malformed', `your request: ${e.message}`);
    }
    if (!bytesEqual(own.verifier_pk, out.request.verifier_pk)) return refuse('wrong-verifier', `made for another verifier (${out.request.verifier}), not for you`);
    if (!bytesEqual(own.bytes, out.request_bytes)) return refuse('foreign-nonce', 'foreign nonce: it answers another of your requests, not this one');
  }
  if (nowMs > Number(out.request.expires_ms)) return refuse('expired', 'expired: the request it answers is no longer valid');
  let issue;
  try {
    out.proof = await verifyBundle(out.bundle, genesis);
  } catch (e) {
    return refuse('bad-proof', `the certificate's proof does not verify: ${e.message}`);
  }
  try {
    if (out.proof.result.code !== 0 || out.proof.tx_type !== 1) throw new Error('not an applied ISSUE');
    issue = decodeIssueBody(out.proof.tx.body);
  } catch {
    return refuse('bad-proof', 'the bundle is not that of an applied ISSUE');
  }
  out.issue = issue;
  if (out.proof.side_chain_id !== out.request.side_chain_id) return refuse('bad-proof', `the certificate is of ${out.proof.side_chain_id}, not of the chain requested`);
  if (issue.holder !== out.holder) return refuse('wrong-holder', `wrong holder: the certificate belongs to ${issue.holder}, not to who signed`);
  out.disclosed = [];
  try {
    arrMax(v[5], LIMITS.fields, 'disclosed');
  } catch {
    return refuse('malformed', 'no field disclosed');
  }
  if (v[5].length === 0) return refuse('malformed', 'no field disclosed');
  let last = -1;
  for (const e of v[5]) {
    let f;
    try {
      arr(e, 5, 'disclosed field');
      f = { index: uint(e[0], 'index'), name: str(e[1], 'name', 64), value: str(e[2], 'value', LIMITS.fieldValue), salt: binFixed(e[3], 16, 'salt'), path: path(e[4], 'path') };
      if (f.index >= out.field_count || f.index <= last || f.name === '' || f.value.includes('\0')) throw new Error('bad');
    } catch {
      return refuse('malformed', 'a disclosed field is malformed');
    }
    if (!(await merkleVerify(await fieldLeaf(f), f.index, out.field_count, f.path, issue.fields_root)))
      return refuse('altered', `altered: field '${f.name}' is not the one the certificate holds`);
    out.disclosed.push({ name: f.name, value: f.value });
    last = f.index;
  }
  for (const name of out.request.fields)
    if (!out.disclosed.some((d) => d.name === name)) return refuse('missing-field', `the holder did not disclose the field '${name}' you asked for`);
  out.ok = true;
  return out;
}

/* ---- the verdict a counter clerk reads ---------------------------------------------------- */

/*
 * Everything the verify page says about a certificate's bundle: the proof, the ISSUE's
 * facts, expiry by the clock, and the status from a status list when one is given (it must
 * verify and be of the same chain). verdict is one of: valid, revoked, suspended, ended,
 * expired, refused (the chain refused the transaction), not-certificate, tampered.
 */
export async function assessBundle(bytes, genesis, { statusList = null, nowMs = Date.now() } = {}) {
  const out = { verdict: 'tampered' };
  try {
    out.proof = await verifyBundle(bytes, genesis);
  } catch (e) {
    out.error = e.message;
    return out;
  }
  return assessProven(out, statusList, genesis, nowMs);
}

async function assessProven(out, statusList, genesis, nowMs) {
  const p = out.proof;
  if (p.result.code !== 0) {
    out.verdict = 'refused';
    return out;
  }
  if (p.tx_type !== 1) {
    out.verdict = 'not-certificate';
    return out;
  }
  try {
    out.issue = decodeIssueBody(p.tx.body);
  } catch (e) {
    out.verdict = 'tampered';
    out.error = e.message;
    return out;
  }
  out.status = null;
  if (statusList) {
    try {
      const s = statusList.count !== undefined ? statusList : await verifyStatusList(statusList, genesis);
      if (s.side_chain_id !== p.side_chain_id) throw new EcertError('ECHAIN', 'the status list is of another chain');
      if (Number(p.result.slot) >= s.count) throw new EcertError('EINVAL', 'the status list is older than the certificate');
      out.status = { code: statusAt(s.list, p.result.slot), name: STATUS_NAMES[statusAt(s.list, p.result.slot)], as_of_ms: s.time_ms, side_height: s.side_height };
    } catch (e) {
      out.status_error = e.message;
    }
  }
  const exp = Number(out.issue.expires_ms);
  out.expired = exp !== 0 && nowMs > exp;
  if (out.status && out.status.code !== 0) out.verdict = out.status.name === 'ended' ? 'ended' : out.status.name;
  else if (out.expired) out.verdict = 'expired';
  else out.verdict = 'valid';
  return out;
}

/* The same for a presentation: its checks first, then the certificate's verdict. */
export async function assessPresentation(bytes, genesis, { statusList = null, ownRequest = null, nowMs = Date.now() } = {}) {
  const pres = await checkPresentation(bytes, genesis, { ownRequest, nowMs });
  if (!pres.ok) {
    const tampered = ['malformed', 'altered', 'bad-proof', 'wrong-holder'].includes(pres.reason);
    return { verdict: tampered ? 'tampered' : 'refused-presentation', presentation: pres, error: pres.message, proof: pres.proof };
  }
  let list = statusList;
  if (!list && pres.status_list) list = pres.status_list;
  const out = await assessProven({ proof: pres.proof, presentation: pres }, list, genesis, nowMs);
  out.status_from_holder = !statusList && !!pres.status_list;
  return out;
}

/* What a file holds, from its first bytes: 'bundle', 'presentation', 'genesis', 'status-list'. */
export function sniff(bytes) {
  try {
    const v = decodeStrict(bytes, PRESENT_BYTES_MAX);
    if (Array.isArray(v) && v.length === 15 && v[0] === 2 && typeof v[1] === 'string') return 'bundle';
    if (Array.isArray(v) && v.length === 14 && v[0] === 1 && typeof v[1] === 'string') return 'status-list';
    if (Array.isArray(v) && v.length === 2 && v[0] instanceof Uint8Array && v[1] instanceof Uint8Array && v[1].length === 64) {
      const inner = decodeStrict(v[0], PRESENT_BYTES_MAX);
      if (Array.isArray(inner) && inner.length === 7) return 'presentation';
      if (Array.isArray(inner) && inner.length === 6) return 'request';
    }
    if (Array.isArray(v) && v.length >= 11 && v.length <= 13 && v[0] >= 2 && v[0] <= 4) return 'genesis';
  } catch {
    /* not canonical msgpack: not one of ours, or altered */
  }
  return 'unknown';
}
