// verify.mjs - checks ecert's exported credentials with independent implementations, offline:
// Digital Bazaar's W3C VC 2.0 stack (@digitalbazaar/vc, data-integrity, eddsa-jcs-2022,
// vc-bitstring-status-list; contexts and did:key from @digitalbazaar/security-document-loader,
// no network) and the OpenWallet Foundation's SD-JWT VC library (@sd-jwt/sd-jwt-vc).
//
//   node verify.mjs vc FILE [STATUS_LIST_VC...]   the VC's proof, then its status (the
//                                                 status list credentials served from files)
//   node verify.mjs sd-jwt FILE NONCE AUD         the SD-JWT VC with key binding
//
// Prints "VERIFIED ..." and exits 0, or prints "REFUSED: why" and exits 1; for a VC whose
// status bit is set it prints "REFUSED: status <purpose>".
import {readFileSync} from 'node:fs';
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {createVerifyCryptosuite} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import {securityLoader} from '@digitalbazaar/security-document-loader';
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';
import {SDJwtVcInstance} from '@sd-jwt/sd-jwt-vc';
import {digest} from '@sd-jwt/crypto-nodejs';
import {createPublicKey, verify as edVerify} from 'node:crypto';

const [mode, file, ...rest] = process.argv.slice(2);
const refuse = why => {
  console.log(`REFUSED: ${why}`);
  process.exit(1);
};

// did:key Ed25519 -> node KeyObject (multicodec 0xed01, base58btc), for the SD-JWT path.
const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
function didKeyToPublicKey(did) {
  const z = did.replace(/^did:key:/, '').split('#')[0];
  if(!z.startsWith('z6Mk')) throw new Error(`not an Ed25519 did:key: ${did}`);
  let n = 0n;
  for(const c of z.slice(1)) n = n * 58n + BigInt(B58.indexOf(c));
  const bytes = Buffer.from(n.toString(16).padStart(68, '0'), 'hex');
  if(bytes[0] !== 0xed || bytes[1] !== 0x01) throw new Error('not ed25519-pub');
  return createPublicKey({key: {kty: 'OKP', crv: 'Ed25519',
    x: bytes.subarray(2).toString('base64url')}, format: 'jwk'});
}

async function verifyVc() {
  const credential = JSON.parse(readFileSync(file, 'utf8'));
  const loader = securityLoader();
  for(const f of rest) {
    const slc = JSON.parse(readFileSync(f, 'utf8'));
    loader.addStatic(slc.id, slc);
  }
  const documentLoader = loader.build();
  const suite = new DataIntegrityProof({cryptosuite: createVerifyCryptosuite()});
  const result = await vc.verifyCredential({
    credential, suite, documentLoader,
    checkStatus: rest.length ? checkStatus : undefined
  });
  if(!result.verified) {
    const statusFail = result.statusResult &&
      result.statusResult.results?.find(r => r.status === true);
    if(statusFail) refuse(`status ${statusFail.credentialStatus.statusPurpose}`);
    const err = result.error || result.results?.[0]?.error || result.statusResult?.error;
    refuse(err ? (err.errors?.[0]?.message || err.message) : 'not verified');
  }
  // "verified" means the status could be checked; a set bit is the status itself.
  const set = (result.statusResult?.results || []).find(r => r.status === true);
  if(set) refuse(`status ${set.credentialStatus.statusPurpose}`);
  const statuses = (result.statusResult?.results || [])
    .map(r => `${r.credentialStatus.statusPurpose}=${r.status}`).join(' ');
  console.log(`VERIFIED vc issuer=${credential.issuer} ${statuses}`);
}

async function verifySdJwt() {
  const [nonce, aud] = rest;
  const text = readFileSync(file, 'utf8').trim();
  const verifier = async (data, sig) => {
    const payload = JSON.parse(Buffer.from(data.split('.')[1], 'base64url').toString());
    const header = JSON.parse(Buffer.from(data.split('.')[0], 'base64url').toString());
    const key = didKeyToPublicKey(payload.iss || header.kid);
    return edVerify(null, Buffer.from(data), key, Buffer.from(sig, 'base64url'));
  };
  const kbVerifier = async (data, sig, payload) => {
    const key = createPublicKey({key: payload.cnf.jwk, format: 'jwk'});
    return edVerify(null, Buffer.from(data), key, Buffer.from(sig, 'base64url'));
  };
  const sdjwt = new SDJwtVcInstance({
    hasher: digest, verifier, kbVerifier, hashAlg: 'sha-256'
  });
  let r;
  try {
    r = await sdjwt.verify(text, {keyBindingNonce: nonce, requiredClaimKeys: []}, true);
  } catch(e) {
    refuse(e.message);
  }
  if(r.kb?.payload?.aud !== aud) refuse(`wrong audience ${r.kb?.payload?.aud}`);
  const claims = Object.keys(r.payload).filter(k => !['iss', 'iat', 'exp', 'vct', 'cnf',
    'ecert', 'credentialStatus', '_sd_alg'].includes(k));
  console.log(`VERIFIED sd-jwt issuer=${r.payload.iss} disclosed=${claims.sort().join(',')}`);
}

try {
  if(mode === 'vc') await verifyVc();
  else if(mode === 'sd-jwt') await verifySdJwt();
  else refuse(`unknown mode ${mode}`);
} catch(e) {
  refuse(e.message);
}
