// verify.mjs - the verify page: takes a proof bundle or a presentation (file, dropped file,
// QR picture, camera), checks it with ecert.mjs against the trusted main genesis, and says
// the result in plain words with the facts below. The proof check never uses the network;
// the status (revoked, suspended) comes from a status list: the registry's, fetched now and
// verified like the proof (the gateway is not trusted), or one the holder brought, or one
// the clerk loaded; without any the page says the status was not checked.

import { assessBundle, assessPresentation, verifyStatusList, sniff, toHex, SIDE_TX_NAMES, fromBase64 } from './ecert.mjs';
import { api, seg, storedGenesis, storeGenesis, fetchGenesis, genesisFromFile, chainNames, el, facts, when, day, fileBytes } from './ecert_web.mjs';
import { qrFromFile, isImage, scanCamera } from './qr.mjs';

const $ = (id) => document.getElementById(id);

const state = {
  genesis: null,
  ownRequest: null, // bytes of the clerk's own request, when given
  fileList: null, // a status list the clerk loaded: verified object
  stopCamera: null,
};

/* ---- the trusted genesis ---------------------------------------------------------------- */

function showGenesis(note) {
  const g = state.genesis;
  const p = $('genesis-state');
  p.className = g ? '' : 'error';
  p.replaceChildren();
  if (!g) {
    p.append('No main-chain genesis yet: the registry could not be reached. Load its genesis file below to check documents.');
    return;
  }
  p.append(
    el('span', {}, `Main chain ${g.genesis.chain_id}, genesis `),
    el('code', {}, toHex(g.genesis.hash).slice(0, 16) + '…'),
    el('span', {}, `, ${g.genesis.validators.length} validator(s); ${g.source === 'file' ? 'loaded from a file' : 'from the registry'} on ${when(g.saved_ms)}.`),
  );
  if (note) p.append(el('span', { class: 'notice block' }, note));
}

async function loadGenesis() {
  state.genesis = await storedGenesis();
  let note = null;
  try {
    const fresh = await fetchGenesis();
    if (!state.genesis) {
      storeGenesis(fresh, 'registry');
      state.genesis = await storedGenesis();
    } else if (toHex(fresh.hash) !== toHex(state.genesis.genesis.hash)) {
      note = `The registry now serves another genesis (${toHex(fresh.hash).slice(0, 16)}…); this page keeps the one it trusted before. Load a genesis file to change it.`;
    }
  } catch {
    if (state.genesis) note = 'The registry cannot be reached now: the genesis kept in this browser is used.';
  }
  showGenesis(note);
}

/* ---- status lists ------------------------------------------------------------------------ */

/* The registry's current status list for a side chain, verified; or null (offline, or bad). */
async function registryList(sideChainId) {
  if (navigator.onLine === false) return { list: null, why: 'offline' };
  const name = (await chainNames())[sideChainId]?.name;
  if (!name) return { list: null, why: 'offline' };
  try {
    const j = await api(`chains/${seg(name)}/status-list`, { timeoutMs: 6000, waitAnchoredMs: 2000 });
    return { list: await verifyStatusList(fromBase64(j.object), state.genesis.genesis), why: null, name, reached: true };
  } catch (e) {
    if (e.code) return { list: null, why: `the registry's status list did not verify (${e.message})`, name, reached: true };
    return { list: null, why: e.status ? `the registry gave no status list (${e.message})` : 'offline', name, reached: !!e.status };
  }
}

/*
 * The certificate's status as the gateway reports it (the `cert` query), not proven. Used
 * only when no verified status list can be had, and only to refuse: a server that lies can
 * make the page say "revoked" (the clerk then asks the issuer), never "in force".
 */
const UNPROVEN = { revoked: 'revoked', suspended: 'suspended', cancelled: 'ended' };
async function reportedStatus(name, certId) {
  try {
    const c = await api(`chains/${seg(name)}/certs/${certId}`, { timeoutMs: 5000 });
    if (c.erased && c.status !== 'revoked') return 'ended';
    return UNPROVEN[c.status] || null;
  } catch {
    return null;
  }
}

/* When the certificate was revoked, from the registry's public history (best effort). */
async function revokedOn(name, certId) {
  try {
    const c = await api(`chains/${seg(name)}/certs/${certId}`, { timeoutMs: 5000 });
    const r = (c.history || []).filter((h) => h.type_name === 'REVOKE').pop();
    if (!r) return null;
    const h = await api(`chains/${seg(name)}/headers/${r.height}`, { timeoutMs: 5000 });
    return h.time_ms;
  } catch {
    return null;
  }
}

/* ---- checking ---------------------------------------------------------------------------- */

async function check(bytes, origin) {
  const out = $('result');
  out.replaceChildren(el('p', { class: 'muted' }, 'Checking…'));
  out.removeAttribute('data-verdict');
  if (!state.genesis) {
    out.replaceChildren(el('p', { class: 'error' }, 'The page has no main-chain genesis to check against: load the genesis file below, or reconnect and reload.'));
    return;
  }
  const g = state.genesis.genesis;
  let kind = sniff(bytes);
  if (kind === 'status-list') return loadStatusList(bytes);
  if (kind === 'request') {
    show({ verdict: 'info' }, { cls: 'warn', title: 'This is a verifier’s request', text: 'It asks a holder for a certificate; it is not one. Use it under “Your request”.' });
    return;
  }
  if (kind === 'genesis') return useGenesisBytes(bytes);
  let assessed;
  if (kind === 'bundle') {
    assessed = await assessBundle(bytes, g);
  } else if (kind === 'presentation') {
    assessed = await assessPresentation(bytes, g, { ownRequest: state.ownRequest });
  } else {
    assessed = { verdict: 'tampered', error: 'not a document from the registry' };
  }
  // The status: the registry's list now, else the clerk's file, else the holder's.
  let statusSource = 'unchecked', why = 'offline', name = null;
  const p = assessed.proof;
  if (p && ['valid', 'expired'].includes(assessed.verdict) || (p && assessed.status)) {
    const reg = await registryList(p.side_chain_id);
    name = reg.name || null;
    let list = reg.list;
    if (list) statusSource = 'registry';
    else {
      why = reg.why;
      if (state.fileList && state.fileList.side_chain_id === p.side_chain_id) {
        list = state.fileList;
        statusSource = 'file';
      }
    }
    if (list) {
      assessed = kind === 'bundle' ? await assessBundle(bytes, g, { statusList: list }) : await assessPresentation(bytes, g, { statusList: list, ownRequest: state.ownRequest });
    } else if (assessed.status) statusSource = 'holder';
    if (statusSource !== 'registry' && reg.reached && name && assessed.issue && (!assessed.status || assessed.status.code === 0)) {
      const bad = await reportedStatus(name, toHex(p.tx_id));
      if (bad) {
        assessed.verdict = bad;
        assessed.status = { name: bad, unproven: true };
        statusSource = 'reported';
      }
    }
  }
  let revoked = null;
  if (assessed.verdict === 'revoked' && name) revoked = await revokedOn(name, toHex(p.tx_id));
  const names = await chainNames({ online: false });
  show(assessed, words(assessed, revoked), { statusSource, why, origin, typeName: p ? names[p.side_chain_id]?.cert_type || p.side_chain_id : null });
}

const REFUSALS = {
  expired: 'the request it answers has expired: ask the holder again with a new request',
  'wrong-verifier': 'it was made for another verifier, not for you',
  'foreign-nonce': 'it answers another of your requests, not this one',
  'missing-field': null, // the message names the field
};

/* The headline and sentence a counter clerk reads. */
function words(a, revokedMs) {
  switch (a.verdict) {
    case 'valid':
      return { cls: 'ok', title: 'Valid certificate', text: 'Genuine: recorded by the registry, not altered, and in force.' };
    case 'revoked':
      return { cls: 'bad', title: revokedMs ? `Revoked — this certificate was revoked by its issuer on ${day(revokedMs)}` : 'Revoked — this certificate was revoked by its issuer', text: 'It is genuine, but no longer valid. Do not accept it.' };
    case 'suspended':
      return { cls: 'bad', title: 'Suspended — the issuer has suspended this certificate', text: 'It is genuine, but not in force until the issuer reinstates it. Do not accept it now.' };
    case 'ended':
      return { cls: 'bad', title: 'No longer in force — cancelled or erased', text: 'It is genuine, but was cancelled or erased. Do not accept it.' };
    case 'expired':
      return { cls: 'bad', title: `Expired on ${day(a.issue.expires_ms)}`, text: 'It is genuine, but its validity has ended.' };
    case 'refused':
      return { cls: 'bad', title: 'Not a valid certificate — the registry refused it', text: 'The proof is genuine, but it shows the registry refused this transaction.' };
    case 'not-certificate':
      return { cls: 'warn', title: 'Not a certificate', text: `This proves another kind of registry record (${a.proof.tx_type_name}).` };
    case 'refused-presentation': {
      const why = REFUSALS[a.presentation.reason] || a.presentation.message;
      return { cls: 'bad', title: 'Answer not accepted', text: `This answer cannot be accepted: ${why}.` };
    }
    default:
      return { cls: 'bad', title: 'Tampered — this document has been altered or is not from the registry', text: 'Do not accept it. Ask for the certificate again, or check it with the issuer.' };
  }
}

function statusLine(a, ctx) {
  if (!a.proof || !['valid', 'expired', 'revoked', 'suspended', 'ended'].includes(a.verdict)) return null;
  if (a.status_error) return el('p', { class: 'notice' }, `Status not checked: ${a.status_error}.`);
  if (ctx.statusSource === 'unchecked' || !a.status)
    return el('p', { class: 'notice', 'data-status': 'unchecked' }, ctx.why === 'offline'
      ? 'Status not checked (offline): the registry could not be reached, so a recent revocation would not show. Check again when online.'
      : el('span', {}, 'Status not checked: the registry could not prove the current status just now. Check again in a moment. ', el('small', { class: 'muted' }, `(${ctx.why})`)));
  if (ctx.statusSource === 'reported')
    return el('p', { class: 'notice', 'data-status': 'reported' }, 'Status as the registry’s server reports it now; it could not prove it just now (the certificate itself is proven). ', el('small', { class: 'muted' }, `(${ctx.why})`));
  const as = when(a.status.as_of_ms);
  const src = { registry: `checked with the registry (status as of ${as})`, file: `from the status list you loaded (as of ${as})`, holder: `from the status list the holder brought (as of ${as}); a later revocation would not show` }[ctx.statusSource];
  return el('p', { class: ctx.statusSource === 'registry' ? 'muted' : 'notice', 'data-status': ctx.statusSource }, `Status ${src}.`);
}

function show(a, w, ctx = {}) {
  const out = $('result');
  out.dataset.verdict = a.verdict;
  const box = el('section', { class: `verdict ${w.cls}`, 'aria-labelledby': 'verdict-h' }, el('h2', { id: 'verdict-h' }, w.title), el('p', {}, w.text));
  const line = statusLine(a, ctx);
  if (line) box.append(line);
  const p = a.proof, i = a.issue, pres = a.presentation;
  if (p && i) {
    box.append(facts([
      ['Type', ctx.typeName],
      ['Issuing organization', i.org_code],
      ['Holder', el('code', {}, i.holder)],
      ['Issued', `${when(p.side_time_ms)} (block ${p.side_height})`],
      ['Anchored', `at main height ${p.main_height}, ${when(p.main_time_ms)}`],
      ['Expires', Number(i.expires_ms) === 0 ? 'never' : day(i.expires_ms)],
      ['Certificate id', el('code', {}, toHex(p.tx_id))],
    ]));
  } else if (p) {
    box.append(facts([['Record', SIDE_TX_NAMES[p.tx_type] || p.tx_type_name], ['Chain', p.side_chain_id], ['Anchored', `at main height ${p.main_height}`]]));
  }
  if (pres && pres.disclosed && a.verdict !== 'tampered') {
    box.append(el('h3', {}, 'What the holder shows'), facts(pres.disclosed.map((d) => [d.name, d.value])));
    if (pres.request) box.append(el('p', { class: 'muted' }, `Answering a request by ${pres.request.verifier}${state.ownRequest ? ' (your request)' : ''}, valid until ${when(pres.request.expires_ms)}.`));
  }
  if (a.error && a.verdict !== 'valid') box.append(el('details', {}, el('summary', {}, 'Technical detail'), el('p', { class: 'mono' }, a.error)));
  if (ctx.origin) box.append(el('p', { class: 'muted' }, `Checked ${ctx.origin} on ${when(Date.now())}.`));
  out.replaceChildren(box);
}

/* ---- inputs ----------------------------------------------------------------------------- */

async function takeFile(file) {
  const bytes = await fileBytes(file);
  if (sniff(bytes) === 'unknown' && isImage(file, bytes)) {
    let code = null;
    try {
      code = await qrFromFile(file);
    } catch {
      code = null;
    }
    if (!code) {
      $('result').replaceChildren(el('p', { class: 'error' }, 'No QR code could be read in this picture. Try a sharper picture, or the file itself.'));
      return;
    }
    return check(code, `from the QR code in ${file.name}`);
  }
  return check(bytes, `from ${file.name}`);
}

async function loadStatusList(bytes) {
  try {
    state.fileList = await verifyStatusList(bytes, state.genesis.genesis);
    $('result').replaceChildren(el('p', { class: 'muted' }, `Status list loaded: ${state.fileList.count} certificate(s) of ${state.fileList.side_chain_id} as of ${when(state.fileList.time_ms)}. It is used when the registry cannot be reached.`));
  } catch (e) {
    $('result').replaceChildren(el('p', { class: 'error' }, `This status list does not verify: ${e.message}.`));
  }
}

async function useGenesisBytes(bytes) {
  try {
    const g = await genesisFromFile(bytes);
    if (g.kind !== 1) throw new Error('this is a side chain’s genesis; the main chain’s is needed');
    storeGenesis(g, 'file');
    state.genesis = await storedGenesis();
    showGenesis();
  } catch (e) {
    $('genesis-state').append(el('span', { class: 'error block' }, `That file is not a usable main-chain genesis: ${e.message}.`));
  }
}

function wire() {
  const drop = $('drop');
  $('doc').addEventListener('change', (e) => {
    const f = e.target.files[0];
    if (f) takeFile(f);
    e.target.value = '';
  });
  for (const ev of ['dragenter', 'dragover']) drop.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.add('dragover'); });
  for (const ev of ['dragleave', 'drop']) drop.addEventListener(ev, () => drop.classList.remove('dragover'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    const f = e.dataTransfer.files[0];
    if (f) takeFile(f);
  });
  $('request').addEventListener('change', async (e) => {
    const f = e.target.files[0];
    state.ownRequest = f ? await fileBytes(f) : null;
  });
  $('slist').addEventListener('change', async (e) => {
    const f = e.target.files[0];
    if (f && state.genesis) loadStatusList(await fileBytes(f));
  });
  $('genesis-file').addEventListener('change', async (e) => {
    const f = e.target.files[0];
    if (f) useGenesisBytes(await fileBytes(f));
  });
  $('scan').addEventListener('click', async () => {
    try {
      state.stopCamera = await scanCamera($('video'), (bytes) => {
        $('scan-stop').hidden = true;
        check(bytes, 'from the camera');
      });
      $('scan-stop').hidden = false;
    } catch (e) {
      $('result').replaceChildren(el('p', { class: 'error' }, `The camera cannot be used: ${e.message}. Pick a picture of the QR code instead.`));
    }
  });
  $('scan-stop').addEventListener('click', () => {
    if (state.stopCamera) state.stopCamera();
    $('scan-stop').hidden = true;
  });
}

wire();
await loadGenesis();
chainNames(); // keeps the chains' names for offline use
document.body.dataset.ready = 'true';
