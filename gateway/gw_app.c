/*
 * gw_app.c - the pool of chain connection sets (gw_app.h) and chain lookup by name.
 *
 * A set is a cl_ctx_t copied from the loaded config, so it carries every chain with its
 * own (lazily made) ZeroMQ sockets. At most one set per request running at once is ever
 * made, and sets are kept for reuse: the bound is the connection limit.
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
