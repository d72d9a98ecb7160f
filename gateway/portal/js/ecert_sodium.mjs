// ecert_sodium.mjs - the few libsodium functions the holder page needs, called directly on
// libsodium.js's raw WebAssembly build (npm libsodium-sumo, ESM). The package's own
// wrappers (libsodium-wrappers-sumo) import it by a bare name, which a browser resolves
// only through an inline import map, and the gateway's Content-Security-Policy
// (script-src 'self') forbids inline scripts; this module imports the raw build by path
// instead, so it needs neither. Each call copies its inputs into the WebAssembly heap,
// runs the C function, copies the output out, and zeroes every buffer it used before
// freeing it (secrets must not linger in the heap). The calling convention is the one the
// wrappers use: a 64-bit length is passed as two 32-bit halves (low, high).

import factory from '../node_modules/libsodium-sumo/dist/modules-sumo-esm/libsodium-sumo.mjs';

let na = null;

/* The initialised module (sodium_init done), once. */
export async function ready() {
  if (!na) {
    const m = await factory({
      getRandomValue() {
        const v = new Uint32Array(1);
        globalThis.crypto.getRandomValues(v);
        return v[0] >>> 0;
      },
    });
    if (m._sodium_init() < 0) throw new Error('libsodium could not be initialised');
    na = m;
  }
  return na;
}

/* Throws unless b is a Uint8Array of n bytes: the C functions read fixed-size keys and
 * nonces through bare pointers, so a short one would read past its buffer in the heap. */
function need(b, n, what) {
  if (!(b instanceof Uint8Array) || b.length !== n) throw new Error(`libsodium: ${what} must be ${n} bytes`);
}

/* Runs fn with each of inputs copied into the heap and outputs allocated; wipes all. */
function call(inputs, outSizes, fn) {
  const ptrs = [];
  const alloc = (n) => {
    const p = na._malloc(Math.max(n, 1));
    if (!p) throw new Error('out of memory in libsodium');
    ptrs.push([p, n]);
    return p;
  };
  try {
    const inPtrs = inputs.map((b) => {
      const p = alloc(b.length);
      na.HEAPU8.set(b, p);
      return p;
    });
    const outPtrs = outSizes.map(alloc);
    const rc = fn(inPtrs, outPtrs);
    return { rc, outs: outPtrs.map((p, i) => na.HEAPU8.slice(p, p + outSizes[i])) };
  } finally {
    for (const [p, n] of ptrs) {
      na.HEAPU8.fill(0, p, p + n);
      na._free(p);
    }
  }
}

export const SEAL_BYTES = 48; // crypto_box_SEALBYTES
export const ARGON2ID13 = 2; // crypto_pwhash_ALG_ARGON2ID13

/* crypto_pwhash with Argon2id13: 32 bytes. Throws when the costs cannot be met. */
export function pwhash(pass, salt, opslimit, memlimit) {
  need(salt, 16, 'the Argon2id salt');
  const { rc, outs } = call([pass, salt], [32], ([p, s], [o]) => na._crypto_pwhash(o, 32, 0, p, pass.length, 0, s, opslimit, 0, memlimit, ARGON2ID13));
  if (rc !== 0) throw new Error('Argon2id failed (not enough memory?)');
  return outs[0];
}

/* crypto_secretbox_open_easy (tag first); null when it does not authenticate. */
export function secretboxOpen(ct, nonce, key) {
  need(nonce, 24, 'the secretbox nonce');
  need(key, 32, 'the secretbox key');
  if (ct.length < 16) return null;
  const { rc, outs } = call([ct, nonce, key], [ct.length - 16], ([c, n, k], [m]) => na._crypto_secretbox_open_easy(m, c, ct.length, 0, n, k));
  return rc === 0 ? outs[0] : null;
}

/* crypto_box_seal_open with an X25519 key pair; null when it does not open. */
export function sealOpen(box, xpk, xsk) {
  need(xpk, 32, 'the X25519 public key');
  need(xsk, 32, 'the X25519 secret key');
  if (box.length < SEAL_BYTES) return null;
  const { rc, outs } = call([box, xpk, xsk], [box.length - SEAL_BYTES], ([b, p, s], [m]) => na._crypto_box_seal_open(m, b, box.length, 0, p, s));
  return rc === 0 ? outs[0] : null;
}

/* The X25519 forms of an Ed25519 public key (null for a bad point) and secret key. */
export function pkToCurve(pk) {
  need(pk, 32, 'the Ed25519 public key');
  const { rc, outs } = call([pk], [32], ([p], [o]) => na._crypto_sign_ed25519_pk_to_curve25519(o, p));
  return rc === 0 ? outs[0] : null;
}
export function skToCurve(sk) {
  need(sk, 64, 'the Ed25519 secret key');
  return call([sk], [32], ([s], [o]) => na._crypto_sign_ed25519_sk_to_curve25519(o, s)).outs[0];
}

/* crypto_sign_detached: the 64-byte Ed25519 signature of msg under sk (seed ‖ pk). */
export function signDetached(msg, sk) {
  need(sk, 64, 'the Ed25519 secret key');
  return call([msg, sk], [64], ([m, s], [o]) => na._crypto_sign_detached(o, 0, m, msg.length, 0, s)).outs[0];
}
