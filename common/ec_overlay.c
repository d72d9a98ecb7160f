/*
 * ec_overlay.c - the pending block's newest write per key (see ec_overlay.h for the layout
 * and why it exists).
 *
 * Invariants:
 * - every entry i < entry_count is in the table exactly once, at the first slot of its
 *   probe sequence that was free when it was placed (slots hold entry index + 1, 0 free);
 * - table_size is a power of two and at least twice entry_count, so a probe always ends;
 * - undo records are in the order of the writes they undo, and the entries a write
 *   created are in that order too.
 */
#include "ec_overlay.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define S_TABLE_MIN 1024u

/* One distinct (cf, key) and its newest write. */
typedef struct {
    uint64_t hash;    /* SipHash of cf and key                     */
    uint32_t key_off; /* in the arena                              */
    uint32_t key_len;
    uint32_t val_off; /* the newest value, in the arena            */
    uint32_t val_len;
    uint8_t cf;
    bool del; /* the newest write is a delete               */
} s_entry_t;

/* What one write changed: the entry's previous value, or that the write created it. */
typedef struct {
    uint32_t entry;
    uint32_t val_off;
    uint32_t val_len;
    bool del;
    bool created;
} s_undo_t;

struct ec_overlay {
    uint8_t sip_key[crypto_shorthash_KEYBYTES];
    uint32_t *table; /* [table_size] entry index + 1, 0 when free */
    uint32_t table_size;
    s_entry_t *entries;
    uint32_t entry_count, entry_cap;
    s_undo_t *undo;
    uint32_t undo_count, undo_cap;
    uint8_t *arena;
    uint32_t bytes, bytes_cap;
};

ec_overlay_t *ec_overlay_new(void)
{
    ec_overlay_t *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->table = calloc(S_TABLE_MIN, sizeof *o->table);
    if (!o->table) {
        free(o);
        return NULL;
    }
    o->table_size = S_TABLE_MIN;
    randombytes_buf(o->sip_key, sizeof o->sip_key);
    return o;
}

void ec_overlay_destroy(ec_overlay_t **self_p)
{
    assert(self_p);
    ec_overlay_t *o = *self_p;
    if (!o)
        return;
    free(o->table);
    free(o->entries);
    free(o->undo);
    free(o->arena);
    free(o);
    *self_p = NULL;
}

static uint64_t s_hash(const ec_overlay_t *o, uint8_t cf, const void *key, size_t key_size)
{
    /* The column family goes in as the key's first byte, without a copy for short keys. */
    uint8_t buf[128];
    uint8_t out[crypto_shorthash_BYTES];
    if (key_size < sizeof buf) {
        buf[0] = cf;
        if (key_size)
            memcpy(buf + 1, key, key_size);
        crypto_shorthash(out, buf, key_size + 1, o->sip_key);
    } else {
        /* Long keys are rare (none of ecert's are over 100 bytes); hash the key and fold
         * the column family into the result. */
        crypto_shorthash(out, key, key_size, o->sip_key);
        out[0] ^= (uint8_t)(cf + 1);
    }
    uint64_t h;
    memcpy(&h, out, sizeof h);
    return h;
}

/* The slot holding (cf, key), or the free slot where it would go. */
static uint32_t s_slot(const ec_overlay_t *o, uint64_t hash, uint8_t cf, const void *key,
                       size_t key_size)
{
    uint32_t mask = o->table_size - 1;
    for (uint32_t i = (uint32_t)hash & mask;; i = (i + 1) & mask) {
        uint32_t t = o->table[i];
        if (t == 0)
            return i;
        const s_entry_t *e = &o->entries[t - 1];
        if (e->hash == hash && e->cf == cf && e->key_len == key_size &&
            (key_size == 0 || memcmp(o->arena + e->key_off, key, key_size) == 0))
            return i;
    }
}

/* Doubles the table and places every entry again, oldest first (which keeps the property
 * rollback relies on). Returns 0 or EC_ENOMEM (the table is unchanged). */
static int s_grow_table(ec_overlay_t *o)
{
    uint32_t size = o->table_size * 2;
    uint32_t *t = calloc(size, sizeof *t);
    if (!t)
        return EC_ENOMEM;
    free(o->table);
    o->table = t;
    o->table_size = size;
    for (uint32_t i = 0; i < o->entry_count; i++) {
        uint32_t mask = size - 1, s = (uint32_t)o->entries[i].hash & mask;
        while (t[s])
            s = (s + 1) & mask;
        t[s] = i + 1;
    }
    return 0;
}

/* The array a (capacity *cap elements of elem bytes) doubled, *cap updated; NULL (a and
 * *cap unchanged) when out of memory. */
static void *s_array_grow(void *a, uint32_t *cap, size_t elem)
{
    uint32_t n = *cap ? *cap * 2 : 1024;
    void *p = realloc(a, (size_t)n * elem);
    if (p)
        *cap = n;
    return p;
}

/* Makes room for `more` arena bytes, one entry and one undo record. 0 or EC_ENOMEM. */
static int s_reserve(ec_overlay_t *o, size_t more)
{
    if (more > EC_OVERLAY_BYTES_MAX - o->bytes || o->entry_count >= EC_OVERLAY_ENTRIES_MAX ||
        o->undo_count == UINT32_MAX)
        return EC_ENOMEM;
    if (o->bytes + more > o->bytes_cap) {
        size_t cap = o->bytes_cap ? o->bytes_cap : 64u * 1024;
        while (cap < o->bytes + more)
            cap *= 2;
        if (cap > EC_OVERLAY_BYTES_MAX)
            cap = EC_OVERLAY_BYTES_MAX;
        uint8_t *a = realloc(o->arena, cap);
        if (!a)
            return EC_ENOMEM;
        o->arena = a;
        o->bytes_cap = (uint32_t)cap;
    }
    if (o->entry_count == o->entry_cap) {
        s_entry_t *e = s_array_grow(o->entries, &o->entry_cap, sizeof *e);
        if (!e)
            return EC_ENOMEM;
        o->entries = e;
    }
    if (o->undo_count == o->undo_cap) {
        s_undo_t *u = s_array_grow(o->undo, &o->undo_cap, sizeof *u);
        if (!u)
            return EC_ENOMEM;
        o->undo = u;
    }
    if (2 * (o->entry_count + 1) > o->table_size)
        return s_grow_table(o);
    return 0;
}

int ec_overlay_write(ec_overlay_t *o, uint8_t cf, const void *key, size_t key_size, const void *val,
                     size_t val_size, bool del)
{
    assert(o && (key || key_size == 0) && (del || val || val_size == 0));
    if (del)
        val_size = 0;
    if (key_size > EC_OVERLAY_BYTES_MAX || val_size > EC_OVERLAY_BYTES_MAX)
        return EC_ENOMEM;
    if (s_reserve(o, key_size + val_size) != 0)
        return EC_ENOMEM;
    uint64_t hash = s_hash(o, cf, key, key_size);
    uint32_t slot = s_slot(o, hash, cf, key, key_size);
    s_undo_t *u = &o->undo[o->undo_count++];
    s_entry_t *e;
    if (o->table[slot] == 0) {
        e = &o->entries[o->entry_count];
        *e = (s_entry_t){hash, o->bytes, (uint32_t)key_size, 0, 0, cf, true};
        if (key_size)
            memcpy(o->arena + o->bytes, key, key_size);
        o->bytes += (uint32_t)key_size;
        o->table[slot] = ++o->entry_count;
        *u = (s_undo_t){o->entry_count - 1, 0, 0, true, true};
    } else {
        e = &o->entries[o->table[slot] - 1];
        *u = (s_undo_t){o->table[slot] - 1, e->val_off, e->val_len, e->del, false};
    }
    e->del = del;
    e->val_off = o->bytes;
    e->val_len = (uint32_t)val_size;
    if (val_size)
        memcpy(o->arena + o->bytes, val, val_size);
    o->bytes += (uint32_t)val_size;
    return 0;
}

bool ec_overlay_find(const ec_overlay_t *o, uint8_t cf, const void *key, size_t key_size,
                     const uint8_t **val, size_t *val_size, bool *del)
{
    assert(o && (key || key_size == 0) && val && val_size && del);
    if (o->entry_count == 0)
        return false;
    uint32_t t = o->table[s_slot(o, s_hash(o, cf, key, key_size), cf, key, key_size)];
    if (t == 0)
        return false;
    const s_entry_t *e = &o->entries[t - 1];
    *del = e->del;
    *val = o->arena + e->val_off;
    *val_size = e->val_len;
    return true;
}

ec_overlay_mark_t ec_overlay_mark(const ec_overlay_t *o)
{
    assert(o);
    return (ec_overlay_mark_t){o->undo_count, o->entry_count, o->bytes};
}

void ec_overlay_rollback(ec_overlay_t *o, const ec_overlay_mark_t *m)
{
    assert(o && m && m->undo <= o->undo_count && m->entries <= o->entry_count &&
           m->bytes <= o->bytes);
    while (o->undo_count > m->undo) {
        const s_undo_t *u = &o->undo[--o->undo_count];
        s_entry_t *e = &o->entries[u->entry];
        if (u->created) {
            /* The newest entry still there (creation order is undo order). */
            assert(u->entry == o->entry_count - 1);
            uint32_t slot = s_slot(o, e->hash, e->cf, o->arena + e->key_off, e->key_len);
            assert(o->table[slot] == u->entry + 1);
            o->table[slot] = 0;
            o->entry_count--;
        } else {
            e->val_off = u->val_off;
            e->val_len = u->val_len;
            e->del = u->del;
        }
    }
    assert(o->entry_count == m->entries);
    o->bytes = m->bytes;
}

void ec_overlay_clear(ec_overlay_t *o)
{
    assert(o);
    memset(o->table, 0, (size_t)o->table_size * sizeof *o->table);
    o->entry_count = 0;
    o->undo_count = 0;
    o->bytes = 0;
}

/* One key to sort: where its bytes are, so the comparison needs no context. */
typedef struct {
    const uint8_t *key;
    uint32_t key_len;
    uint32_t entry;
    uint8_t cf;
} s_sorted_t;

static int s_sorted_cmp(const void *va, const void *vb)
{
    const s_sorted_t *a = va, *b = vb;
    if (a->cf != b->cf)
        return a->cf < b->cf ? -1 : 1;
    uint32_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
    int c = n ? memcmp(a->key, b->key, n) : 0;
    if (c != 0)
        return c;
    return a->key_len < b->key_len ? -1 : a->key_len > b->key_len;
}

int ec_overlay_each_sorted(const ec_overlay_t *o, ec_overlay_fn fn, void *ctx)
{
    assert(o && fn);
    if (o->entry_count == 0)
        return 0;
    s_sorted_t *v = malloc((size_t)o->entry_count * sizeof *v);
    if (!v)
        return EC_ENOMEM;
    for (uint32_t i = 0; i < o->entry_count; i++) {
        const s_entry_t *e = &o->entries[i];
        v[i] = (s_sorted_t){o->arena + e->key_off, e->key_len, i, e->cf};
    }
    qsort(v, o->entry_count, sizeof *v, s_sorted_cmp);
    int rc = 0;
    for (uint32_t i = 0; i < o->entry_count && rc == 0; i++) {
        const s_entry_t *e = &o->entries[v[i].entry];
        rc = fn(ctx, e->cf, v[i].key, e->key_len, o->arena + e->val_off, e->val_len, e->del);
    }
    free(v);
    return rc;
}

int ec_overlay_each_prefix(const ec_overlay_t *o, uint8_t cf, const void *prefix,
                           size_t prefix_size, ec_overlay_fn fn, void *ctx)
{
    assert(o && fn && (prefix || prefix_size == 0));
    uint32_t n = 0;
    for (uint32_t i = 0; i < o->entry_count; i++) {
        const s_entry_t *e = &o->entries[i];
        n += e->cf == cf && e->key_len >= prefix_size &&
             (prefix_size == 0 || memcmp(o->arena + e->key_off, prefix, prefix_size) == 0);
    }
    if (n == 0)
        return 0;
    s_sorted_t *v = malloc((size_t)n * sizeof *v);
    if (!v)
        return EC_ENOMEM;
    uint32_t k = 0;
    for (uint32_t i = 0; i < o->entry_count; i++) {
        const s_entry_t *e = &o->entries[i];
        if (e->cf == cf && e->key_len >= prefix_size &&
            (prefix_size == 0 || memcmp(o->arena + e->key_off, prefix, prefix_size) == 0))
            v[k++] = (s_sorted_t){o->arena + e->key_off, e->key_len, i, e->cf};
    }
    qsort(v, n, sizeof *v, s_sorted_cmp);
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        const s_entry_t *e = &o->entries[v[i].entry];
        rc = fn(ctx, e->cf, v[i].key, e->key_len, o->arena + e->val_off, e->val_len, e->del);
    }
    free(v);
    return rc;
}

uint32_t ec_overlay_count(const ec_overlay_t *o)
{
    assert(o);
    return o->entry_count;
}
