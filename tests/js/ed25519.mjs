// tests/js/ed25519.mjs - a signer outside the gateway, for tests/integration/gateway.sh:
// the gateway never holds a key, so a client signs what POST .../tx/prepare returns
// (`sign_bytes`, base64) with its own Ed25519 key, here Node's crypto.
//
//   node ed25519.mjs new KEY.pem          makes a key (PKCS#8 PEM, mode 0600) and prints
//                                         its raw public key as hex
//   node ed25519.mjs sign KEY.pem B64     prints the signature (hex) of the bytes B64
//
// The secret key stays in the file: it is never printed.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

function rawPublicHex(publicKey) {
  // The SPKI DER of an Ed25519 key ends with its 32 raw bytes.
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return der.subarray(der.length - 32).toString('hex');
}

const [cmd, file, data] = process.argv.slice(2);
if (cmd === 'new' && file) {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  console.log(rawPublicHex(publicKey));
} else if (cmd === 'sign' && file && data) {
  const key = createPrivateKey(readFileSync(file));
  console.log(sign(null, Buffer.from(data, 'base64'), key).toString('hex'));
} else if (cmd === 'pk' && file) {
  console.log(rawPublicHex(createPublicKey(createPrivateKey(readFileSync(file)))));
} else {
  console.error('usage: node ed25519.mjs new KEY.pem | sign KEY.pem BASE64 | pk KEY.pem');
  process.exit(2);
}
