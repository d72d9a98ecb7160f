/*
 * cl_jcs.c - RFC 8785 canonical JSON over jansson values, and base64url through libsodium.
 *
 * The canonical text is built in a growing buffer (a few KB for a credential). Object
 * members are sorted with their names compared as UTF-16 code unit arrays, which differs
 * from byte order only for characters above U+FFFF against U+E000..U+FFFF. Numbers take the
 * shortest "%.*e" precision that reads back to the same double (correctly rounded by the C
 * library, hence the closest of the shortest; at powers of two the neighbour on d's other
 * side is tried too, s_other_side), then ECMAScript's layout rules.
 */
#include "cl_jcs.h"

#include <math.h>
#include <stdbool.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *data;
    size_t len, cap;
    int rc; /* first error; later appends do nothing */
} s_buf_t;

static void s_put(s_buf_t *b, const char *s, size_t n)
{
    if (b->rc)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = malloc(cap); /* not realloc: the old buffer is wiped, not left behind */
        if (!p) {
            b->rc = EC_ENOMEM;
            return;
        }
        if (b->data) {
            memcpy(p, b->data, b->len);
            sodium_memzero(b->data, b->cap);
            free(b->data);
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

/* Decodes one UTF-8 sequence at s (n bytes left) into *cp; returns its length, or 0 when
 * it is not well-formed UTF-8 (overlong, surrogate, above U+10FFFF, truncated). */
static size_t s_utf8(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
    if (len == 0 || len > n || s[0] > 0xf4)
        return 0;
    uint32_t c = s[0] & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < min[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

/* Writes a string with JSON.stringify's escapes. */
static void s_string(s_buf_t *b, const char *s, size_t n)
{
    s_put(b, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < n && b->rc == 0;) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp;
        size_t len = s_utf8((const unsigned char *)s + i, n - i, &cp);
        if (len == 0) {
            b->rc = EC_EINVAL;
            break;
        }
        const char *esc = NULL;
        char u[8];
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\b')
            esc = "\\b";
        else if (c == '\f')
            esc = "\\f";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c < 0x20) {
            snprintf(u, sizeof u, "\\u%04x", c);
            esc = u;
        }
        if (esc) {
            s_put(b, s + start, i - start);
            s_put(b, esc, strlen(esc));
            start = i + 1;
        }
        i += len;
    }
    s_put(b, s + start, n - start);
    s_put(b, "\"", 1);
}

/*
 * sci is d correctly rounded to some precision ("%.*e"), and does not read back as d. At a
 * power of two the interval of decimals that read back as d is narrower below d than above,
 * so the same number of digits may still do on d's other side: ECMAScript takes that one
 * (fewest digits first, then the closest). Rewrites sci to the neighbouring decimal on the
 * other side of d (one unit in its last digit away) and returns whether it reads back as d;
 * sci is unchanged otherwise.
 */
static bool s_other_side(char *sci, size_t cap, double d)
{
    const char *p = sci + (sci[0] == '-');
    char dig[24];
    size_t k = 0;
    for (; *p && *p != 'e' && k < sizeof dig - 1; p++)
        if (*p != '.')
            dig[k++] = *p;
    int exp = atoi(p + 1);
    bool up = fabs(strtod(sci, NULL)) < fabs(d);
    size_t i = k;
    while (i > 0 && dig[i - 1] == (up ? '9' : '0'))
        dig[--i] = up ? '0' : '9';
    if (i == 0 && up) { /* 9.99 -> 10.00: one digit more in front, so one exponent up */
        dig[0] = '1';
        exp++;
    } else if (i == 0) {
        return false; /* cannot happen: the leading digit is not 0 */
    } else {
        dig[i - 1] = (char)(dig[i - 1] + (up ? 1 : -1));
    }
    if (dig[0] == '0') { /* 1.00 -> 0.99: 9.9..9 one exponent down, as many digits */
        memmove(dig, dig + 1, k - 1);
        dig[k - 1] = '9';
        exp--;
    }
    char alt[40];
    int n = snprintf(alt, sizeof alt, "%s%c%s%.*se%+d", d < 0 ? "-" : "", dig[0], k > 1 ? "." : "",
                     (int)(k - 1), dig + 1, exp);
    if (n < 0 || (size_t)n >= cap || strtod(alt, NULL) != d)
        return false;
    memcpy(sci, alt, (size_t)n + 1);
    return true;
}

int cl_jcs_number(char buf[CL_JCS_NUMBER_MAX], double d)
{
    if (isnan(d) || isinf(d))
        return EC_EINVAL;
    if (d == 0) { /* both zeros */
        strcpy(buf, "0");
        return 0;
    }
    char sci[40];
    int prec = 1;
    for (; prec <= 17; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec - 1, d);
        if (strtod(sci, NULL) == d || s_other_side(sci, sizeof sci, d))
            break;
    }
    /* sci is "[-]D[.DDD]e[+-]XX": gather the digits and the exponent. */
    const char *p = sci;
    bool neg = *p == '-';
    p += neg;
    char digits[20];
    size_t k = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.')
            digits[k++] = *p;
    while (k > 1 && digits[k - 1] == '0')
        k--;
    digits[k] = '\0';
    int n = atoi(p + 1) + 1; /* value = 0.digits x 10^n */
    char *o = buf;
    if (neg)
        *o++ = '-';
    if ((int)k <= n && n <= 21) {
        memcpy(o, digits, k);
        o += k;
        for (int i = 0; i < n - (int)k; i++)
            *o++ = '0';
    } else if (0 < n && n <= 21) {
        memcpy(o, digits, (size_t)n);
        o += n;
        *o++ = '.';
        memcpy(o, digits + n, k - (size_t)n);
        o += k - (size_t)n;
    } else if (-6 < n && n <= 0) {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -n; i++)
            *o++ = '0';
        memcpy(o, digits, k);
        o += k;
    } else {
        *o++ = digits[0];
        if (k > 1) {
            *o++ = '.';
            memcpy(o, digits + 1, k - 1);
            o += k - 1;
        }
        o += snprintf(o, 8, "e%c%d", n - 1 < 0 ? '-' : '+', abs(n - 1));
    }
    *o = '\0';
    return 0;
}

/* Compares two member names as UTF-16 code unit sequences (both valid UTF-8). */
static int s_cmp_utf16(const char *a, size_t an, const char *b, size_t bn)
{
    size_t i = 0, j = 0;
    uint16_t ua[2], ub[2];
    size_t na = 0, nb = 0, ia = 0, ib = 0;
    for (;;) {
        if (ia == na && i < an) {
            uint32_t cp = 0;
            size_t l = s_utf8((const unsigned char *)a + i, an - i, &cp);
            i += l ? l : 1;
            na = cp >= 0x10000 ? 2 : 1;
            ua[0] = cp >= 0x10000 ? (uint16_t)(0xd800 + ((cp - 0x10000) >> 10)) : (uint16_t)cp;
            ua[1] = (uint16_t)(0xdc00 + ((cp - 0x10000) & 0x3ff));
            ia = 0;
        }
        if (ib == nb && j < bn) {
            uint32_t cp = 0;
            size_t l = s_utf8((const unsigned char *)b + j, bn - j, &cp);
            j += l ? l : 1;
            nb = cp >= 0x10000 ? 2 : 1;
            ub[0] = cp >= 0x10000 ? (uint16_t)(0xd800 + ((cp - 0x10000) >> 10)) : (uint16_t)cp;
            ub[1] = (uint16_t)(0xdc00 + ((cp - 0x10000) & 0x3ff));
            ib = 0;
        }
        bool ea = ia == na, eb = ib == nb;
        if (ea || eb)
            return ea && eb ? 0 : ea ? -1 : 1;
        if (ua[ia] != ub[ib])
            return ua[ia] < ub[ib] ? -1 : 1;
        ia++;
        ib++;
    }
}

typedef struct {
    const char *key;
    size_t len;
    json_t *value;
} s_member_t;

static int s_member_cmp(const void *x, const void *y)
{
    const s_member_t *a = x, *b = y;
    return s_cmp_utf16(a->key, a->len, b->key, b->len);
}

static void s_value(s_buf_t *b, const json_t *v, int depth)
{
    if (b->rc)
        return;
    if (depth > CL_JCS_DEPTH_MAX) {
        b->rc = EC_EINVAL;
        return;
    }
    char num[CL_JCS_NUMBER_MAX];
    switch (json_typeof(v)) {
        case JSON_NULL:
            s_put(b, "null", 4);
            break;
        case JSON_TRUE:
            s_put(b, "true", 4);
            break;
        case JSON_FALSE:
            s_put(b, "false", 5);
            break;
        case JSON_INTEGER: {
            json_int_t i = json_integer_value(v);
            if (i <= (INT64_C(1) << 53) && i >= -(INT64_C(1) << 53))
                snprintf(num, sizeof num, "%lld", (long long)i);
            else if (cl_jcs_number(num, (double)i))
                b->rc = EC_EINVAL;
            s_put(b, num, strlen(num));
            break;
        }
        case JSON_REAL:
            if (cl_jcs_number(num, json_real_value(v)))
                b->rc = EC_EINVAL;
            else
                s_put(b, num, strlen(num));
            break;
        case JSON_STRING:
            s_string(b, json_string_value(v), json_string_length(v));
            break;
        case JSON_ARRAY:
            s_put(b, "[", 1);
            for (size_t i = 0; i < json_array_size(v); i++) {
                if (i)
                    s_put(b, ",", 1);
                s_value(b, json_array_get(v, i), depth + 1);
            }
            s_put(b, "]", 1);
            break;
        case JSON_OBJECT: {
            size_t n = json_object_size(v);
            s_member_t *m = n ? calloc(n, sizeof *m) : NULL;
            if (n && !m) {
                b->rc = EC_ENOMEM;
                return;
            }
            size_t k = 0;
            for (void *it = json_object_iter((json_t *)v); it && k < n;
                 it = json_object_iter_next((json_t *)v, it), k++) {
                m[k].key = json_object_iter_key(it);
                m[k].len = json_object_iter_key_len(it);
                m[k].value = json_object_iter_value(it);
            }
            qsort(m, k, sizeof *m, s_member_cmp);
            s_put(b, "{", 1);
            for (size_t i = 0; i < k; i++) {
                if (i)
                    s_put(b, ",", 1);
                s_string(b, m[i].key, m[i].len);
                s_put(b, ":", 1);
                s_value(b, m[i].value, depth + 1);
            }
            s_put(b, "}", 1);
            free(m);
            break;
        }
    }
}

int cl_jcs_dump(const json_t *v, char **out, size_t *len)
{
    s_buf_t b = {0};
    s_value(&b, v, 0);
    if (b.rc == 0 && !b.data)
        b.rc = EC_ENOMEM; /* every value writes something */
    if (b.rc) {
        if (b.data)
            sodium_memzero(b.data, b.cap);
        free(b.data);
        *out = NULL;
        return b.rc;
    }
    *out = b.data;
    *len = b.len;
    return 0;
}

char *cl_b64url_encode(const uint8_t *data, size_t size)
{
    size_t cap = sodium_base64_encoded_len(size, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = malloc(cap);
    if (out)
        sodium_bin2base64(out, cap, data, size, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

int cl_b64url_decode(const char *text, size_t len, size_t max, uint8_t **out, size_t *size)
{
    *out = NULL;
    *size = 0;
    if (len / 4 > max / 3 + 1) /* bounded before allocating */
        return EC_ETOOBIG;
    size_t cap = len / 4 * 3 + 3;
    uint8_t *buf = malloc(cap + 1);
    if (!buf)
        return EC_ENOMEM;
    size_t n = 0;
    const char *end = NULL;
    if (sodium_base642bin(buf, cap, text, len, NULL, &n, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        end != text + len) {
        free(buf);
        return EC_EINVAL;
    }
    /* Canonical only: re-encoding must give the same text (no stray low bits). */
    char *again = cl_b64url_encode(buf, n);
    bool same = again && strlen(again) == len && memcmp(again, text, len) == 0;
    free(again);
    if (!same || n > max) {
        free(buf);
        return n > max ? EC_ETOOBIG : EC_EINVAL;
    }
    buf[n] = 0;
    *out = buf;
    *size = n;
    return 0;
}

char *cl_json_compact(const json_t *v)
{
    /* json_dumpb into our own buffer: the client replaces jansson's allocator
     * (cl_json_wipe_on_free), so what json_dumps returns cannot go to free(). */
    size_t n = json_dumpb(v, NULL, 0, JSON_COMPACT);
    char *out = n ? malloc(n + 1) : NULL;
    if (out) {
        json_dumpb(v, out, n, JSON_COMPACT);
        out[n] = '\0';
    }
    return out;
}

void cl_str_wipe_free(char *s)
{
    if (s) {
        sodium_memzero(s, strlen(s));
        free(s);
    }
}
