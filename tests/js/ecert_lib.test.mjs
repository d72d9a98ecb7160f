// ecert_lib.test.mjs - known-answer and tampering tests of the portal's verification library
// (gateway/portal/js/ecert.mjs, ecert_holder.mjs) in Node: the objects in fixtures/ were made
// by the C client on a devnet (fixtures/README.md), so each test checks that the browser code
// reads and judges them exactly as the C does, and that any flipped byte is refused.
//
// Run: node --test tests/js/ecert_lib.test.mjs (tests/integration/portal.sh runs it too).
// ECERT_PORTAL_FIXTURES=DIR reads the same file names from another folder (fresh objects).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const ec = await import(path.join(here, '../../gateway/portal/js/ecert.mjs'));
const holderLib = await import(path.join(here, '../../gateway/portal/js/ecert_holder.mjs'));

const dir = process.env.ECERT_PORTAL_FIXTURES || path.join(here, 'fixtures');
const read = (name) => new Uint8Array(fs.readFileSync(path.join(dir, name)));
const facts = JSON.parse(fs.readFileSync(path.join(dir, 'facts.json'), 'utf8'));
const passphrase = fs.readFileSync(path.join(dir, 'passphrase'), 'utf8').replace(/\n$/, '');
const genesis = await ec.genesisFromYaml(fs.readFileSync(path.join(dir, 'main-genesis.yaml'), 'utf8'));
const statusList = read('degree.status');

/* Calls fn(copy) with byte i changed, for each i in positions; every call must throw or fail. */
async function everyFlip(bytes, positions, refused) {
  for (const i of positions) {
    const copy = bytes.slice();
    copy[i] ^= 0x01;
    assert.ok(await refused(copy), `flipping byte ${i} of ${bytes.length} was not refused`);
  }
}
const all = (n) => [...Array(n).keys()];
const throws = (fn) => async (b) => {
  try {
    await fn(b);
    return false;
  } catch (e) {
    return e instanceof ec.EcertError;
  }
};

test('the protocol vectors: field leaf root, address from a key', async () => {
  // docs/PROTOCOL.md "Certificate payload": ["a", "b", 16 zero bytes]
  const f = { name: 'a', value: 'b', salt: new Uint8Array(16) };
  assert.equal(ec.toHex(ec.encode([1, [[f.name, f.value, f.salt]], null])), '93019193a161a162c41000000000000000000000000000000000c0');
  assert.equal(ec.toHex(await ec.fieldsRoot([f])), 'fb759401f06658b343b9cab4ae94fb4970910920bf6c6bf813f0c4c1a6046b56');
  const pk = holderLib.keyFilePk(read('citizen.key'));
  assert.equal(await ec.addressFromPk(pk), facts.holder);
  assert.ok(ec.addressValid(facts.holder));
  assert.ok(!ec.addressValid(facts.holder.slice(0, -1) + (facts.holder.endsWith('q') ? 'p' : 'q')));
  assert.ok(!ec.addressValid(facts.holder.toUpperCase()));
});

test('strict decoding: canonical msgpack only', () => {
  assert.deepEqual(ec.decodeStrict(new Uint8Array([0x92, 0x05, 0xa1, 0x61])), [5, 'a']);
  const refused = [
    [0x92, 0xcc, 0x05, 0xa1, 0x61], // 5 as uint8: not the shortest form
    [0x92, 0x05, 0xa1, 0x61, 0x00], // trailing byte
    [0x81, 0xa1, 0x61, 0x01], // a map
    [0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0], // a float
    [0xd9, 0x01, 0x61], // str8 for a 1-byte string
    [0xa2, 0xc0, 0x80], // overlong UTF-8
    [0xdc, 0xff, 0xff], // an array longer than the bytes left
  ];
  for (const r of refused) assert.throws(() => ec.decodeStrict(new Uint8Array(r)), ec.EcertError, `accepted ${ec.toHex(new Uint8Array(r))}`);
  // As the C decoder: 16 nested arrays are the most, even when the innermost is empty.
  let deep = new Uint8Array([0x90]);
  for (let i = 0; i < 15; i++) deep = ec.concat(new Uint8Array([0x91]), deep);
  assert.equal(ec.decodeStrict(deep).length, 1);
  deep = ec.concat(new Uint8Array([0x91]), deep);
  assert.throws(() => ec.decodeStrict(deep), /nested/);
  // A lone surrogate (CESU-style ED A0 80) is not UTF-8 for ec_utf8_valid; it re-encodes
  // to the same bytes, so only an explicit check refuses it.
  assert.throws(() => ec.decodeStrict(new Uint8Array([0xa3, 0xed, 0xa0, 0x80])), /surrogate/);
  assert.equal(ec.decodeStrict(new Uint8Array([0xa4, 0xf0, 0x9f, 0x98, 0x80])), '\u{1f600}');
  assert.equal(ec.toHex(ec.encode([2 ** 40, -(2 ** 40), 2n ** 63n])), '93cf0000010000000000d3ffffff0000000000cf8000000000000000');
});

test('string fields refuse what ec_cur_str_copy refuses: a NUL inside, an empty org code', () => {
  const holder = facts.holder;
  const body = (h, org) => [h, org, new Uint8Array(32), 0];
  assert.equal(ec.decodeIssueBody(body(holder, 'org-1')).org_code, 'org-1');
  assert.throws(() => ec.decodeIssueBody(body(holder, '')), /org_code/);
  assert.throws(() => ec.decodeIssueBody(body(holder, 'org\0x')), /NUL/);
});

test('the main genesis YAML gives the chain genesis hash', () => {
  assert.equal(ec.toHex(genesis.hash), facts.main_genesis_hash);
  assert.equal(genesis.chain_id, facts.main_chain_id);
  assert.equal(genesis.kind, 1);
});

test('a real bundle verifies, with the facts the C client prints', async () => {
  const p = await ec.verifyBundle(read('valid.bundle'), genesis);
  assert.equal(ec.toHex(p.tx_id), facts.valid_cert);
  assert.equal(p.side_chain_id, facts.side_chain_id);
  assert.equal(p.side_height, facts.valid_side_height);
  assert.equal(p.main_height, facts.valid_main_height);
  assert.equal(p.tx_type_name, 'ISSUE');
  assert.equal(p.result.code, 0);
  assert.equal(p.result.slot, facts.valid_slot);
  const a = await ec.assessBundle(read('valid.bundle'), genesis, { statusList });
  assert.equal(a.verdict, 'valid');
  assert.equal(a.issue.holder, facts.holder);
  assert.equal(a.issue.org_code, facts.org_code);
  assert.equal(a.status.name, 'valid');
  assert.equal(a.status.side_height, facts.status_side_height);
  assert.equal(ec.sniff(read('valid.bundle')), 'bundle');
});

test('revoked and expired certificates say so', async () => {
  assert.equal((await ec.assessBundle(read('revoked.bundle'), genesis, { statusList })).verdict, 'revoked');
  const noList = await ec.assessBundle(read('revoked.bundle'), genesis);
  assert.equal(noList.verdict, 'valid'); // without a status list only the proof and expiry
  assert.equal(noList.status, null);
  const exp = await ec.assessBundle(read('expired.bundle'), genesis, { statusList });
  assert.equal(exp.verdict, 'expired');
  assert.equal(exp.issue.expires_ms, 1000000000000);
});

test('the status list verifies and reads each slot', async () => {
  const s = await ec.verifyStatusList(statusList, genesis);
  assert.equal(s.count, facts.status_count);
  assert.equal(s.side_chain_id, facts.side_chain_id);
  const revoked = await ec.verifyBundle(read('revoked.bundle'), genesis);
  assert.equal(ec.STATUS_NAMES[ec.statusAt(s.list, revoked.result.slot)], 'revoked');
  assert.equal(ec.statusAt(s.list, facts.valid_slot), 0);
  assert.equal(ec.sniff(statusList), 'status-list');
});

test('another genesis is not trusted', async () => {
  const other = await ec.decodeGenesis(ec.encode([2, 'ecert-main-dev', 1, '', 1, [[new Uint8Array(32).fill(7), 1]], [new Uint8Array(32).fill(8)], '', new Uint8Array(32), [], 0]));
  await assert.rejects(ec.verifyBundle(read('valid.bundle'), other), /main commit/);
  assert.equal((await ec.assessBundle(read('valid.bundle'), other)).verdict, 'tampered');
});

test('every flipped byte of a bundle is refused', async () => {
  const b = read('valid.bundle');
  await everyFlip(b, all(b.length), throws((x) => ec.verifyBundle(x, genesis)));
});

test('every flipped byte of a status list is refused', async () => {
  await everyFlip(statusList, all(statusList.length), throws((x) => ec.verifyStatusList(x, genesis)));
});

test('the key file opens with the passphrase, and only with it', async () => {
  const kf = read('citizen.key');
  const h = await holderLib.openKeyFile(kf, passphrase);
  assert.equal(h.address, facts.holder);
  assert.equal(h.sk.length, 64);
  h.wipe();
  assert.equal(h.sk, null);
  await assert.rejects(holderLib.openKeyFile(kf, passphrase + 'x'), /wrong passphrase/);
  // the ciphertext, nonce and salt are authenticated; the pk is checked against the sk
  const tail = kf.length - 1; // the last byte of the ciphertext
  for (const i of [tail, tail - 85, tail - 100]) {
    const c = kf.slice();
    c[i] ^= 1;
    await assert.rejects(holderLib.openKeyFile(c, passphrase), ec.EcertError, `byte ${i}`);
  }
});

test('the payload sealed to the holder decrypts to the fields under fields_root', async () => {
  const p = await ec.verifyBundle(read('valid-payload.bundle'), genesis);
  assert.ok(p.has_payload);
  const h = await holderLib.openKeyFile(read('citizen.key'), passphrase);
  const pl = await holderLib.openPayload(p.payload, h);
  const got = Object.fromEntries(pl.fields.map((f) => [f.name, f.value]));
  assert.deepEqual(got, facts.fields);
  const issue = ec.decodeIssueBody(p.tx.body);
  assert.equal(ec.toHex(await ec.fieldsRoot(pl.fields)), ec.toHex(issue.fields_root));
  const bad = p.payload.slice();
  bad[40] ^= 1;
  await assert.rejects(holderLib.openPayload(bad, h), /cannot decrypt/);
  h.wipe();
});

test("the CLI's presentation verifies; expired or with any flipped byte it does not", async () => {
  const pres = read('presentation.bin');
  const req = read('request.bin');
  const request = await ec.openRequest(req);
  const nowMs = Number(request.expires_ms) - 1;
  const ok = await ec.checkPresentation(pres, genesis, { ownRequest: req, nowMs });
  assert.ok(ok.ok, ok.message);
  assert.deepEqual(ok.disclosed, [{ name: 'name', value: facts.fields.name }, { name: 'degree', value: facts.fields.degree }]);
  assert.equal(ok.holder, facts.holder);
  assert.equal(request.verifier, facts.verifier);
  assert.equal((await ec.assessPresentation(pres, genesis, { nowMs })).verdict, 'valid');
  assert.equal((await ec.checkPresentation(pres, genesis, { ownRequest: req, nowMs: Number(request.expires_ms) + 1 })).reason, 'expired');
  assert.equal(ec.sniff(pres), 'presentation');
  assert.equal(ec.sniff(req), 'request');
  await everyFlip(pres, all(pres.length), async (x) => !(await ec.checkPresentation(x, genesis, { ownRequest: req, nowMs })).ok);
});

test('a presentation built here verifies here and discloses only what was chosen', async () => {
  const req = read('request.bin');
  const nowMs = Number((await ec.openRequest(req)).expires_ms) - 1;
  const h = await holderLib.openKeyFile(read('citizen.key'), passphrase);
  const p = await ec.verifyBundle(read('valid-payload.bundle'), genesis);
  const { fields } = await holderLib.openPayload(p.payload, h);
  const bytes = await holderLib.buildPresentation({ request: req, holder: h, bundle: read('valid.bundle'), fields, names: ['degree', 'name'], statusList });
  const r = await ec.checkPresentation(bytes, genesis, { ownRequest: req, nowMs });
  assert.ok(r.ok, r.message);
  assert.deepEqual(r.disclosed.map((d) => d.name), ['name', 'degree']);
  assert.ok(!JSON.stringify(r.disclosed).includes(facts.fields.major));
  const partial = await holderLib.buildPresentation({ request: req, holder: h, bundle: read('valid.bundle'), fields, names: ['name'] });
  assert.equal((await ec.checkPresentation(partial, genesis, { ownRequest: req, nowMs })).reason, 'missing-field');
  await assert.rejects(holderLib.buildPresentation({ request: req, holder: h, bundle: read('valid.bundle'), fields, names: ['nope'] }), /no field/);
  h.wipe();
});
