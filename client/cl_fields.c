/*
 * cl_fields.c - certificate payload fields, fields_root and the identity hash (formats in
 * cl_fields.h and docs/PROTOCOL.md, "Certificate payload"). Everything here is a pure
 * function of its inputs except cl_fields_add with a NULL salt, which draws random bytes.
 *
 * Field names, values, salts, attachments and identity attributes are personal data: every
 * buffer that held them (values, attachments, the encodings hashed for leaves and for the
 * identity hash) is wiped with sodium_memzero before it goes back to the heap.
 */
#include "cl_fields.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ec_merkle.h"
#include "ec_types.h"

void cl_fields_init(cl_fields_t *f)
{
    memset(f, 0, sizeof *f);
}

/* Wipes size bytes at p and frees it (p may be NULL). */
static void s_wipe_free(void *p, size_t size)
{
    if (!p)
        return;
    sodium_memzero(p, size);
    free(p);
}

void cl_fields_fini(cl_fields_t *f)
{
    for (size_t i = 0; i < f->count; i++)
        s_wipe_free(f->items[i].value, f->items[i].value_len + 1);
    s_wipe_free(f->attachment, f->attachment_size ? f->attachment_size : 1);
    s_wipe_free(f->vc, f->vc ? f->vc_len + 1 : 1);
    s_wipe_free(f->sd_jwt, f->sd_jwt ? f->sd_jwt_len + 1 : 1);
    sodium_memzero(f, sizeof *f); /* names and salts */
}

/* Appends a field given as (pointer, length) pairs, after checking every limit. */
static int s_add(cl_fields_t *f, const char *name, size_t name_len, const char *value,
                 size_t value_len, const uint8_t salt[CL_FIELD_SALT_BYTES], ec_status_t *st)
{
    if (name_len == 0)
        return ec_status_set(st, EC_EINVAL, "empty field name");
    if (name_len > CL_FIELD_NAME_MAX)
        return ec_status_set(st, EC_ETOOBIG, "field name longer than %d bytes", CL_FIELD_NAME_MAX);
    if (memchr(name, 0, name_len) || memchr(value, 0, value_len))
        return ec_status_set(st, EC_EINVAL, "field '%.*s' holds a NUL byte", (int)name_len, name);
    if (value_len > CL_FIELD_VALUE_MAX)
        return ec_status_set(st, EC_ETOOBIG, "value of field '%.*s' longer than %d bytes",
                             (int)name_len, name, CL_FIELD_VALUE_MAX);
    if (f->count == CL_FIELDS_MAX)
        return ec_status_set(st, EC_ETOOBIG, "more than %d fields", CL_FIELDS_MAX);
    for (size_t i = 0; i < f->count; i++)
        if (strlen(f->items[i].name) == name_len && !memcmp(f->items[i].name, name, name_len))
            return ec_status_set(st, EC_EINVAL, "field '%.*s' given twice", (int)name_len, name);
    cl_field_t *fl = &f->items[f->count];
    fl->value = malloc(value_len + 1);
    if (!fl->value)
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    memcpy(fl->value, value, value_len);
    fl->value[value_len] = '\0';
    fl->value_len = value_len;
    memcpy(fl->name, name, name_len);
    fl->name[name_len] = '\0';
    if (salt)
        memcpy(fl->salt, salt, CL_FIELD_SALT_BYTES);
    else
        randombytes_buf(fl->salt, CL_FIELD_SALT_BYTES);
    f->count++;
    return 0;
}

int cl_fields_add(cl_fields_t *f, const char *name, const char *value,
                  const uint8_t salt[CL_FIELD_SALT_BYTES], ec_status_t *st)
{
    return s_add(f, name, strlen(name), value, strlen(value), salt, st);
}

int cl_split_arg(const char *arg, char name[CL_FIELD_NAME_MAX + 1], const char **value,
                 ec_status_t *st)
{
    const char *eq = strchr(arg, '=');
    if (!eq)
        return ec_status_set(st, EC_EINVAL, "'%s' is not NAME=VALUE", arg);
    size_t len = (size_t)(eq - arg);
    if (len == 0)
        return ec_status_set(st, EC_EINVAL, "'%s' has an empty name", arg);
    if (len > CL_FIELD_NAME_MAX)
        return ec_status_set(st, EC_ETOOBIG, "name in '%.40s...' longer than %d bytes", arg,
                             CL_FIELD_NAME_MAX);
    memcpy(name, arg, len);
    name[len] = '\0';
    *value = eq + 1;
    return 0;
}

int cl_fields_add_arg(cl_fields_t *f, const char *arg, ec_status_t *st)
{
    char name[CL_FIELD_NAME_MAX + 1];
    const char *value = NULL;
    int rc = cl_split_arg(arg, name, &value, st);
    if (rc)
        return rc;
    return s_add(f, name, strlen(name), value, strlen(value), NULL, st);
}

int cl_fields_add_json(cl_fields_t *f, const char *text, size_t size, ec_status_t *st)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return ec_status_set(st, EC_EINVAL, "not JSON (line %d: %s)", jerr.line, jerr.text);
    int rc = 0;
    if (!json_is_object(root)) {
        rc = ec_status_set(st, EC_EINVAL, "expected a JSON object of string fields");
        goto done;
    }
    /* Jansson keeps an object's keys in the order they were read (since 2.8). */
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val)
    {
        if (!json_is_string(val)) {
            rc = ec_status_set(st, EC_EINVAL, "field '%s' is not a JSON string", key);
            goto done;
        }
        rc = s_add(f, key, strlen(key), json_string_value(val), json_string_length(val), NULL, st);
        if (rc)
            goto done;
    }
done:
    json_decref(root);
    return rc;
}

int cl_fields_set_attachment(cl_fields_t *f, const uint8_t *data, size_t size, ec_status_t *st)
{
    if (size > EC_PAYLOAD_BYTES_MAX)
        return ec_status_set(st, EC_ETOOBIG, "attachment larger than %u bytes",
                             EC_PAYLOAD_BYTES_MAX);
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    if (size)
        memcpy(copy, data, size);
    s_wipe_free(f->attachment, f->attachment_size ? f->attachment_size : 1);
    f->attachment = copy;
    f->attachment_size = size;
    return 0;
}

void cl_writer_wipe_fini(ec_writer_t *w)
{
    if (w->sbuf.data)
        sodium_memzero(w->sbuf.data, w->sbuf.alloc);
    ec_writer_fini(w);
}

/* [name, value, salt]: the bytes a field leaf hashes, and the payload's element. */
static void s_field_encode(ec_writer_t *w, const cl_field_t *fl)
{
    ec_write_array(w, 3);
    ec_write_cstr(w, fl->name);
    ec_write_str(w, fl->value, fl->value_len);
    ec_write_bin(w, fl->salt, CL_FIELD_SALT_BYTES);
}

void cl_fields_encode(ec_writer_t *w, const cl_fields_t *f)
{
    bool creds = f->vc && f->sd_jwt; /* version 2 only when there is something to carry */
    ec_write_array(w, creds ? 4 : 3);
    ec_write_uint(w, creds ? CL_PAYLOAD_VERSION_CREDS : CL_PAYLOAD_VERSION);
    ec_write_array(w, (uint32_t)f->count);
    for (size_t i = 0; i < f->count; i++)
        s_field_encode(w, &f->items[i]);
    if (f->attachment)
        ec_write_bin(w, f->attachment, f->attachment_size);
    else
        ec_write_nil(w);
    if (creds) {
        ec_write_array(w, 2);
        ec_write_str(w, f->vc, f->vc_len);
        ec_write_str(w, f->sd_jwt, f->sd_jwt_len);
    }
}

/* Copies (text, len) into a fresh NUL-terminated heap string *dst. 0 or EC_ENOMEM. */
static int s_dup(char **dst, size_t *dst_len, const char *text, size_t len)
{
    char *p = malloc(len + 1);
    if (!p)
        return EC_ENOMEM;
    memcpy(p, text, len);
    p[len] = '\0';
    *dst = p;
    *dst_len = len;
    return 0;
}

int cl_fields_set_credentials(cl_fields_t *f, const char *vc, const char *sd_jwt, ec_status_t *st)
{
    size_t vc_len = strlen(vc), sd_len = strlen(sd_jwt);
    if (vc_len > EC_PAYLOAD_BYTES_MAX || sd_len > EC_PAYLOAD_BYTES_MAX)
        return ec_status_set(st, EC_ETOOBIG, "the credentials are above %u bytes",
                             EC_PAYLOAD_BYTES_MAX);
    s_wipe_free(f->vc, f->vc ? f->vc_len + 1 : 1);
    s_wipe_free(f->sd_jwt, f->sd_jwt ? f->sd_jwt_len + 1 : 1);
    f->vc = f->sd_jwt = NULL;
    if (s_dup(&f->vc, &f->vc_len, vc, vc_len) || s_dup(&f->sd_jwt, &f->sd_jwt_len, sd_jwt, sd_len))
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    return 0;
}

/* Reads version 2's [vc: str, sd_jwt: str] element into f. */
static int s_decode_creds(cl_fields_t *f, ec_cur_t *c, ec_status_t *st)
{
    ec_cur_t cc;
    const char *vc = NULL, *sd = NULL;
    size_t vc_len = 0, sd_len = 0;
    ec_cur_enter(c, &cc, 2);
    ec_cur_str(&cc, &vc, &vc_len, EC_PAYLOAD_BYTES_MAX);
    ec_cur_str(&cc, &sd, &sd_len, EC_PAYLOAD_BYTES_MAX);
    int rc = ec_cur_finish(&cc);
    if (rc)
        return ec_status_set(st, rc, "payload credentials are malformed");
    if (!vc_len || !sd_len || memchr(vc, 0, vc_len) || memchr(sd, 0, sd_len))
        return ec_status_set(st, EC_EINVAL, "payload credentials are empty or hold a NUL byte");
    if (s_dup(&f->vc, &f->vc_len, vc, vc_len) || s_dup(&f->sd_jwt, &f->sd_jwt_len, sd, sd_len))
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    return 0;
}

/* Reads the entries of a payload's fields array (cursor `list`) into f. */
static int s_decode_fields(cl_fields_t *f, ec_cur_t *list, ec_status_t *st)
{
    if (list->err)
        return ec_status_set(st, list->err, "payload fields are malformed");
    for (uint32_t i = 0; i < list->count; i++) {
        ec_cur_t fc;
        const char *name, *value;
        size_t name_len, value_len;
        uint8_t salt[CL_FIELD_SALT_BYTES];
        ec_cur_enter(list, &fc, 3);
        ec_cur_str(&fc, &name, &name_len, CL_FIELD_NAME_MAX);
        ec_cur_str(&fc, &value, &value_len, CL_FIELD_VALUE_MAX);
        ec_cur_bin_fixed(&fc, salt, sizeof salt);
        int rc = ec_cur_finish(&fc);
        if (rc)
            return ec_status_set(st, rc, "payload field %u is malformed", i);
        rc = s_add(f, name, name_len, value, value_len, salt, st);
        if (rc)
            return rc;
    }
    int rc = ec_cur_finish(list);
    return rc ? ec_status_set(st, rc, "payload fields are malformed") : 0;
}

int cl_fields_decode(cl_fields_t *f, const uint8_t *data, size_t size, ec_status_t *st)
{
    assert(f->count == 0 && !f->attachment);
    ec_decoder_t dec;
    ec_decoder_init(&dec);
    const msgpack_object *root = NULL;
    int rc = ec_decode(&dec, data, size, &root);
    if (rc) {
        ec_status_set(st, rc, "payload is not canonical msgpack");
        goto done;
    }
    ec_cur_t c;
    uint64_t version = 0;
    /* Version 1 has three elements, version 2 a fourth (the credentials). */
    bool four = root->type == MSGPACK_OBJECT_ARRAY && root->via.array.size == 4;
    ec_cur_open(&c, root, four ? 4 : 3);
    ec_cur_uint(&c, &version);
    if (c.err == 0 && version != (four ? CL_PAYLOAD_VERSION_CREDS : CL_PAYLOAD_VERSION)) {
        rc = ec_status_set(st, EC_EVERSION, "payload version %llu (expected %d or %d)",
                           (unsigned long long)version, CL_PAYLOAD_VERSION,
                           CL_PAYLOAD_VERSION_CREDS);
        goto done;
    }
    ec_cur_t list;
    ec_cur_enter_max(&c, &list, CL_FIELDS_MAX);
    rc = s_decode_fields(f, &list, st);
    if (rc)
        goto done;
    if (ec_cur_peek_nil(&c)) {
        ec_cur_nil(&c);
    } else {
        const uint8_t *att = NULL;
        size_t att_size = 0;
        ec_cur_bin(&c, &att, &att_size, EC_PAYLOAD_BYTES_MAX);
        if (c.err == 0)
            rc = cl_fields_set_attachment(f, att, att_size, st);
        if (rc)
            goto done;
    }
    if (four && c.err == 0 && (rc = s_decode_creds(f, &c, st)) != 0)
        goto done;
    rc = ec_cur_finish(&c);
    if (rc)
        ec_status_set(st, rc, "payload is malformed");
done:
    ec_decoder_fini(&dec);
    if (rc)
        cl_fields_fini(f);
    return rc;
}

int cl_fields_open(cl_fields_t *f, const ec_key_t *key, const uint8_t *sealed, size_t sealed_size,
                   const uint8_t *fields_root, ec_status_t *st)
{
    assert(f && key && (sealed || sealed_size == 0));
    if (sealed_size < EC_SEAL_OVERHEAD)
        return ec_status_set(st, EC_EINVAL, "the sealed payload is too short (%zu bytes)",
                             sealed_size);
    size_t plain_size = sealed_size - EC_SEAL_OVERHEAD;
    uint8_t *plain = malloc(plain_size ? plain_size : 1);
    if (!plain)
        return ec_status_set(st, EC_ENOMEM, "out of memory");
    if (ec_unseal(plain, sealed, sealed_size, key) != 0) {
        sodium_memzero(plain, plain_size ? plain_size : 1);
        free(plain);
        return ec_status_set(st, EC_ECRYPTO,
                             "cannot decrypt the payload: it is not sealed to this key, or it "
                             "was altered");
    }
    ec_status_t dst = {0};
    int rc = cl_fields_decode(f, plain, plain_size, &dst);
    sodium_memzero(plain, plain_size);
    free(plain);
    if (rc)
        return ec_status_set(st, rc, "decrypted payload: %s", dst.msg);
    if (fields_root) {
        uint8_t root[EC_HASH_BYTES];
        cl_fields_root(root, f);
        if (sodium_memcmp(root, fields_root, EC_HASH_BYTES) != 0) {
            cl_fields_fini(f);
            return ec_status_set(st, EC_EPROOF,
                                 "the decrypted fields do not match the certificate's fields_root");
        }
    }
    return 0;
}

void cl_field_leaf(uint8_t out[EC_HASH_BYTES], const cl_field_t *field)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_writer_reserve(&w, CL_FIELD_NAME_MAX + CL_FIELD_VALUE_MAX + 32);
    s_field_encode(&w, field);
    ec_merkle_leaf(out, EC_LEAF_FIELD, ec_writer_data(&w), ec_writer_size(&w));
    cl_writer_wipe_fini(&w);
}

void cl_fields_root(uint8_t out[EC_HASH_BYTES], const cl_fields_t *f)
{
    ec_hash32_t leaves[CL_FIELDS_MAX];
    for (size_t i = 0; i < f->count; i++)
        cl_field_leaf(leaves[i], &f->items[i]);
    ec_merkle_root(out, leaves, f->count);
}

static int s_attr_cmp(const void *a, const void *b)
{
    return strcmp(((const cl_attr_t *)a)->name, ((const cl_attr_t *)b)->name);
}

int cl_identity_hash(uint8_t out[EC_HASH_BYTES], const uint8_t *salt, size_t salt_size,
                     const cl_attr_t *attrs, size_t count, ec_status_t *st)
{
    if (salt_size < CL_IDENTITY_SALT_MIN)
        return ec_status_set(st, EC_EINVAL, "identity salt shorter than %d bytes",
                             CL_IDENTITY_SALT_MIN);
    if (count == 0)
        return ec_status_set(st, EC_EINVAL, "no identity attributes");
    if (count > CL_ATTRS_MAX)
        return ec_status_set(st, EC_ETOOBIG, "more than %d identity attributes", CL_ATTRS_MAX);
    cl_attr_t sorted[CL_ATTRS_MAX];
    memcpy(sorted, attrs, count * sizeof *attrs);
    qsort(sorted, count, sizeof *sorted, s_attr_cmp);
    for (size_t i = 0; i < count; i++) {
        size_t nlen = strlen(sorted[i].name);
        if (nlen == 0)
            return ec_status_set(st, EC_EINVAL, "empty attribute name");
        if (nlen > CL_FIELD_NAME_MAX || strlen(sorted[i].value) > CL_FIELD_VALUE_MAX)
            return ec_status_set(st, EC_ETOOBIG, "attribute '%.64s' too long", sorted[i].name);
        if (i > 0 && strcmp(sorted[i - 1].name, sorted[i].name) == 0)
            return ec_status_set(st, EC_EINVAL, "attribute '%s' given twice", sorted[i].name);
    }
    ec_writer_t w;
    ec_writer_init(&w);
    ec_writer_reserve(&w, 8 + count * (CL_FIELD_NAME_MAX + CL_FIELD_VALUE_MAX + 16));
    ec_write_array(&w, (uint32_t)count);
    for (size_t i = 0; i < count; i++) {
        ec_write_array(&w, 2);
        ec_write_cstr(&w, sorted[i].name);
        ec_write_cstr(&w, sorted[i].value);
    }
    ec_sha256_t h;
    ec_sha256_init(&h);
    ec_sha256_update(&h, CL_IDENTITY_TAG, sizeof CL_IDENTITY_TAG); /* with its NUL: the 0x00 */
    ec_sha256_update(&h, salt, salt_size);
    ec_sha256_update(&h, ec_writer_data(&w), ec_writer_size(&w));
    ec_sha256_final(&h, out);
    sodium_memzero(&h, sizeof h);
    sodium_memzero(sorted, sizeof sorted);
    cl_writer_wipe_fini(&w);
    return 0;
}
