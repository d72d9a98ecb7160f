/*
 * fuzz_credential.c - libFuzzer target for the exported credential formats that
 * `ecert import-verify` reads from a stranger (client/cl_sdjwt.h, cl_vc.h, cl_jcs.h).
 *
 * Every input is tried as an SD-JWT presentation (cl_sdjwt_verify: it must not crash, a
 * refusal comes with a code and a message, and an acceptance gives the disclosed fields)
 * and as JSON: a document jansson reads must canonicalize (RFC 8785, cl_jcs_dump) to text
 * that reads back and canonicalizes to the same bytes, and the Data Integrity check and
 * the status-list reader must answer without crashing, a refusal with its reason. The
 * seeds are real credentials (`ecert export`), so acceptance happens.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cl_jcs.h"
#include "cl_sdjwt.h"
#include "cl_vc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_JSON_MAX (1u << 20)

static void s_sdjwt(const uint8_t *data, size_t size)
{
    cl_sdjwt_t s;
    memset(&s, 0, sizeof s);
    ec_status_t st = {0};
    int rc = cl_sdjwt_verify(&s, (const char *)data, size, "nonce", "https://aud.example",
                             1700000000000ull, &st);
    if (rc != 0 && (st.code != rc || st.msg[0] == '\0'))
        abort();
    if (rc == 0 && !json_is_object(s.disclosed))
        abort();
    cl_sdjwt_fini(&s);
}

static void s_json(const uint8_t *data, size_t size)
{
    ec_status_t st = {0};
    json_t *doc = cl_json_parse((const char *)data, size, S_JSON_MAX, &st);
    if (!doc)
        return;
    char *text = NULL, *again = NULL;
    size_t len = 0, len2 = 0;
    if (cl_jcs_dump(doc, &text, &len) == 0) {
        json_t *back = cl_json_parse(text, len, S_JSON_MAX, &st);
        if (!back || cl_jcs_dump(back, &again, &len2) != 0 || len2 != len ||
            memcmp(again, text, len) != 0)
            abort(); /* canonical text is canonical */
        json_decref(back);
    }
    free(text);
    free(again);
    if (json_is_object(doc)) {
        uint8_t pk[EC_PK_BYTES];
        memset(&st, 0, sizeof st);
        int rc = cl_di_verify(doc, pk, &st);
        if (rc != 0 && (st.code != rc || st.msg[0] == '\0'))
            abort();
        bool bit = false;
        char purpose[32];
        memset(&st, 0, sizeof st);
        rc = cl_vc_status_bit(doc, size, &bit, purpose, &st);
        if (rc != 0 && (st.code != rc || st.msg[0] == '\0'))
            abort();
    }
    json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        if (ec_crypto_init() != 0)
            abort();
        ready = 1;
    }
    s_sdjwt(data, size);
    s_json(data, size);
    return 0;
}
