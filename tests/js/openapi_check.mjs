// tests/js/openapi_check.mjs - checks a running gateway against its own OpenAPI document:
//   node openapi_check.mjs http://127.0.0.1:PORT [name=value ...]
// 1. GET /openapi.json and validate it as OpenAPI 3.1 (@apidevtools/swagger-parser);
// 2. call every path it lists with every method, filling path parameters from the
//    name=value arguments (live values: a transaction id, an address, ...) or else from the
//    parameter's example, and query parameters the same way when given or required;
// 3. check that each answer's status is one the document lists for that operation, and that
//    a 200 answer in JSON has the fields its schema requires (an event stream is read until
//    its first line). POST bodies are the smallest the request schema names, so they reach
//    the handler (and usually get a documented 400).
// Exits 0 when every operation answered as documented, 1 naming each that did not.
import SwaggerParser from '@apidevtools/swagger-parser';

const base = process.argv[2];
if (!base) {
  console.error('usage: node openapi_check.mjs URL [name=value ...]');
  process.exit(2);
}
const given = Object.fromEntries(process.argv.slice(3).map((a) => {
  const i = a.indexOf('=');
  return [a.slice(0, i), a.slice(i + 1)];
}));

const res = await fetch(new URL('/openapi.json', base));
if (res.status !== 200) throw new Error(`/openapi.json answered ${res.status}`);
const doc = await res.json();
await SwaggerParser.validate(structuredClone(doc)); // throws on an invalid document
if (!String(doc.openapi).startsWith('3.1')) throw new Error(`openapi ${doc.openapi}, want 3.1`);

function value(p) {
  if (p.name in given) return given[p.name];
  if (p.example !== undefined) return String(p.example);
  return undefined;
}

function minimalBody(schema) {
  const body = {};
  for (const k of schema?.required ?? []) {
    const t = schema.properties?.[k]?.type;
    body[k] = t === 'array' ? [] : t === 'integer' ? 0 : t === 'object' ? {} : '';
  }
  return body;
}

let failures = 0, calls = 0;
for (const [template, item] of Object.entries(doc.paths)) {
  for (const [method, op] of Object.entries(item)) {
    let path = template, missing = null;
    const query = new URLSearchParams();
    for (const p of op.parameters ?? []) {
      const v = value(p);
      if (p.in === 'path') {
        if (v === undefined) { missing = p.name; break; }
        path = path.replace(`{${p.name}}`, encodeURIComponent(v));
      } else if (p.in === 'query' && v !== undefined && (p.required || p.name in given)) {
        query.set(p.name, v);
      }
    }
    const label = `${method.toUpperCase()} ${template}`;
    if (missing) {
      console.log(`FAIL ${label}: no value for path parameter '${missing}' (give ${missing}=...)`);
      failures++;
      continue;
    }
    const url = new URL(path + (query.size ? `?${query}` : ''), base);
    const init = { method: method.toUpperCase(), signal: AbortSignal.timeout(20000) };
    const reqSchema = op.requestBody?.content?.['application/json']?.schema;
    if (reqSchema) {
      init.body = JSON.stringify(minimalBody(reqSchema));
      init.headers = { 'Content-Type': 'application/json' };
    }
    const ctl = new AbortController();
    const r = await fetch(url, { ...init, signal: AbortSignal.any([init.signal, ctl.signal]) });
    calls++;
    const documented = Object.keys(op.responses ?? {});
    let problem = documented.includes(String(r.status)) ? null
      : `status ${r.status} is not documented (${documented.join(', ')})`;
    const type = r.headers.get('content-type') ?? '';
    if (!problem && r.status === 200 && type.startsWith('text/event-stream')) {
      const reader = r.body.getReader();
      const { value: chunk } = await reader.read();
      ctl.abort();
      if (!chunk || !new TextDecoder().decode(chunk).length) problem = 'an empty event stream';
    } else if (type.startsWith('application/json')) {
      const body = await r.json();
      const schema = r.status === 200
        ? op.responses['200']?.content?.['application/json']?.schema
        : doc.components.schemas.Error;
      for (const k of schema?.required ?? []) {
        if (!problem && !(k in body)) problem = `answer lacks '${k}': ${JSON.stringify(body).slice(0, 200)}`;
      }
    } else {
      await r.arrayBuffer();
    }
    console.log(`${problem ? 'FAIL' : 'ok  '} ${label} -> ${r.status}${problem ? `: ${problem}` : ''}`);
    if (problem) failures++;
  }
}
console.log(`${calls} calls, ${failures} failure(s)`);
process.exit(failures ? 1 : 0);
