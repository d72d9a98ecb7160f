// ecert_holder.mjs - what a holder does in the browser with their own key: open an encrypted
// key file (docs/PROTOCOL.md "Key files": Argon2id13 + XSalsa20-Poly1305), open a certificate
// payload sealed to them ("Certificate payload": crypto_box_seal to the Ed25519 key converted
// to X25519), and build and sign a presentation for a verifier's request ("Presentations";
// client/cl_present.c is the reference). libsodium (the sumo build, for crypto_pwhash and the
// Ed25519 to X25519 conversions, through ecert_sodium.mjs) does the cryptography; the secret
// key never leaves the page's memory, and wipe() zeroes it.
//
// Loaded by holder.html and by the Node tests; the verify page does not load it.

import * as na from './ecert_sodium.mjs';
import { EcertError, decodeStrict, encode, concat, bytesEqual, addressFromPk, fieldLeaf, merkleProof, openRequest, LIMITS } from './ecert.mjs';

export const ready = na.ready;

const SUITE = 'ed25519/argon2id13/xsalsa20poly1305';
const utf8 = new TextEncoder();

/*
 * Opens a key file with its passphrase (a string; the one trailing newline of a passphrase
 * file is not the page's concern). Returns {pk, sk (64 bytes: seed then pk), address,
 * wipe()}. Throws EcertError: EINVAL (not a key file, or sk does not match pk), ECRYPTO
 * (wrong passphrase or altered file), ELIMIT (costs above what the format allows).
 */
export async function openKeyFile(bytes, passphrase) {
  await ready();
  const v = decodeStrict(bytes, 4096);
  if (Array.isArray(v) && typeof v[0] === 'number' && v[0] !== 1) throw new EcertError('EVERSION', `key file version ${v[0]}`);
  const ok =
    Array.isArray(v) && v.length === 8 && v[1] === SUITE &&
    v[2] instanceof Uint8Array && v[2].length === 32 &&
    v[3] instanceof Uint8Array && v[3].length === 16 &&
    typeof v[4] === 'number' && v[4] >= 1 && v[4] <= 16 &&
    typeof v[5] === 'number' && v[5] >= 8192 && v[5] <= 2 ** 30 &&
    v[6] instanceof Uint8Array && v[6].length === 24 &&
    v[7] instanceof Uint8Array && v[7].length === 80;
  if (!ok) throw new EcertError('EINVAL', 'not an ecert key file');
  const pass = utf8.encode(passphrase);
  if (pass.length === 0 || pass.length > 1024) throw new EcertError('EINVAL', 'the passphrase must be 1 to 1024 bytes');
  const [, , pk, salt, ops, mem, nonce, ct] = v;
  let key;
  try {
    key = na.pwhash(pass, salt, ops, mem);
  } catch (e) {
    throw new EcertError('ENOMEM', e.message);
  } finally {
    pass.fill(0);
  }
  const sk = na.secretboxOpen(ct, nonce, key);
  key.fill(0);
  if (!sk) throw new EcertError('ECRYPTO', 'wrong passphrase, or the key file was altered');
  if (!bytesEqual(sk.subarray(32), pk)) {
    sk.fill(0);
    throw new EcertError('EINVAL', "the key file's public key does not match its secret key");
  }
  const holder = { pk: pk.slice(), sk, address: await addressFromPk(pk) };
  holder.wipe = () => {
    if (holder.sk) holder.sk.fill(0);
    holder.sk = null;
  };
  return holder;
}

/* The public key of a key file, without the passphrase (field 2). */
export function keyFilePk(bytes) {
  const v = decodeStrict(bytes, 4096);
  if (!Array.isArray(v) || v.length !== 8 || !(v[2] instanceof Uint8Array) || v[2].length !== 32) throw new EcertError('EINVAL', 'not an ecert key file');
  return v[2];
}

/*
 * Opens a payload sealed to holder and decodes [1, [[name, value, salt]...], attachment].
 * Returns {fields: [{name, value, salt}], attachment}. Throws EcertError ECRYPTO (not
 * sealed to this key, or altered) or EINVAL (not a certificate payload).
 */
export async function openPayload(sealed, holder) {
  await ready();
  if (!holder.sk) throw new EcertError('EINVAL', 'the key was closed');
  if (sealed.length < na.SEAL_BYTES) throw new EcertError('EINVAL', 'the sealed payload is too short');
  const xpk = na.pkToCurve(holder.pk);
  if (!xpk) throw new EcertError('EINVAL', 'the key is not a usable Ed25519 point');
  const xsk = na.skToCurve(holder.sk);
  const plain = na.sealOpen(sealed, xpk, xsk);
  xsk.fill(0);
  if (!plain) throw new EcertError('ECRYPTO', 'cannot decrypt the payload: it is not sealed to this key, or it was altered');
  try {
    return decodePayload(plain);
  } finally {
    plain.fill(0); // the strings decoded from it are copies
  }
}

/* The plaintext of a certificate payload ("Certificate payload"), strictly. */
export function decodePayload(plain) {
  const v = decodeStrict(plain, LIMITS.payload);
  if (Array.isArray(v) && typeof v[0] === 'number' && v[0] !== 1) throw new EcertError('EVERSION', `payload version ${v[0]}`);
  if (!Array.isArray(v) || v.length !== 3 || !Array.isArray(v[1]) || v[1].length > LIMITS.fields) throw new EcertError('EINVAL', 'payload is malformed');
  const fields = v[1].map((f) => {
    const ok = Array.isArray(f) && f.length === 3 && typeof f[0] === 'string' && typeof f[1] === 'string' && f[2] instanceof Uint8Array && f[2].length === 16;
    if (!ok) throw new EcertError('EINVAL', 'a payload field is malformed');
    const n = utf8.encode(f[0]).length;
    if (n < 1 || n > LIMITS.fieldName || utf8.encode(f[1]).length > LIMITS.fieldValue) throw new EcertError('EINVAL', 'a payload field is out of bounds');
    return { name: f[0], value: f[1], salt: f[2].slice() }; // a copy: plain is wiped
  });
  if (new Set(fields.map((f) => f.name)).size !== fields.length) throw new EcertError('EINVAL', 'payload: a field name twice');
  if (v[2] !== null && !(v[2] instanceof Uint8Array)) throw new EcertError('EINVAL', 'payload attachment is malformed');
  return { fields, attachment: v[2] === null ? null : v[2].slice() };
}

/*
 * Builds and signs a presentation answering request (its bytes) with the named fields of
 * the certificate (all its fields, as decrypted), its ISSUE's bundle and optionally a
 * status-list object. Returns the presentation's bytes. Throws EcertError (EINVAL, ENOTFOUND).
 */
export async function buildPresentation({ request, holder, bundle, fields, names, statusList = null }) {
  await ready();
  await openRequest(request); // a request that does not verify is not answered
  if (!holder.sk) throw new EcertError('EINVAL', 'the key was closed');
  if (names.length === 0 || names.length > LIMITS.fields) throw new EcertError('EINVAL', `disclose 1..${LIMITS.fields} fields`);
  const chosen = new Set();
  for (const n of names) {
    const i = fields.findIndex((f) => f.name === n);
    if (i < 0) throw new EcertError('ENOTFOUND', `the certificate has no field '${n}'`);
    if (chosen.has(i)) throw new EcertError('EINVAL', `field '${n}' named twice`);
    chosen.add(i);
  }
  const leaves = await Promise.all(fields.map(fieldLeaf));
  const disclosed = [];
  for (let i = 0; i < fields.length; i++) {
    if (!chosen.has(i)) continue;
    const f = fields[i];
    disclosed.push([i, f.name, f.value, f.salt, await merkleProof(leaves, i)]);
  }
  const body = encode([1, request, holder.pk, bundle, fields.length, disclosed, statusList]);
  const tagBytes = concat(utf8.encode('ecert/presentation'), new Uint8Array([0]));
  const sig = na.signDetached(concat(tagBytes, body), holder.sk);
  return encode([body, sig]);
}
