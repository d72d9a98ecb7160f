/*
 * gw_app.c - the pool of chain connection sets (gw_app.h) and chain lookup by name.
 *
 * A set is a cl_ctx_t copied from the loaded config, so it carries every chain with its
 * own (lazily made) ZeroMQ sockets. At most one set per request running at once is ever
 * made, and sets are kept for reuse: the bound is the connection limit. The readers of
 * the `sidechains` and `mirror` replies live here too: the anchors route and the event
 * hub both read them.
 */
#include <stdlib.h>
#include <string.h>

#include "gw_app.h"

cl_ctx_t *gw_ctx_take(gw_app_t *app)
{
    cl_ctx_t *ctx = NULL;
    pthread_mutex_lock(&app->pool_lock);
    if (app->pool_count > 0)
        ctx = app->pool[--app->pool_count];
    pthread_mutex_unlock(&app->pool_lock);
    if (!ctx) {
        ctx = malloc(sizeof *ctx);
        if (!ctx)
            return NULL;
        memcpy(ctx, &app->tmpl, sizeof *ctx); /* the template has no connections */
    }
    cl_clear_error(ctx);
    ctx->timeout_ms = app->timeout_ms;
    return ctx;
}

void gw_ctx_give(gw_app_t *app, cl_ctx_t *ctx)
{
    if (!ctx)
        return;
    pthread_mutex_lock(&app->pool_lock);
    if (app->pool_count < sizeof app->pool / sizeof app->pool[0]) {
        app->pool[app->pool_count++] = ctx;
        ctx = NULL;
    }
    pthread_mutex_unlock(&app->pool_lock);
    if (ctx) {
        cl_disconnect_all(ctx);
        free(ctx);
    }
}

void gw_ctx_pool_fini(gw_app_t *app)
{
    pthread_mutex_lock(&app->pool_lock);
    for (size_t i = 0; i < app->pool_count; i++) {
        cl_disconnect_all(app->pool[i]);
        free(app->pool[i]);
    }
    app->pool_count = 0;
    pthread_mutex_unlock(&app->pool_lock);
}

cl_chain_t *gw_chain(cl_ctx_t *ctx, const char *name)
{
    cl_config_t *cfg = &ctx->cfg;
    if (!strcmp(name, "main"))
        return &cfg->main;
    for (size_t i = 0; i < cfg->side_count; i++)
        if (!strcmp(cfg->sides[i].type, name))
            return &cfg->sides[i];
    return NULL;
}

const char *gw_chain_name(const cl_chain_t *ch)
{
    return ch->type;
}

int gw_sidechain_read(ec_cur_t *cur, gw_sidechain_t *out)
{
    ec_cur_t it;
    uint8_t genesis_hash[EC_HASH_BYTES];
    ec_cur_enter(cur, &it, 5);
    ec_cur_str_copy(&it, out->type, sizeof out->type);
    ec_cur_str_copy(&it, out->chain_id, sizeof out->chain_id);
    ec_cur_bin_fixed(&it, genesis_hash, sizeof genesis_hash);
    ec_cur_uint(&it, &out->anchored);
    ec_cur_bool(&it, &out->frozen);
    ec_cur_fold(cur, &it);
    return cur->err;
}

int gw_mirror_read(const msgpack_object *result, uint64_t *main_height)
{
    ec_cur_t mc, lc;
    uint64_t mh = 0;
    ec_cur_open(&mc, result, 4);
    ec_cur_enter(&mc, &lc, 4);
    ec_cur_uint(&lc, &mh);
    if (mc.err)
        return EC_EINVAL;
    *main_height = mh;
    return 0;
}
