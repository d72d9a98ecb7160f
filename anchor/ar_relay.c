/*
 * ar_relay.c - anchord's relay loop (contract in ar_relay.h; wire formats in
 * docs/PROTOCOL.md and common/ec_chain.h).
 *
 * Per side chain S and per direction there is at most one submit in flight: its req_id
 * is remembered, the reply (which comes when the block commits) clears it, and so does
 * AR_SUBMIT_TIMEOUT_MS or the chain going down. Queries go through one ec_rpc_t per chain
 * and submits through a second one, because ec_rpc_call drops replies it did not ask for.
 *
 *   side -> main: L = main `query sidechain [S]`; T = S tip. When T > L.height and some
 *     header in (L.height, T] is not anchor-only: ANCHOR [S, header T, commit T,
 *     S hist_proof [L.height, T], S hist_consistency [L.height, T] (empty at 0)].
 *   main -> side: [M, n] = S `query mirror []`; U = main tip; records at U from n. When
 *     U > M.height and (a header in (M.height, U] is not anchor-only, or records_count >
 *     n): MAIN_ANCHOR [header U, commit U, main hist_proof [M.height, U], main
 *     hist_consistency [M.height, U], records_root, records_count, state_digest, records].
 *     When U == M.height and records remain, the same header is sent again with empty
 *     paths and the next records (a continuation: the side chain accepts it when the
 *     header equals the one it holds). Records go in as many as fit in one transaction
 *     (at most EC_ANCHOR_RECORDS_MAX); the next round sends the rest.
 */
#include "ar_relay.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "ec_chain.h"
#include "ec_log.h"
#include "ec_rpc.h"

enum {
    S_POLL_MS = 50,      /* longest sleep between checks for submit replies               */
    S_ROUND_GAP_MS = 20, /* rounds woken by announcements are at least this far apart     */
    S_RECORDS_ASK = EC_ANCHOR_RECORDS_MAX,
    /* Room for the envelope around a body: tags, chain id, sender, nonce, signature. */
    S_BODY_BYTES_MAX = EC_TX_BYTES_MAX - 512,
    S_TAIL_BYTES_MAX = 3 + EC_VALIDATORS_MAX * 48 + 35, /* next_valset and claimed        */
};

/* Outcomes of a submit, counted by ecert_anchor_submits_total{result}. */
enum { S_OUT_COMMITTED, S_OUT_DUPLICATE, S_OUT_REFUSED, S_OUT_TIMEOUT, S_OUTCOMES };
static const char *const s_outcome_names[S_OUTCOMES] = {"committed", "duplicate", "refused",
                                                        "timeout"};

/* Logged states of a chain link, so each change is logged once. */
enum { S_LINK_UNKNOWN = 0, S_LINK_UP = 1, S_LINK_DOWN = 2 };

typedef struct {
    const ar_endpoint_t *ep;
    uint32_t at;      /* index of the rpc endpoint in use (ep->rpc)               */
    char label[40];   /* "main" or "side 2" until the chain id is known        */
    ec_rpc_t *rpc;    /* queries                                                */
    ec_rpc_t *submit; /* submits (answered at commit time)                      */
    void *sub;        /* SUB socket for header announcements, or NULL           */
    char chain_id[EC_CHAIN_ID_MAX];
    uint32_t kind;        /* EC_CHAIN_MAIN or EC_CHAIN_SIDE, from status            */
    uint64_t height;      /* tip at the last status                                 */
    uint64_t tip_time_ms; /* its block time                                    */
    int link;             /* S_LINK_*                                               */
    bool usable;          /* answered status this round with the expected kind     */
    ec_metric_t *m_up;    /* ecert_anchor_chain_up, once the chain id is known      */
} s_chain_t;

/* One direction of one side chain. */
typedef struct {
    uint64_t req; /* req_id of the submit in flight, 0 when none            */
    int64_t sent_ms;
    uint64_t height;                /* header height that submit carries                      */
    int last_code;                  /* last outcome logged (logs once per change)            */
    uint64_t scan_base;             /* anchor-only scan cache: headers (scan_base, scan_done] */
    uint64_t scan_done;             /* are known to be anchor-only                            */
    int state;                      /* last logged "cannot act" reason (0: none)             */
    ec_metric_t *m_lag;             /* ecert_anchor_lag_blocks of this direction              */
    ec_metric_t *m_out[S_OUTCOMES]; /* ecert_anchor_submits_total by outcome      */
} s_dir_t;

typedef struct {
    s_chain_t c;
    s_dir_t up;           /* side -> main: ANCHOR                                   */
    s_dir_t down;         /* main -> side: MAIN_ANCHOR                              */
    ec_metric_t *m_age;   /* ecert_anchor_mirror_age_seconds                    */
    ec_metric_t *m_bound; /* ecert_anchor_freshness_bound_seconds               */
} s_side_t;

struct ar_relay {
    ar_config_t cfg;
    ec_key_t *key;
    void *zctx; /* context of the SUB sockets                             */
    s_chain_t main;
    uint32_t side_count;
    s_side_t sides[AR_SIDES_MAX];
    ec_writer_t params, body, tx, tmp;
    ec_metrics_t *metrics; /* borrowed, or NULL: nothing is counted           */
    ec_metric_t *m_rounds; /* ecert_anchor_rounds_total                       */
};

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *s_name(const s_chain_t *ch)
{
    return ch->chain_id[0] ? ch->chain_id : ch->label;
}

/* ---- chains: connection and calls ------------------------------------------------------ */

/* The rpc endpoint of ch in use. */
static const char *s_rpc(const s_chain_t *ch)
{
    return ch->ep->rpc[ch->at];
}

static int s_chain_open(ar_relay_t *r, s_chain_t *ch, const ar_endpoint_t *ep, ec_status_t *st)
{
    ch->ep = ep;
    ch->at = 0;
    ch->rpc = ec_rpc_connect(s_rpc(ch), AR_CALL_TIMEOUT_MS);
    ch->submit = ec_rpc_connect(s_rpc(ch), AR_CALL_TIMEOUT_MS);
    if (!ch->rpc || !ch->submit)
        return ec_status_set(st, EC_ECONFIG, "%s: cannot connect to %s", ch->label, s_rpc(ch));
    if (ep->pub_count == 0)
        return 0;
    /* One SUB connected to every node's PUB: any of them announcing wakes the relay. */
    ch->sub = zmq_socket(r->zctx, ZMQ_SUB);
    int linger = 0, hwm = 100;
    if (!ch->sub || zmq_setsockopt(ch->sub, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(ch->sub, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(ch->sub, ZMQ_SUBSCRIBE, "header", 6) != 0)
        return ec_status_set(st, EC_EINTERNAL, "%s: SUB socket: %s", ch->label,
                             zmq_strerror(errno));
    for (uint32_t i = 0; i < ep->pub_count; i++)
        if (zmq_connect(ch->sub, ep->pub[i]) != 0)
            return ec_status_set(st, EC_ECONFIG, "%s: cannot subscribe to %s: %s", ch->label,
                                 ep->pub[i], zmq_strerror(errno));
    return 0;
}

static void s_chain_close(s_chain_t *ch)
{
    ec_rpc_destroy(&ch->rpc);
    ec_rpc_destroy(&ch->submit);
    if (ch->sub)
        zmq_close(ch->sub);
    ch->sub = NULL;
}

/* Forgets the submits in flight to chain ch (their replies will not come). */
static void s_forget_submits(ar_relay_t *r, const s_chain_t *ch)
{
    for (uint32_t i = 0; i < r->side_count; i++) {
        s_side_t *s = &r->sides[i];
        if (ch == &r->main)
            s->up.req = 0;
        if (ch == &s->c)
            s->down.req = 0;
    }
}

/* A transport failure: log once, drop queued requests by reconnecting, forget submits. */
static void s_chain_down(ar_relay_t *r, s_chain_t *ch, const ec_status_t *st)
{
    /* A chain of several nodes: the next one is asked from now on. */
    uint32_t was = ch->at;
    ch->at = (ch->at + 1) % ch->ep->rpc_count;
    if (ch->link != S_LINK_DOWN || ch->at != was)
        ec_warn("chain %s (%s) unreachable: %s; %s", s_name(ch), ch->ep->rpc[was], st->msg,
                ch->at != was ? "trying its next node" : "retrying every round");
    if (ch->at != was)
        ec_info("chain %s: now talking to %s", s_name(ch), s_rpc(ch));
    ch->link = S_LINK_DOWN;
    ch->usable = false;
    ec_rpc_destroy(&ch->rpc);
    ch->rpc = ec_rpc_connect(s_rpc(ch), AR_CALL_TIMEOUT_MS);
    ec_rpc_destroy(&ch->submit);
    ch->submit = ec_rpc_connect(s_rpc(ch), AR_CALL_TIMEOUT_MS);
    assert(ch->rpc && ch->submit); /* the endpoint connected before */
    s_forget_submits(r, ch);
}

/*
 * Calls `method` on ch with the params in r->params. Returns 0 with *rep to fini, the
 * node's error code (rep already released, st set), or a transport error (the chain is
 * marked down).
 */
static int s_call(ar_relay_t *r, s_chain_t *ch, const char *method, ec_rpc_reply_t *rep,
                  ec_status_t *st)
{
    int rc = ec_rpc_call(ch->rpc, method, ec_writer_data(&r->params), ec_writer_size(&r->params),
                         rep, st);
    if (rc) {
        s_chain_down(r, ch, st);
        return rc;
    }
    if (rep->code) {
        rc = rep->code;
        ec_rpc_reply_fini(rep);
        return rc;
    }
    return 0;
}

/* Starts r->params as [path, args...] for `query`; the caller writes the args array. */
static void s_params_query(ar_relay_t *r, const char *path)
{
    ec_writer_reset(&r->params);
    ec_write_array(&r->params, 2);
    ec_write_cstr(&r->params, path);
}

static void s_params_uints(ar_relay_t *r, uint32_t n, uint64_t a, uint64_t b)
{
    ec_writer_reset(&r->params);
    ec_write_array(&r->params, n);
    if (n > 0)
        ec_write_uint(&r->params, a);
    if (n > 1)
        ec_write_uint(&r->params, b);
}

/* A cursor over a reply's result, as the single element of a one-element list. */
static void s_result_cursor(ec_cur_t *c, const ec_rpc_reply_t *rep)
{
    memset(c, 0, sizeof *c);
    c->items = rep->result;
    c->count = 1;
}

/*
 * `status` (ec_rpc_status_read). Sets ch->usable when the chain answers and is of kind
 * `want_kind`.
 */
static void s_status(ar_relay_t *r, s_chain_t *ch, uint32_t want_kind)
{
    ec_rpc_reply_t rep;
    ec_status_t st;
    ch->usable = false;
    s_params_uints(r, 0, 0, 0);
    int rc = s_call(r, ch, "status", &rep, &st);
    if (rc) {
        if (rc != EC_ETIMEOUT && rc != EC_EINVAL && ch->link != S_LINK_DOWN) {
            ec_warn("chain %s: status failed: %s", s_name(ch), st.msg);
            ch->link = S_LINK_DOWN;
        }
        return;
    }
    ec_rpc_status_t status;
    rc = rep.code == 0 ? ec_rpc_status_read(&status, rep.result) : EC_EINVAL;
    ec_rpc_reply_fini(&rep);
    const char *chain_id = status.chain_id;
    uint64_t kind = status.kind, height = status.height;
    if (rc || !ec_chain_id_valid(chain_id)) {
        ec_status_set(&st, EC_EINVAL, "malformed status reply");
        s_chain_down(r, ch, &st);
        return;
    }
    if (kind != want_kind) {
        if (ch->link != S_LINK_DOWN)
            ec_error("chain %s at %s is a %s chain, configured as a %s chain: ignored", chain_id,
                     s_rpc(ch), kind == EC_CHAIN_MAIN ? "main" : "side",
                     want_kind == EC_CHAIN_MAIN ? "main" : "side");
        ch->link = S_LINK_DOWN;
        return;
    }
    if (ch->chain_id[0] && strcmp(ch->chain_id, chain_id) != 0)
        ec_warn("chain at %s changed its id from %s to %s", s_rpc(ch), ch->chain_id, chain_id);
    if (ch->link != S_LINK_UP)
        ec_info("chain %s (%s) reachable at %s, height %llu", chain_id,
                want_kind == EC_CHAIN_MAIN ? "main" : "side", s_rpc(ch),
                (unsigned long long)height);
    snprintf(ch->chain_id, sizeof ch->chain_id, "%s", chain_id);
    ch->kind = (uint32_t)kind;
    ch->height = height;
    ch->tip_time_ms = status.tip_time_ms;
    ch->link = S_LINK_UP;
    ch->usable = true;
}

/* `header [h]`: the reply stays alive in *rep; header and commit point into it. */
static int s_header(ar_relay_t *r, s_chain_t *ch, uint64_t height, ec_rpc_reply_t *rep,
                    const uint8_t **header, size_t *header_size, const uint8_t **commit,
                    size_t *commit_size, ec_status_t *st)
{
    s_params_uints(r, 1, height, 0);
    int rc = s_call(r, ch, "header", rep, st);
    if (rc)
        return rc;
    ec_cur_t top, c;
    s_result_cursor(&top, rep);
    ec_cur_enter(&top, &c, 2);
    ec_cur_bin(&c, header, header_size, 4096);
    ec_cur_bin(&c, commit, commit_size, 8192);
    ec_cur_fold(&top, &c);
    rc = ec_cur_finish(&top);
    if (rc) {
        ec_rpc_reply_fini(rep);
        return ec_status_set(st, rc, "chain %s: malformed header reply", s_name(ch));
    }
    return 0;
}

/* `hist_proof` or `hist_consistency` [a, b] into path (empty when skip). */
static int s_hist_path(ar_relay_t *r, s_chain_t *ch, const char *method, uint64_t a, uint64_t b,
                       ec_hash32_t *path, size_t *len, ec_status_t *st)
{
    ec_rpc_reply_t rep;
    *len = 0;
    s_params_uints(r, 2, a, b);
    int rc = s_call(r, ch, method, &rep, st);
    if (rc)
        return rc;
    ec_cur_t top;
    s_result_cursor(&top, &rep);
    ec_cur_path(&top, path, len);
    rc = ec_cur_finish(&top);
    ec_rpc_reply_fini(&rep);
    if (rc)
        return ec_status_set(st, rc, "chain %s: malformed %s reply", s_name(ch), method);
    return 0;
}

/*
 * Whether some header of ch in (base, tip] is not anchor-only, so worth anchoring:
 * 1 yes, 0 no, or an error. Gaps over AR_SCAN_MAX count as yes without a look. The scan
 * is cached in d, so each header is fetched once while `base` stays.
 */
static int s_needs_anchor(ar_relay_t *r, s_chain_t *ch, s_dir_t *d, uint64_t base, uint64_t tip,
                          ec_status_t *st)
{
    if (tip - base > AR_SCAN_MAX)
        return 1;
    if (d->scan_base != base || d->scan_done < base || d->scan_done > tip) {
        d->scan_base = base;
        d->scan_done = base;
    }
    for (uint64_t h = d->scan_done + 1; h <= tip; h++) {
        ec_rpc_reply_t rep;
        const uint8_t *hb, *cb;
        size_t hs, cs;
        int rc = s_header(r, ch, h, &rep, &hb, &hs, &cb, &cs, st);
        if (rc)
            return rc;
        ec_header_t hdr;
        rc = ec_header_decode(&hdr, hb, hs);
        ec_rpc_reply_fini(&rep);
        if (rc)
            return ec_status_set(st, rc, "chain %s: header %llu does not decode", s_name(ch),
                                 (unsigned long long)h);
        if (!ec_header_anchor_only(&hdr))
            return 1;
        d->scan_done = h;
    }
    return 0;
}

/*
 * Validator-set changes: a light client only accepts headers committed by the set it knows,
 * so the header that names a new set (the one before the change takes effect) must be
 * anchored before any header after it. Returns the height to anchor at most (`tip`, or an
 * earlier such header above `base`), 0 on a transport error (st set).
 */
static uint64_t s_target(ar_relay_t *r, s_chain_t *ch, uint64_t base, uint64_t tip, ec_status_t *st)
{
    ec_rpc_reply_t rep;
    s_params_uints(r, 1, base + 2, 0);
    int rc = s_call(r, ch, "valsets", &rep, st);
    if (rc)
        return 0;
    ec_cur_t top, list, item;
    uint64_t first = 0;
    s_result_cursor(&top, &rep);
    ec_cur_enter_max(&top, &list, 64);
    if (!list.err && list.count > 0) {
        ec_cur_enter(&list, &item, 2);
        ec_cur_uint(&item, &first);
        ec_cur_object(&item);
        ec_cur_fold(&list, &item);
    }
    if (!list.err && list.count > 1)
        list.pos = list.count; /* only the first change matters now */
    ec_cur_fold(&top, &list);
    rc = ec_cur_finish(&top);
    ec_rpc_reply_fini(&rep);
    if (rc) {
        ec_status_set(st, rc, "chain %s: malformed valsets reply", s_name(ch));
        return 0;
    }
    /* A change in force from `first` is named by header first - 1. */
    if (first >= base + 2 && first - 1 < tip)
        return first - 1;
    return tip;
}

/*
 * Appends the last two fields of an anchor body to r->body: the next validator set when
 * header `hdr` names a change (fetched from ch as `valset [height + 1]`), else nil, and no
 * fork claim. 0 or an error (st set).
 */
static int s_body_tail(ar_relay_t *r, s_chain_t *ch, const uint8_t *hb, size_t hs, ec_status_t *st)
{
    ec_header_t hdr;
    if (ec_header_decode(&hdr, hb, hs) != 0)
        return ec_status_set(st, EC_EINVAL, "chain %s: a header does not decode", s_name(ch));
    if (memcmp(hdr.valset_hash, hdr.next_valset_hash, EC_HASH_BYTES) == 0) {
        ec_write_nil(&r->body);
    } else {
        ec_rpc_reply_t rep;
        s_params_uints(r, 1, hdr.height + 1, 0);
        int rc = s_call(r, ch, "valset", &rep, st);
        if (rc)
            return rc;
        const msgpack_object *o = rep.result;
        if (o->type != MSGPACK_OBJECT_BIN) {
            ec_rpc_reply_fini(&rep);
            return ec_status_set(st, EC_EINVAL, "chain %s: malformed valset reply", s_name(ch));
        }
        ec_write_raw(&r->body, (const uint8_t *)o->via.bin.ptr, o->via.bin.size);
        ec_rpc_reply_fini(&rep);
    }
    ec_write_nil(&r->body); /* claimed: an honest relay proves no fork */
    return 0;
}

/* ---- submits ---------------------------------------------------------------------------- */

/* Signs r->body as a `type` transaction for chain_id and sends it to ch without waiting. */
static void s_submit(ar_relay_t *r, s_chain_t *ch, s_dir_t *d, const char *chain_id, uint64_t type,
                     uint64_t height)
{
    uint64_t nonce = 0;
    uint8_t id[EC_HASH_BYTES];
    randombytes_buf(&nonce, sizeof nonce);
    ec_tx_build(&r->tx, id, chain_id, type, r->key, nonce, NULL, ec_writer_data(&r->body),
                ec_writer_size(&r->body));
    if (ec_writer_size(&r->tx) > EC_TX_BYTES_MAX) {
        ec_error("%s for %s height %llu is %zu bytes, above the %u-byte limit: not sent",
                 ec_tx_type_name(ch->kind, type), chain_id, (unsigned long long)height,
                 ec_writer_size(&r->tx), (unsigned)EC_TX_BYTES_MAX);
        return;
    }
    ec_writer_reset(&r->params);
    ec_write_array(&r->params, 2);
    ec_write_bin(&r->params, ec_writer_data(&r->tx), ec_writer_size(&r->tx));
    ec_write_nil(&r->params);
    uint64_t req = 0;
    int rc = ec_rpc_send(ch->submit, &req, "submit", ec_writer_data(&r->params),
                         ec_writer_size(&r->params));
    if (rc) {
        ec_debug("submit to %s not sent now (%s); next round", s_name(ch), ec_errname(rc));
        return;
    }
    d->req = req;
    d->sent_ms = s_now_ms();
    d->height = height;
}

/* Logs a submit outcome; errors once per change, so a stuck relay does not flood. */
static void s_outcome(s_dir_t *d, const char *what, const char *chain_id, const ec_rpc_reply_t *rep)
{
    if (rep->code == 0) {
        uint64_t height = 0;
        ec_cur_t top, c;
        s_result_cursor(&top, rep);
        ec_cur_enter(&top, &c, 3);
        ec_cur_object(&c);
        ec_cur_uint(&c, &height);
        ec_info("%s %s height %llu: committed in block %llu", what, chain_id,
                (unsigned long long)d->height, (unsigned long long)height);
    } else if (rep->code == EC_EDUPLICATE) {
        ec_debug("%s %s height %llu: already there (%s)", what, chain_id,
                 (unsigned long long)d->height, rep->message);
    } else if (rep->code != d->last_code) {
        ec_warn("%s %s height %llu refused: %s: %s", what, chain_id, (unsigned long long)d->height,
                ec_errname(rep->code), rep->message);
    }
    d->last_code = rep->code;
    d->req = 0;
}

/* Counts a submit's outcome (code: the reply's). */
static void s_count(s_dir_t *d, int code)
{
    int out = code == 0 ? S_OUT_COMMITTED : code == EC_EDUPLICATE ? S_OUT_DUPLICATE : S_OUT_REFUSED;
    ec_metrics_inc(d->m_out[out]);
}

/* Collects submit replies that have arrived. Returns true when any did. */
static bool s_poll_submits(ar_relay_t *r)
{
    bool any = false;
    ec_rpc_reply_t rep;
    while (r->main.submit && ec_rpc_recv(r->main.submit, &rep, 0) == 0) {
        for (uint32_t i = 0; i < r->side_count; i++)
            if (r->sides[i].up.req && r->sides[i].up.req == rep.req_id) {
                s_count(&r->sides[i].up, rep.code);
                s_outcome(&r->sides[i].up, "anchor of", s_name(&r->sides[i].c), &rep);
                any = true;
            }
        ec_rpc_reply_fini(&rep);
    }
    for (uint32_t i = 0; i < r->side_count; i++) {
        s_side_t *s = &r->sides[i];
        while (s->c.submit && ec_rpc_recv(s->c.submit, &rep, 0) == 0) {
            if (s->down.req && s->down.req == rep.req_id) {
                s_count(&s->down, rep.code);
                s_outcome(&s->down, "main header for", s_name(&s->c), &rep);
                any = true;
            }
            ec_rpc_reply_fini(&rep);
        }
    }
    int64_t now = s_now_ms();
    for (uint32_t i = 0; i < r->side_count; i++) {
        s_dir_t *dirs[2] = {&r->sides[i].up, &r->sides[i].down};
        for (int k = 0; k < 2; k++)
            if (dirs[k]->req && now - dirs[k]->sent_ms > AR_SUBMIT_TIMEOUT_MS) {
                ec_debug("submit for %s not answered in %d ms: forgotten", s_name(&r->sides[i].c),
                         AR_SUBMIT_TIMEOUT_MS);
                ec_metrics_inc(dirs[k]->m_out[S_OUT_TIMEOUT]);
                dirs[k]->req = 0;
                any = true;
            }
    }
    return any;
}

/* Logs a reason a direction cannot act, once per change; 0 clears it. */
static void s_state(s_dir_t *d, int state, const char *fmt, const char *a, const char *b)
{
    if (state && state != d->state)
        ec_info(fmt, a, b);
    d->state = state;
}

/* ---- side -> main ----------------------------------------------------------------------- */

static void s_side_to_main(ar_relay_t *r, s_side_t *s)
{
    s_chain_t *side = &s->c, *main = &r->main;
    ec_status_t st;
    ec_rpc_reply_t rep;
    s_params_query(r, "sidechain");
    ec_write_array(&r->params, 1);
    ec_write_cstr(&r->params, side->chain_id);
    int rc = s_call(r, main, "query", &rep, &st);
    if (rc == EC_ENOTFOUND) {
        s_state(&s->up, 1, "side chain %s is not registered on main chain %s yet: not anchored",
                side->chain_id, main->chain_id);
        return;
    }
    if (rc) {
        ec_debug("query sidechain %s: %s", side->chain_id, st.msg);
        return;
    }
    ec_light_t lc;
    ec_cur_t top, c;
    s_result_cursor(&top, &rep);
    ec_cur_enter(&top, &c, 3);
    ec_cur_object(&c); /* genesis */
    ec_light_read(&c, &lc);
    ec_cur_object(&c); /* current validator set hash */
    ec_cur_fold(&top, &c);
    rc = ec_cur_finish(&top);
    ec_rpc_reply_fini(&rep);
    if (rc) {
        ec_warn("main chain %s: malformed sidechain reply for %s", main->chain_id, side->chain_id);
        return;
    }
    if (lc.frozen) {
        s_state(&s->up, 2, "side chain %s is frozen on main chain %s: not anchored", side->chain_id,
                main->chain_id);
        return;
    }
    s_state(&s->up, 0, NULL, NULL, NULL);
    uint64_t tip = side->height;
    /* The lag counts what needs anchoring: blocks past the anchored height when one of
     * them is more than anchors (empty and anchor-only blocks are never anchored alone). */
    if (tip <= lc.height) {
        ec_metrics_set(s->up.m_lag, 0);
        return;
    }
    rc = s_needs_anchor(r, side, &s->up, lc.height, tip, &st);
    if (rc >= 0)
        ec_metrics_set(s->up.m_lag, rc > 0 ? (double)(tip - lc.height) : 0);
    if (rc <= 0) {
        if (rc)
            ec_debug("scan of %s: %s", side->chain_id, st.msg);
        return;
    }
    tip = s_target(r, side, lc.height, tip, &st);
    if (tip == 0) {
        ec_debug("valsets of %s: %s", side->chain_id, st.msg);
        return;
    }
    ec_hash32_t prev[EC_MERKLE_PROOF_MAX], cons[EC_MERKLE_PROOF_MAX];
    size_t prev_len = 0, cons_len = 0;
    const uint8_t *hb, *cb;
    size_t hs, cs;
    rc = s_hist_path(r, side, "hist_proof", lc.height, tip, prev, &prev_len, &st);
    if (rc == 0 && lc.height > 0)
        rc = s_hist_path(r, side, "hist_consistency", lc.height, tip, cons, &cons_len, &st);
    if (rc == 0)
        rc = s_header(r, side, tip, &rep, &hb, &hs, &cb, &cs, &st);
    if (rc) {
        ec_debug("anchor of %s height %llu: %s", side->chain_id, (unsigned long long)tip, st.msg);
        return;
    }
    ec_writer_reset(&r->body);
    ec_write_array(&r->body, 7);
    ec_write_cstr(&r->body, side->chain_id);
    ec_write_bin(&r->body, hb, hs);
    ec_write_bin(&r->body, cb, cs);
    ec_write_path(&r->body, prev, prev_len);
    ec_write_path(&r->body, cons, cons_len);
    rc = s_body_tail(r, side, hb, hs, &st);
    ec_rpc_reply_fini(&rep);
    if (rc) {
        ec_debug("anchor of %s height %llu: %s", side->chain_id, (unsigned long long)tip, st.msg);
        return;
    }
    ec_debug("anchoring %s height %llu (main knows %llu)", side->chain_id, (unsigned long long)tip,
             (unsigned long long)lc.height);
    s_submit(r, main, &s->up, main->chain_id, EC_MTX_ANCHOR, tip);
}

/* ---- main -> side ----------------------------------------------------------------------- */

typedef struct {
    uint64_t count;
    uint8_t root[EC_HASH_BYTES];
    uint8_t digest[EC_HASH_BYTES];
    ec_cur_t list; /* over [[record, path]...] inside the reply             */
} s_records_t;

/* Main `query records [height, from, max]`; the reply stays alive in *rep. */
static int s_records(ar_relay_t *r, uint64_t height, uint64_t from, ec_rpc_reply_t *rep,
                     s_records_t *out, ec_status_t *st)
{
    s_params_query(r, "records");
    ec_write_array(&r->params, 3);
    ec_write_uint(&r->params, height);
    ec_write_uint(&r->params, from);
    ec_write_uint(&r->params, S_RECORDS_ASK);
    int rc = s_call(r, &r->main, "query", rep, st);
    if (rc)
        return rc;
    ec_cur_t top, c;
    s_result_cursor(&top, rep);
    ec_cur_enter(&top, &c, 4);
    ec_cur_uint(&c, &out->count);
    ec_cur_bin_fixed(&c, out->root, EC_HASH_BYTES);
    ec_cur_bin_fixed(&c, out->digest, EC_HASH_BYTES);
    ec_cur_enter_max(&c, &out->list, S_RECORDS_ASK);
    if (out->list.err) /* the items are read later, straight from out->list.items */
        ec_cur_fail(&c, out->list.err);
    ec_cur_fold(&top, &c);
    rc = ec_cur_finish(&top);
    if (rc) {
        ec_rpc_reply_fini(rep);
        return ec_status_set(st, rc, "main chain: malformed records reply");
    }
    return 0;
}

/*
 * Writes the MAIN_ANCHOR body into r->body: header, commit, paths, the three state values
 * and as many records (from recs) as keep the transaction under its size limit.
 */
static uint32_t s_mirror_body(ar_relay_t *r, const uint8_t *hb, size_t hs, const uint8_t *cb,
                              size_t cs, const ec_hash32_t *prev, size_t prev_len,
                              const ec_hash32_t *cons, size_t cons_len, const s_records_t *rec)
{
    ec_writer_reset(&r->body);
    ec_write_array(&r->body, 10);
    ec_write_bin(&r->body, hb, hs);
    ec_write_bin(&r->body, cb, cs);
    ec_write_path(&r->body, prev, prev_len);
    ec_write_path(&r->body, cons, cons_len);
    ec_write_bin(&r->body, rec->root, EC_HASH_BYTES);
    ec_write_uint(&r->body, rec->count);
    ec_write_bin(&r->body, rec->digest, EC_HASH_BYTES);
    /* Records are written to tmp first to learn how many fit; 3 bytes of array header and
     * room for the tail (a validator set of up to 32, and a claim). */
    size_t room = S_BODY_BYTES_MAX - ec_writer_size(&r->body) - 3 - S_TAIL_BYTES_MAX;
    size_t ends[S_RECORDS_ASK];
    uint32_t n = 0;
    ec_writer_reset(&r->tmp);
    for (uint32_t i = 0; i < rec->list.count && i < S_RECORDS_ASK; i++) {
        ec_write_object(&r->tmp, &rec->list.items[i]);
        if (ec_writer_size(&r->tmp) > room)
            break;
        ends[i] = ec_writer_size(&r->tmp);
        n = i + 1;
    }
    ec_write_array(&r->body, n);
    if (n)
        ec_write_raw(&r->body, ec_writer_data(&r->tmp), ends[n - 1]);
    return n;
}

/* What a side chain's `query mirror []` says: [main_light, records_count, main_time_ms,
 * main_freshness_ms]. */
typedef struct {
    ec_light_t light;
    uint64_t records, main_time_ms, freshness_ms;
} s_mirror_t;

static int s_mirror(ar_relay_t *r, s_side_t *s, s_mirror_t *mirror, ec_status_t *st)
{
    ec_rpc_reply_t rep;
    s_params_query(r, "mirror");
    ec_write_array(&r->params, 0);
    int rc = s_call(r, &s->c, "query", &rep, st);
    if (rc)
        return rc;
    ec_cur_t top, c;
    s_result_cursor(&top, &rep);
    ec_cur_enter(&top, &c, 4);
    ec_light_read(&c, &mirror->light);
    ec_cur_uint(&c, &mirror->records);
    ec_cur_uint(&c, &mirror->main_time_ms);
    ec_cur_uint(&c, &mirror->freshness_ms);
    ec_cur_fold(&top, &c);
    rc = ec_cur_finish(&top);
    ec_rpc_reply_fini(&rep);
    if (rc)
        return ec_status_set(st, rc, "side chain %s: malformed mirror reply", s->c.chain_id);
    return 0;
}

static void s_main_to_side(ar_relay_t *r, s_side_t *s)
{
    s_chain_t *side = &s->c, *main = &r->main;
    ec_status_t st;
    s_mirror_t mirror;
    uint64_t tip = main->height;
    int rc = s_mirror(r, s, &mirror, &st);
    const ec_light_t m = mirror.light;
    uint64_t mirrored = mirror.records;
    if (rc) {
        ec_debug("mirror of %s: %s", side->chain_id, st.msg);
        return;
    }
    if (m.frozen) {
        s_state(&s->down, 2, "side chain %s froze its mirror of %s: no more main headers",
                side->chain_id, main->chain_id);
        return;
    }
    s_state(&s->down, 0, NULL, NULL, NULL);
    if (tip <= m.height)
        ec_metrics_set(s->down.m_lag, 0);
    ec_metrics_set(s->m_age, main->tip_time_ms > mirror.main_time_ms
                                 ? (double)(main->tip_time_ms - mirror.main_time_ms) / 1000.0
                                 : 0);
    ec_metrics_set(s->m_bound, (double)mirror.freshness_ms / 1000.0);
    if (tip == 0 || tip < m.height)
        return;
    if (tip > m.height) {
        tip = s_target(r, main, m.height, tip, &st);
        if (tip == 0) {
            ec_debug("valsets of %s: %s", main->chain_id, st.msg);
            return;
        }
    }
    /* At tip == m.height only records can be missing: a continuation of that header. */
    uint64_t height = tip;
    ec_rpc_reply_t rrep, hrep;
    s_records_t rec;
    rc = s_records(r, height, mirrored, &rrep, &rec, &st);
    if (rc) {
        ec_debug("records at main %llu: %s", (unsigned long long)height, st.msg);
        return;
    }
    bool more_records = rec.count > mirrored;
    int need = more_records;
    /* Keep the side chain's view fresh even when the main chain only anchors: a quarter of
     * its bound old, the newest main header goes down whatever it holds. */
    if (!need && tip > m.height && main->tip_time_ms > mirror.main_time_ms &&
        main->tip_time_ms - mirror.main_time_ms >= mirror.freshness_ms / 4)
        need = 1;
    if (!need && tip > m.height)
        need = s_needs_anchor(r, main, &s->down, m.height, tip, &st);
    /* As upward: main blocks the mirror lacks, when something among them must go down. */
    if (need >= 0)
        ec_metrics_set(s->down.m_lag,
                       need > 0 && main->height > m.height ? (double)(main->height - m.height) : 0);
    ec_hash32_t prev[EC_MERKLE_PROOF_MAX], cons[EC_MERKLE_PROOF_MAX];
    size_t prev_len = 0, cons_len = 0;
    const uint8_t *hb, *cb;
    size_t hs, cs;
    rc = need > 0 ? 0 : need;
    if (need > 0 && tip > m.height) {
        rc = s_hist_path(r, main, "hist_proof", m.height, tip, prev, &prev_len, &st);
        if (rc == 0 && m.height > 0)
            rc = s_hist_path(r, main, "hist_consistency", m.height, tip, cons, &cons_len, &st);
    }
    if (need > 0 && rc == 0)
        rc = s_header(r, main, height, &hrep, &hb, &hs, &cb, &cs, &st);
    if (need <= 0 || rc) {
        if (rc)
            ec_debug("main header %llu for %s: %s", (unsigned long long)height, side->chain_id,
                     st.msg);
        ec_rpc_reply_fini(&rrep);
        return;
    }
    uint32_t n = s_mirror_body(r, hb, hs, cb, cs, prev, prev_len, cons, cons_len, &rec);
    rc = tip > m.height ? s_body_tail(r, main, hb, hs, &st) : 0;
    if (tip == m.height) { /* a records continuation: the header names nothing new here */
        ec_write_nil(&r->body);
        ec_write_nil(&r->body);
    }
    ec_rpc_reply_fini(&hrep);
    ec_rpc_reply_fini(&rrep);
    if (rc) {
        ec_debug("main header %llu for %s: %s", (unsigned long long)height, side->chain_id, st.msg);
        return;
    }
    if (tip == m.height && n == 0)
        return;
    ec_debug("main header %llu to %s (mirror at %llu), records %llu..%llu of %llu",
             (unsigned long long)height, side->chain_id, (unsigned long long)m.height,
             (unsigned long long)mirrored, (unsigned long long)(mirrored + n),
             (unsigned long long)rec.count);
    s_submit(r, side, &s->down, side->chain_id, EC_STX_MAIN_ANCHOR, height);
}

/* ---- the loop --------------------------------------------------------------------------- */

ar_relay_t *ar_relay_new(const ar_config_t *cfg, ec_key_t **key_p, ec_status_t *st)
{
    ar_relay_t *r = calloc(1, sizeof *r);
    if (!r) {
        ec_status_set(st, EC_ENOMEM, "out of memory");
        return NULL;
    }
    r->cfg = *cfg;
    r->key = *key_p;
    *key_p = NULL;
    ec_writer_init(&r->params);
    ec_writer_init(&r->body);
    ec_writer_init(&r->tx);
    ec_writer_init(&r->tmp);
    r->zctx = zmq_ctx_new();
    if (!r->zctx) {
        ec_status_set(st, EC_EINTERNAL, "zmq_ctx_new failed");
        ar_relay_destroy(&r);
        return NULL;
    }
    snprintf(r->main.label, sizeof r->main.label, "main");
    int rc = s_chain_open(r, &r->main, &r->cfg.main, st);
    for (uint32_t i = 0; rc == 0 && i < cfg->side_count; i++) {
        snprintf(r->sides[i].c.label, sizeof r->sides[i].c.label, "side %u", i + 1);
        r->side_count = i + 1;
        rc = s_chain_open(r, &r->sides[i].c, &r->cfg.sides[i], st);
    }
    if (rc)
        ar_relay_destroy(&r);
    return r;
}

void ar_relay_destroy(ar_relay_t **self_p)
{
    ar_relay_t *r = *self_p;
    if (!r)
        return;
    s_chain_close(&r->main);
    for (uint32_t i = 0; i < r->side_count; i++)
        s_chain_close(&r->sides[i].c);
    if (r->zctx)
        zmq_ctx_term(r->zctx);
    ec_key_destroy(&r->key);
    ec_writer_fini(&r->params);
    ec_writer_fini(&r->body);
    ec_writer_fini(&r->tx);
    ec_writer_fini(&r->tmp);
    free(r);
    *self_p = NULL;
}

/* ---- metrics ------------------------------------------------------------------------------ */

/* Registers a chain's series once its id is known (s: its side, NULL for the main chain). */
static void s_metrics_chain(ar_relay_t *r, s_chain_t *ch, s_side_t *s)
{
    if (!r->metrics || ch->m_up || !ch->chain_id[0])
        return;
    const char *id = ch->chain_id;
    ch->m_up = ec_metrics_gauge(r->metrics, "ecert_anchor_chain_up",
                                "1 when the chain answered the relay's last status call.",
                                "chain_id", id, NULL);
    if (!s)
        return;
    static const char lag_help[] =
        "Blocks one direction of anchoring is behind, when any of them needs anchoring (0 "
        "while only empty or anchor-only blocks wait): up, side-chain heights the main chain "
        "has not anchored; down, main-chain heights the side chain's mirror lacks.";
    static const char out_help[] = "Anchor submits by direction and outcome.";
    s_dir_t *dirs[2] = {&s->up, &s->down};
    const char *names[2] = {"up", "down"};
    for (int k = 0; k < 2; k++) {
        dirs[k]->m_lag = ec_metrics_gauge(r->metrics, "ecert_anchor_lag_blocks", lag_help,
                                          "chain_id", id, "direction", names[k], NULL);
        for (int o = 0; o < S_OUTCOMES; o++)
            dirs[k]->m_out[o] =
                ec_metrics_counter(r->metrics, "ecert_anchor_submits_total", out_help, "chain_id",
                                   id, "direction", names[k], "result", s_outcome_names[o], NULL);
    }
    s->m_age = ec_metrics_gauge(r->metrics, "ecert_anchor_mirror_age_seconds",
                                "How far the side chain's mirror of the main chain is behind the "
                                "main chain's tip, in main-chain block time.",
                                "chain_id", id, NULL);
    s->m_bound = ec_metrics_gauge(r->metrics, "ecert_anchor_freshness_bound_seconds",
                                  "The side chain's bound on its mirror's age (main_freshness_ms): "
                                  "beyond it, the side chain refuses role-checked transactions.",
                                  "chain_id", id, NULL);
}

void ar_relay_metrics(ar_relay_t *r, ec_metrics_t *reg)
{
    assert(r);
    r->metrics = reg;
    r->m_rounds = reg ? ec_metrics_counter(reg, "ecert_anchor_rounds_total",
                                           "Anchoring rounds the relay has run.", NULL)
                      : NULL;
}

/* Status of ch (s: its side, or NULL), with its series. */
static void s_status_counted(ar_relay_t *r, s_chain_t *ch, s_side_t *s, uint32_t want_kind)
{
    s_status(r, ch, want_kind);
    s_metrics_chain(r, ch, s);
    ec_metrics_set(ch->m_up, ch->usable ? 1 : 0);
}

void ar_relay_round(ar_relay_t *r)
{
    ec_metrics_inc(r->m_rounds);
    s_poll_submits(r);
    s_status_counted(r, &r->main, NULL, EC_CHAIN_MAIN);
    if (!r->main.usable)
        return;
    for (uint32_t i = 0; i < r->side_count && r->main.usable; i++) {
        s_side_t *s = &r->sides[i];
        s_status_counted(r, &s->c, s, EC_CHAIN_SIDE);
        if (!s->c.usable)
            continue;
        if (!s->up.req)
            s_side_to_main(r, s);
        if (!s->down.req && s->c.usable && r->main.usable)
            s_main_to_side(r, s);
    }
}

/* Drains every SUB socket that has messages; true when any header was announced. */
static bool s_drain_subs(zmq_pollitem_t *items, int n)
{
    bool any = false;
    for (int i = 0; i < n; i++) {
        if (!(items[i].revents & ZMQ_POLLIN))
            continue;
        for (;;) {
            zmq_msg_t msg;
            zmq_msg_init(&msg);
            int got = zmq_msg_recv(&msg, items[i].socket, ZMQ_DONTWAIT);
            zmq_msg_close(&msg);
            if (got < 0)
                break;
            any = true;
        }
    }
    return any;
}

int ar_relay_run(ar_relay_t *r, const volatile sig_atomic_t *stop)
{
    zmq_pollitem_t items[AR_SIDES_MAX + 1];
    int n = 0;
    if (r->main.sub)
        items[n++] = (zmq_pollitem_t){r->main.sub, 0, ZMQ_POLLIN, 0};
    for (uint32_t i = 0; i < r->side_count; i++)
        if (r->sides[i].c.sub)
            items[n++] = (zmq_pollitem_t){r->sides[i].c.sub, 0, ZMQ_POLLIN, 0};
    int64_t last = 0, next = 0;
    bool wake = true;
    while (!*stop) {
        int64_t now = s_now_ms();
        if (now >= next || (wake && now - last >= S_ROUND_GAP_MS)) {
            ar_relay_round(r);
            last = s_now_ms();
            next = last + r->cfg.interval_ms;
            wake = false;
            continue;
        }
        int64_t wait = (wake ? last + S_ROUND_GAP_MS : next) - now;
        if (wait > S_POLL_MS)
            wait = S_POLL_MS;
        if (wait < 0)
            wait = 0;
        if (n > 0) {
            int rc = zmq_poll(items, n, (long)wait);
            if (rc > 0 && s_drain_subs(items, n))
                wake = true;
        } else {
            struct timespec ts = {0, (long)wait * 1000000L};
            nanosleep(&ts, NULL);
        }
        if (s_poll_submits(r))
            wake = true;
    }
    return 0;
}
