// api.mjs: the portal's small client for ecert-gateway's HTTP/JSON API (docs/GATEWAY.md).
//
// It does three things and nothing more: build URLs under /api/v1 with every path segment
// escaped, turn the gateway's error objects into ApiError exceptions that carry the wire
// protocol's code and name, and wrap the server-sent event stream. The base URL is found
// from this module's own location (js/ sits in the portal's root), so the pages work
// whether the gateway serves the portal at / or under a prefix behind a proxy.
//
// Everything an answer holds comes from the network and is treated as hostile by the
// callers: they render it with textContent, never as HTML.

/** The API's root, e.g. http://127.0.0.1:8080/api/v1/ */
export const API_ROOT = new URL('../api/v1/', import.meta.url);

/** An answer the gateway refused: `status` is the HTTP status, `code`/`name` the
 *  protocol's (-3 / "ENOTFOUND"), or 0 / "EIO" when the network itself failed. */
export class ApiError extends Error {
    constructor(status, code, name, message) {
        super(message || name || `HTTP ${status}`);
        this.status = status;
        this.code = code;
        this.name = name || 'EIO';
    }
}

/** Builds a path from segments, escaping each one: apiPath('chains', name, 'txs', id). */
export function apiPath(...segments) {
    return segments.map((s) => encodeURIComponent(String(s))).join('/');
}

/** The absolute URL of an API path with optional query parameters (null/undefined ones
 *  are left out). */
export function apiUrl(path, query) {
    const url = new URL(path, API_ROOT);
    if (query) {
        for (const [k, v] of Object.entries(query)) {
            if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
        }
    }
    return url;
}

/**
 * JSON.parse reviver that keeps integers above 2^53 exact: the gateway sends a uint64 (a
 * nonce, for instance) as a plain JSON integer, which a double would round. With the
 * source text of the number (JSON.parse source access, in Chromium since 114) such a
 * value becomes a BigInt; without it, it stays the rounded number.
 */
function s_revive(_key, value, context) {
    if (typeof value === 'number' && !Number.isSafeInteger(value) && context
        && typeof context.source === 'string' && /^-?[0-9]+$/.test(context.source)) {
        return BigInt(context.source);
    }
    return value;
}

async function s_answer(res) {
    let body = null;
    try {
        body = JSON.parse(await res.text(), s_revive);
    } catch {
        body = null;
    }
    if (res.ok && body !== null && typeof body === 'object') return body;
    const e = body && typeof body === 'object' && body.error && typeof body.error === 'object'
        ? body.error : {};
    throw new ApiError(res.status, Number.isInteger(e.code) ? e.code : 0,
        typeof e.name === 'string' ? e.name : (res.ok ? 'EINVAL' : `HTTP ${res.status}`),
        typeof e.message === 'string' ? e.message
            : (res.ok ? 'the answer is not a JSON object' : res.statusText));
}

/** GET an API path; resolves to the JSON object (integers above 2^53 as BigInt), rejects
 *  with ApiError. */
export async function apiGet(path, query, opts = {}) {
    let res;
    try {
        res = await fetch(apiUrl(path, query), { headers: { accept: 'application/json' },
            signal: opts.signal });
    } catch (err) {
        if (err && err.name === 'AbortError') throw err;
        throw new ApiError(0, -10, 'EIO', `the gateway cannot be reached (${err.message})`);
    }
    return s_answer(res);
}

/** POST a JSON body to an API path; resolves to the JSON object, rejects with ApiError. */
export async function apiPost(path, body, opts = {}) {
    let res;
    try {
        res = await fetch(apiUrl(path), { method: 'POST', signal: opts.signal,
            headers: { 'content-type': 'application/json', accept: 'application/json' },
            body: JSON.stringify(body) });
    } catch (err) {
        if (err && err.name === 'AbortError') throw err;
        throw new ApiError(0, -10, 'EIO', `the gateway cannot be reached (${err.message})`);
    }
    return s_answer(res);
}

/** True when `err` says that the thing asked for does not exist (404 / ENOTFOUND). */
export function isNotFound(err) {
    return err instanceof ApiError && (err.status === 404 || err.name === 'ENOTFOUND');
}

/**
 * Subscribes to /api/v1/events. `handlers` maps event names (header, anchor, event) to
 * functions of the parsed data; `onState` (optional) hears "open" and "error" (the
 * browser reconnects by itself after an error). Events are only a wake-up (PUB may drop
 * them): callers fetch what they show by height. A data line that is not a JSON object
 * is dropped. Returns a function that closes the stream.
 */
export function apiEvents({ chains, topics } = {}, handlers = {}, onState = null) {
    if (typeof EventSource === 'undefined') return () => {};
    const url = apiUrl('events', {
        chains: chains && chains.length ? chains.join(',') : null,
        topics: topics && topics.length ? topics.join(',') : null,
    });
    const source = new EventSource(url);
    for (const [name, fn] of Object.entries(handlers)) {
        source.addEventListener(name, (ev) => {
            let data;
            try {
                data = JSON.parse(ev.data);
            } catch {
                return;
            }
            if (data && typeof data === 'object' && !Array.isArray(data)) fn(data);
        });
    }
    if (onState) {
        source.addEventListener('open', () => onState('open'));
        source.addEventListener('error', () => onState('error'));
    }
    return () => source.close();
}
