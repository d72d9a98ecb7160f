// holder.mjs - the holder page: opens the holder's key file in the browser (ecert_holder.mjs),
// lists the holder's certificates on every side chain from the gateway, decrypts each
// ISSUE's payload here and checks its fields against the certificate's fields_root, and
// answers a verifier's request with a signed presentation shown as a QR code and offered as
// a download. The secret key stays in this page's memory and is wiped on close or leave;
// only public things (the address, certificate ids) go into requests to the gateway.

import { openRequest, fieldsRoot, toHex, fromBase64 } from './ecert.mjs';
import { openKeyFile, openPayload, buildPresentation } from './ecert_holder.mjs';
import { api, seg, el, facts, when, day, fileBytes, downloadLink, bytesFromText } from './ecert_web.mjs';
import { qrCanvas, qrFromFile, scanCamera, QR_BYTES_MAX } from './qr.mjs';

const $ = (id) => document.getElementById(id);
const state = { holder: null, certs: [], cert: null, request: null, stopCamera: null };

function say(id, cls, text) {
  $(id).replaceChildren(el('p', { class: cls }, text));
}

/* ---- the key ---------------------------------------------------------------------------- */

function closeKey() {
  if (state.holder) state.holder.wipe();
  state.holder = null;
  state.certs = [];
  state.cert = null;
  state.request = null;
  $('certs-panel').hidden = true;
  $('present-panel').hidden = true;
  $('certs').replaceChildren();
  $('answer').replaceChildren();
  $('key-form').hidden = false;
  say('key-state', 'muted', 'Your key is closed and wiped from this page.');
}

async function openKey(e) {
  e.preventDefault();
  const file = $('key-file').files[0];
  const pass = $('passphrase').value;
  if (!file || !pass) return say('key-state', 'error', 'Choose your key file and type its passphrase.');
  say('key-state', 'muted', 'Opening your key (this takes a few seconds)…');
  $('open').disabled = true;
  try {
    if (state.holder) state.holder.wipe();
    state.holder = await openKeyFile(await fileBytes(file), pass);
  } catch (err) {
    $('open').disabled = false;
    return say('key-state', 'error', err.code === 'ECRYPTO' ? 'Wrong passphrase, or this key file was altered.' : `This is not a key file ecert can open: ${err.message}.`);
  } finally {
    $('passphrase').value = '';
  }
  $('open').disabled = false;
  $('key-form').hidden = true;
  $('key-state').replaceChildren(
    el('p', {}, 'Your key is open. Your address: ', el('code', { id: 'address' }, state.holder.address)),
    el('button', { type: 'button', class: 'secondary', id: 'close', onclick: closeKey }, 'Close my key'),
  );
  loadCerts();
}

/* ---- certificates ------------------------------------------------------------------------ */

async function loadCerts() {
  $('certs-panel').hidden = false;
  say('certs', 'muted', 'Looking for your certificates…');
  let chains;
  try {
    chains = (await api('chains')).chains.filter((c) => c.kind === 'side' && !c.error);
  } catch (e) {
    return say('certs', 'error', `The registry cannot be reached: ${e.message}.`);
  }
  const list = el('ul', { class: 'cards' });
  const problems = [];
  state.certs = [];
  for (const c of chains) {
    let certs = [];
    try {
      certs = (await api(`chains/${seg(c.name)}/holders/${seg(state.holder.address)}/certs?limit=100`)).certs || [];
    } catch (e) {
      problems.push(`${c.name}: ${e.message}`);
      continue;
    }
    for (const entry of certs) {
      const cert = { chain: c.name, chain_id: c.chain_id, id: entry.cert_id, org: entry.org_code, status: entry.status, height: entry.height };
      await decrypt(cert);
      state.certs.push(cert);
      list.append(card(cert));
    }
  }
  $('certs').replaceChildren(state.certs.length ? list : el('p', {}, 'No certificate is held by this address.'));
  if (problems.length) $('certs').append(el('p', { class: 'notice' }, `Some chains did not answer: ${problems.join('; ')}.`));
  document.body.dataset.certs = String(state.certs.length);
}

/* Fetches the ISSUE (its body and sealed payload) and decrypts it here. */
async function decrypt(cert) {
  try {
    const tx = await api(`chains/${seg(cert.chain)}/txs/${cert.id}`);
    cert.expires_ms = tx.body?.[3] ?? 0;
    const root = tx.body?.[2]?.hex;
    if (!tx.payload) {
      cert.problem = 'its contents were erased';
      return;
    }
    const { fields } = await openPayload(fromBase64(tx.payload), state.holder);
    if (!root || toHex(await fieldsRoot(fields)) !== root) {
      cert.problem = 'the decrypted fields do not match the certificate (fields_root)';
      return;
    }
    cert.fields = fields;
  } catch (e) {
    cert.problem = `it could not be decrypted (${e.message})`;
  }
}

function card(cert) {
  const li = el('li', { class: 'card', 'data-cert': cert.id });
  li.append(el('h3', {}, `${cert.chain} certificate`), facts([
    ['Issued by', cert.org],
    ['Status', cert.status],
    ['Recorded', `block ${cert.height}`],
    ['Expires', Number(cert.expires_ms || 0) === 0 ? 'never' : day(cert.expires_ms)],
    ['Certificate id', el('code', {}, cert.id)],
  ]));
  if (cert.fields) {
    li.append(el('h4', {}, 'What it says'), facts(cert.fields.map((f) => [f.name, f.value])));
    if (['revoked', 'cancelled'].includes(cert.status)) li.append(el('p', { class: 'notice' }, `This certificate is ${cert.status}: a verifier would refuse it.`));
    else li.append(el('button', { type: 'button', onclick: () => startPresent(cert) }, 'Answer a verifier with this certificate'));
  } else {
    li.append(el('p', { class: 'notice' }, `Its contents cannot be shown: ${cert.problem}.`));
  }
  return li;
}

/* ---- presenting ------------------------------------------------------------------------- */

function startPresent(cert) {
  state.cert = cert;
  state.request = null;
  $('present-panel').hidden = false;
  $('present-form').hidden = true;
  $('request').replaceChildren();
  $('answer').replaceChildren();
  $('present-cert').textContent = `With your ${cert.chain} certificate ${cert.id.slice(0, 16)}…`;
  $('present-panel').scrollIntoView({ block: 'start' });
  $('req-file').focus();
}

async function takeRequest(bytes) {
  $('answer').replaceChildren();
  $('present-form').hidden = true;
  let r;
  try {
    r = await openRequest(bytes);
  } catch (e) {
    return say('request', 'error', `This is not a valid verifier request: ${e.message}.`);
  }
  const box = el('div', {});
  box.append(el('p', {}, `Request by `, el('code', {}, r.verifier), ` for your ${state.cert.chain} certificate: it asks for ${r.fields.join(', ')}; valid until ${when(r.expires_ms)}.`));
  if (r.side_chain_id !== state.cert.chain_id) return $('request').replaceChildren(box, el('p', { class: 'error' }, `It asks for a certificate of another chain (${r.side_chain_id}).`));
  if (Date.now() > Number(r.expires_ms)) return $('request').replaceChildren(box, el('p', { class: 'error' }, 'This request has expired: ask the verifier for a new one.'));
  // Who asks: an inspection agency for this type, as the main chain records it (public data).
  try {
    const acct = await api(`accounts/${seg(r.verifier)}`);
    const role = (acct.roles || []).find((x) => x.role_name === 'inspector' && x.cert_type === state.cert.chain);
    box.append(role ? el('p', { class: 'muted' }, `${acct.name || 'The verifier'} is an inspection agency (${role.org_code}) for ${state.cert.chain}.`) : el('p', { class: 'notice' }, 'Careful: the registry does not list this verifier as an inspection agency for this type. Only answer if you trust them.'));
  } catch {
    box.append(el('p', { class: 'notice' }, 'Who asks could not be checked with the registry.'));
  }
  state.request = { bytes, r };
  $('request').replaceChildren(box);
  const choices = $('field-choices');
  choices.replaceChildren();
  state.cert.fields.forEach((f, i) => {
    const asked = r.fields.includes(f.name);
    choices.append(el('div', {}, el('input', { type: 'checkbox', id: `f-${i}`, value: f.name, checked: asked }), el('label', { class: 'inline', for: `f-${i}` }, `${f.name}: ${f.value}${asked ? ' (asked for)' : ''}`)));
  });
  const missing = r.fields.filter((n) => !state.cert.fields.some((f) => f.name === n));
  if (missing.length) box.append(el('p', { class: 'notice' }, `Your certificate has no ${missing.join(', ')}: the verifier will refuse the answer.`));
  $('present-form').hidden = false;
}

async function present(e) {
  e.preventDefault();
  const names = [...$('field-choices').querySelectorAll('input:checked')].map((i) => i.value);
  if (!names.length) return say('answer', 'error', 'Choose at least one field to show.');
  say('answer', 'muted', 'Making your answer…');
  const c = state.cert;
  let bytes, bundle, statusList = null, listNote = null;
  try {
    bundle = fromBase64((await api(`chains/${seg(c.chain)}/txs/${c.id}/bundle`, { waitAnchoredMs: 15000 })).bundle);
  } catch (err) {
    return say('answer', 'error', `Your answer could not be made: the registry did not give your certificate's proof (${err.message}).`);
  }
  if ($('with-status').checked) {
    try {
      statusList = fromBase64((await api(`chains/${seg(c.chain)}/status-list`, { waitAnchoredMs: 3000 })).object);
    } catch (err) {
      listNote = `The registry had no status list to give just now (${err.message}): your answer goes without it, and the verifier checks your certificate's status online.`;
    }
  }
  try {
    bytes = await buildPresentation({ request: state.request.bytes, holder: state.holder, bundle, fields: c.fields, names, statusList });
  } catch (err) {
    return say('answer', 'error', `Your answer could not be made: ${err.message}.`);
  }
  const out = el('div', { id: 'answer-ready' });
  out.append(el('p', {}, `Your answer shows ${names.join(', ')} and nothing else (${bytes.length} bytes). Show this QR code to the verifier, or send them the file.`));
  if (listNote) out.append(el('p', { class: 'notice' }, listNote));
  const canvas = qrCanvas(bytes, `QR code of your answer to ${state.request.r.verifier}`);
  if (canvas) out.append(canvas);
  else out.append(el('p', { class: 'notice' }, `It is too large for a QR code (${bytes.length} bytes, at most ${QR_BYTES_MAX}): give the verifier the file${statusList ? ', or make it without the status list' : ''}.`));
  out.append(el('div', { class: 'row' }, downloadLink(bytes, 'presentation.bin', 'Download my answer')));
  $('answer').replaceChildren(out);
}

/* ---- wiring ----------------------------------------------------------------------------- */

$('key-form').addEventListener('submit', openKey);
$('present-form').addEventListener('submit', present);
$('req-file').addEventListener('change', async (e) => {
  const f = e.target.files[0];
  if (!f) return;
  const bytes = await fileBytes(f);
  if (bytes[0] === 0x89 && bytes[1] === 0x50) {
    const code = await qrFromFile(f).catch(() => null);
    return code ? takeRequest(code) : say('request', 'error', 'No QR code could be read in this picture.');
  }
  takeRequest(bytes);
});
$('req-load').addEventListener('click', () => {
  try {
    takeRequest(bytesFromText($('req-text').value));
  } catch (e) {
    say('request', 'error', e.message);
  }
});
$('req-scan').addEventListener('click', async () => {
  try {
    state.stopCamera = await scanCamera($('video'), (bytes) => takeRequest(bytes));
  } catch (e) {
    say('request', 'error', `The camera cannot be used: ${e.message}.`);
  }
});
// Leaving the page wipes the key (and releases the camera).
window.addEventListener('pagehide', () => {
  if (state.stopCamera) state.stopCamera();
  if (state.holder) state.holder.wipe();
});
document.body.dataset.ready = 'true';
