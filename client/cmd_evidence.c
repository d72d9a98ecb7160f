/*
 * cmd_evidence.c - evidence deposits (ec_evidence.h): `ecert evidence put` hashes files and
 * deposits the Merkle root of each batch with one EVIDENCE transaction, `ecert evidence
 * proof` builds the evidence bundle of one file, and `ecert evidence verify` checks a file
 * against its bundle offline. The files never leave the machine: only their batch's root
 * goes to the chain, and a bundle carries one file's SHA-256 and its path to that root.
 *
 * Receipts: `put` keeps, per batch, what a proof needs and the chain does not hold: the
 * file hashes in order. A receipt is DIR/<root hex>.receipt (DIR is --receipts, default
 * $HOME/.ecert/evidence, made 0700), canonical msgpack:
 *
 *   [version=2, type: str, chain_id: str, root: bin32, count: uint, note: str,
 *    file_hashes: bin(32 * count), tx_id: bin32 | nil, height: uint, signer: bin32]
 *
 * (the signer, since deposits are kept per key and root: version 1 had none)
 *
 * It is written before the EVIDENCE is sent (tx_id nil, height 0) and again once it
 * committed, so a batch whose commit was not seen (a timeout) still has its receipt: `proof`
 * asks the chain for the deposit of the root (side query `evidence`), never trusting the
 * receipt's tx_id. A receipt holds no secret, but file hashes say which files someone has.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cl_commands.h"
#include "ec_evidence.h"

#define S_WAIT_MS_DEFAULT 10000
#define S_RECEIPT_VERSION 2 /* 1 had no signer: its deposits were keyed by root alone */
#define S_RECEIPT_FIELDS 10
#define S_RECEIPT_SUFFIX ".receipt"
#define S_RECEIPTS_HOME ".ecert/evidence" /* under $HOME                                   */
#define S_RECEIPT_BYTES_MAX ((size_t)EC_EVIDENCE_BATCH_MAX * EC_HASH_BYTES + 4096)

/* ---- arguments ------------------------------------------------------------------------- */

/*
 * Parses argv like cl_parse_opts (opts hold CL_ARG_STR options only) but keeps every
 * positional argument: *args points at them (getopt moved them to the end of argv) and
 * *nargs is their number. Returns -1 to go on, else the exit status (0 after --help).
 */
static int s_parse_args(cl_ctx_t *ctx, int argc, char **argv, const cl_opt_t *opts,
                        const char *help, char ***args, size_t *nargs)
{
    static const struct option common[] = {CL_COMMON_OPTIONS};
    struct option lo[CL_OPTS_MAX + sizeof common / sizeof common[0]];
    size_t n = 0;
    for (; opts[n].name; n++) {
        assert(n < CL_OPTS_MAX && opts[n].kind == CL_ARG_STR);
        lo[n] = (struct option){opts[n].name, required_argument, NULL, CL_OPT_FIRST_LOCAL + (int)n};
    }
    memcpy(&lo[n], common, sizeof common);
    cl_getopt_begin();
    int opt;
    while ((opt = cl_getopt(argc, argv, lo)) != -1) {
        if (opt >= CL_OPT_FIRST_LOCAL && opt < CL_OPT_FIRST_LOCAL + (int)n) {
            *(const char **)opts[opt - CL_OPT_FIRST_LOCAL].out = optarg;
            continue;
        }
        int rc = cl_option(ctx, opt, argc, argv, help);
        if (rc >= 0)
            return rc;
    }
    *args = argv + optind;
    *nargs = (size_t)(argc - optind);
    return -1;
}

/* Threads for hashing: the online cores, within EC_EVIDENCE_THREADS_MAX. */
static unsigned s_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > EC_EVIDENCE_THREADS_MAX ? EC_EVIDENCE_THREADS_MAX : (unsigned)n;
}

/* ---- receipts ------------------------------------------------------------------------- */

/* A receipt, decoded (file_hashes borrowed from the buffer it was read from). */
typedef struct {
    char type[EC_CERT_TYPE_MAX];
    char chain_id[EC_CHAIN_ID_MAX];
    uint8_t root[EC_HASH_BYTES];
    uint64_t count;
    char note[EC_EVIDENCE_NOTE_MAX];
    const ec_hash32_t *file_hashes;
    bool has_tx;
    uint8_t tx_id[EC_HASH_BYTES];
    uint64_t height;
    uint8_t signer[EC_PK_BYTES]; /* the key that deposits it                            */
} s_receipt_t;

/* The receipts folder into buf: --receipts DIR, else $HOME/.ecert/evidence; with `make`,
 * created (and $HOME/.ecert) with mode 0700. 0, or 1 with the error recorded. */
static int s_receipts_dir(cl_ctx_t *ctx, const char *opt, bool make, char buf[EC_PATH_MAX])
{
    const char *home = getenv("HOME");
    if (!opt && (!home || !*home))
        return cl_fail(ctx, EC_ECONFIG, "$HOME is not set: give --receipts DIR");
    int n = opt ? snprintf(buf, EC_PATH_MAX, "%s", opt)
                : snprintf(buf, EC_PATH_MAX, "%s/%s", home, S_RECEIPTS_HOME);
    if (n < 0 || n >= EC_PATH_MAX)
        return cl_fail(ctx, EC_EINVAL, "receipts folder path too long");
    if (!make)
        return 0;
    /* Each missing level is made private: the hashes say which files someone holds. */
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char was = *p;
        *p = '\0';
        int rc = mkdir(buf, 0700);
        int e = errno;
        *p = was;
        if (rc != 0 && e != EEXIST)
            return cl_fail(ctx, EC_EIO, "cannot make the receipts folder %s: %s", buf, strerror(e));
        if (was == '\0')
            break;
    }
    struct stat sb;
    if (stat(buf, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return cl_fail(ctx, EC_EIO, "%s is not a folder", buf);
    return 0;
}

/* DIR/<root hex>.receipt into path. 0, or 1 (recorded). */
static int s_receipt_path(cl_ctx_t *ctx, const char *dir, const uint8_t root[EC_HASH_BYTES],
                          char path[EC_PATH_MAX])
{
    char hex[2 * EC_HASH_BYTES + 1];
    ec_hex(hex, root, EC_HASH_BYTES);
    int n = snprintf(path, EC_PATH_MAX, "%s/%s%s", dir, hex, S_RECEIPT_SUFFIX);
    return n < 0 || n >= EC_PATH_MAX ? cl_fail(ctx, EC_EINVAL, "receipt path too long") : 0;
}

/* Writes a receipt (tx_id NULL while the deposit is not committed). 0, or 1 (recorded). */
static int s_receipt_write(cl_ctx_t *ctx, const char *path, const s_receipt_t *r,
                           const uint8_t *tx_id)
{
    ec_writer_t w;
    ec_writer_init(&w);
    ec_write_array(&w, S_RECEIPT_FIELDS);
    ec_write_uint(&w, S_RECEIPT_VERSION);
    ec_write_cstr(&w, r->type);
    ec_write_cstr(&w, r->chain_id);
    ec_write_bin(&w, r->root, EC_HASH_BYTES);
    ec_write_uint(&w, r->count);
    ec_write_cstr(&w, r->note);
    ec_write_bin(&w, r->file_hashes, (size_t)r->count * EC_HASH_BYTES);
    if (tx_id)
        ec_write_bin(&w, tx_id, EC_HASH_BYTES);
    else
        ec_write_nil(&w);
    ec_write_uint(&w, r->height);
    ec_write_bin(&w, r->signer, EC_PK_BYTES);
    int rc = cl_write_file(ctx, path, ec_writer_data(&w), ec_writer_size(&w));
    ec_writer_fini(&w);
    return rc;
}

/* Reads a receipt strictly from a parsed root (r borrows from the parsed buffer). 0 or
 * EC_EINVAL / EC_ETOOBIG / EC_EVERSION. */
static int s_receipt_read(s_receipt_t *r, const msgpack_object *root)
{
    ec_cur_t c;
    uint64_t version = 0;
    const uint8_t *hashes = NULL;
    size_t hashes_size = 0;
    memset(r, 0, sizeof *r);
    ec_cur_open(&c, root, S_RECEIPT_FIELDS);
    ec_cur_uint(&c, &version);
    ec_cur_str_copy(&c, r->type, sizeof r->type);
    ec_cur_str_copy(&c, r->chain_id, sizeof r->chain_id);
    ec_cur_bin_fixed(&c, r->root, EC_HASH_BYTES);
    ec_cur_uint_max(&c, &r->count, EC_EVIDENCE_BATCH_MAX);
    ec_cur_str_copy(&c, r->note, sizeof r->note);
    ec_cur_bin(&c, &hashes, &hashes_size, (size_t)EC_EVIDENCE_BATCH_MAX * EC_HASH_BYTES);
    r->has_tx = !ec_cur_peek_nil(&c);
    if (r->has_tx)
        ec_cur_bin_fixed(&c, r->tx_id, EC_HASH_BYTES);
    else
        ec_cur_nil(&c);
    ec_cur_uint(&c, &r->height);
    ec_cur_bin_fixed(&c, r->signer, EC_PK_BYTES);
    int rc = ec_cur_finish(&c);
    if (rc == 0 && version != S_RECEIPT_VERSION)
        rc = EC_EVERSION;
    if (rc == 0 && (r->count == 0 || hashes_size != r->count * EC_HASH_BYTES))
        rc = EC_EINVAL;
    r->file_hashes = (const ec_hash32_t *)hashes;
    return rc;
}

/* ---- put ------------------------------------------------------------------------------- */

static const char s_help_put[] =
    "usage: ecert --key KEY evidence put --type TYPE [--note TEXT] [--receipts DIR] FILE...\n\n"
    "Deposits evidence that these files existed, as they are now: each file's SHA-256 is\n"
    "computed here (the files never leave this machine), the hashes of a batch of up to\n"
    "1048576 files are put in a Merkle tree in the order given, and its root is recorded\n"
    "with the depositor (KEY: its account's address until a rotation) and the time by one\n"
    "EVIDENCE transaction on the TYPE\n"
    "side chain, which the main chain anchors. Anyone may deposit (no role). Waits for each\n"
    "batch to commit and prints its root, transaction and height.\n"
    "A receipt per batch (the file hashes in order, which a proof needs) is written to the\n"
    "receipts folder; keep it: 'ecert evidence proof' builds a file's bundle from it.\n\n"
    "Options:\n"
    "  --type TYPE       the side chain to deposit on\n"
    "  --note TEXT       a public note for every file of the deposit (at most 255 bytes,\n"
    "                    no control characters), e.g. a contract number\n"
    "  --receipts DIR    where to keep the receipts (default: $HOME/.ecert/evidence)\n"
    "\nExample:\n  ecert --key me.key evidence put --type invoice --note \"Q3 invoices\" "
    "inv-*.pdf\n" CL_GLOBAL_NOTE;

/* --note as the chain's reader takes it (into b): 0, or the usage error 2. */
static int s_note(cl_ctx_t *ctx, const char *note, ec_evidence_body_t *b)
{
    size_t len = note ? strlen(note) : 0;
    if (len >= EC_EVIDENCE_NOTE_MAX)
        return cl_usage(ctx, "--note is %zu bytes, above %d", len, EC_EVIDENCE_NOTE_MAX - 1);
    memcpy(b->note, note ? note : "", len + 1);
    b->note_len = len;
    /* The chain's own rules, so a refusal comes before any file is hashed. */
    b->count = 1;
    ec_writer_t w;
    ec_writer_init(&w);
    ec_evidence_body_encode(&w, b);
    ec_decoder_t d;
    ec_decoder_init(&d);
    const msgpack_object *o = NULL;
    ec_evidence_body_t check;
    ec_status_t st = {0};
    int rc = ec_decode(&d, ec_writer_data(&w), ec_writer_size(&w), &o);
    if (rc == 0)
        rc = ec_evidence_body_read(&check, o, &st);
    ec_decoder_fini(&d);
    ec_writer_fini(&w);
    return rc ? cl_usage(ctx, "--note must be UTF-8 without control characters") : 0;
}

/* Hashes, records and deposits one batch of files. Prints and adds its facts to `batches`.
 * 0, or 1 with the error recorded. */
static int s_put_batch(cl_ctx_t *ctx, cl_chain_t *side, const ec_key_t *key, const char *dir,
                       char *const *files, size_t n, ec_evidence_body_t *body, json_t *batches)
{
    ec_hash32_t *hashes = malloc(n * sizeof *hashes), *leaves = malloc(n * sizeof *leaves);
    if (!hashes || !leaves) {
        free(hashes);
        free(leaves);
        return cl_fail(ctx, EC_ENOMEM, "out of memory for %zu file hashes", n);
    }
    size_t failed = 0;
    ec_status_t st = {0};
    int rc =
        ec_evidence_hash_files(hashes, (const char *const *)files, n, s_threads(), &failed, &st);
    if (rc) {
        free(hashes);
        free(leaves);
        return cl_fail(ctx, rc, "%s (nothing of this batch was deposited)", st.msg);
    }
    ec_evidence_root(body->root, leaves, (const ec_hash32_t *)hashes, n);
    free(leaves);
    body->count = n;
    s_receipt_t r = {.count = n, .file_hashes = (const ec_hash32_t *)hashes};
    snprintf(r.type, sizeof r.type, "%s", side->type);
    snprintf(r.chain_id, sizeof r.chain_id, "%s", side->chain_id);
    memcpy(r.root, body->root, EC_HASH_BYTES);
    memcpy(r.note, body->note, body->note_len + 1);
    memcpy(r.signer, ec_key_pk(key), EC_PK_BYTES);
    char path[EC_PATH_MAX], root_hex[2 * EC_HASH_BYTES + 1];
    ec_hex(root_hex, body->root, EC_HASH_BYTES);
    cl_out(ctx, "batch of %zu file(s), root %s\n", n, root_hex);
    /* The receipt goes first: a batch whose commit we do not see still gets its proof.
     * One from an earlier put of the same batch is kept as it is. */
    rc = s_receipt_path(ctx, dir, body->root, path);
    if (rc == 0 && access(path, F_OK) != 0)
        rc = s_receipt_write(ctx, path, &r, NULL);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_evidence_body_encode(&w, body);
    cl_txres_t res;
    if (rc == 0)
        rc = cl_submit(ctx, side, EC_STX_EVIDENCE, key, &w, NULL, 0, &res);
    ec_writer_fini(&w);
    if (rc == 0) {
        r.height = res.height;
        rc = s_receipt_write(ctx, path, &r, res.id);
    }
    free(hashes);
    if (rc)
        return rc;
    cl_out(ctx, "receipt %s\n", path);
    json_t *o =
        json_pack("{s:s,s:I,s:s}", "root", root_hex, "count", (json_int_t)n, "receipt", path);
    cl_json_txres(o, &res);
    json_array_append_new(batches, o);
    return 0;
}

int cmd_evidence_put(cl_ctx_t *ctx, int argc, char **argv)
{
    const char *type = NULL, *note = NULL, *receipts = NULL;
    const cl_opt_t opts[] = {{"type", CL_ARG_STR, &type},
                             {"note", CL_ARG_STR, &note},
                             {"receipts", CL_ARG_STR, &receipts},
                             {NULL}};
    char **files = NULL;
    size_t nfiles = 0;
    int rc = s_parse_args(ctx, argc, argv, opts, s_help_put, &files, &nfiles);
    if (rc >= 0)
        return rc;
    if (!type)
        return cl_missing(ctx, "--type");
    if (nfiles == 0)
        return cl_missing(ctx, "FILE");
    if (!ctx->key_path)
        return cl_missing(ctx, "--key");
    ec_evidence_body_t body;
    memset(&body, 0, sizeof body);
    if (s_note(ctx, note, &body))
        return 2;
    char dir[EC_PATH_MAX];
    cl_chain_t *side = cl_side(ctx, type);
    if (!side || s_receipts_dir(ctx, receipts, true, dir))
        return 1;
    ec_key_t *key = cl_key_load(ctx, NULL);
    if (!key)
        return 1;
    char depositor[EC_ADDR_MAX];
    ec_address_from_pk(depositor, ec_key_pk(key));
    size_t nbatches = (nfiles + EC_EVIDENCE_BATCH_MAX - 1) / EC_EVIDENCE_BATCH_MAX;
    cl_out(ctx, "depositing %zu file(s) in %zu batch(es) on %s as %s\n", nfiles, nbatches,
           side->chain_id, depositor);
    json_t *batches = json_array();
    rc = 0;
    for (size_t off = 0; rc == 0 && off < nfiles; off += EC_EVIDENCE_BATCH_MAX) {
        size_t n = nfiles - off < EC_EVIDENCE_BATCH_MAX ? nfiles - off : EC_EVIDENCE_BATCH_MAX;
        rc = s_put_batch(ctx, side, key, dir, files + off, n, &body, batches);
    }
    ec_key_destroy(&key);
    if (rc) {
        json_decref(batches);
        return rc;
    }
    return cl_emit(ctx, json_pack("{s:s,s:s,s:s,s:I,s:o}", "type", side->type, "chain_id",
                                  side->chain_id, "depositor", depositor, "files",
                                  (json_int_t)nfiles, "batches", batches));
}

/* ---- proof ----------------------------------------------------------------------------- */

/* The batch a file was found in: its receipt's bytes (r borrows from them), and its
 * deposit as the chain answered for its root. */
typedef struct {
    uint8_t *data;
    s_receipt_t r;
    char path[EC_PATH_MAX];
    uint64_t index;  /* the file's place in the batch                                  */
    uint64_t height; /* the deposit's side block                                       */
    uint8_t tx_id[EC_HASH_BYTES];
    bool found;     /* a receipt holds the file                                       */
    bool deposited; /* and the chain holds that receipt's root                       */
} s_found_t;

/* The configured side chain of a receipt, when it is the chain the receipt was made on
 * (a devnet made again has another chain id): NULL otherwise, nothing recorded. */
static cl_chain_t *s_receipt_chain(cl_ctx_t *ctx, const s_receipt_t *r)
{
    cl_config_t *cfg = cl_config(ctx);
    for (size_t i = 0; cfg && i < cfg->side_count; i++)
        if (strcmp(cfg->sides[i].type, r->type) == 0 &&
            strcmp(cfg->sides[i].chain_id, r->chain_id) == 0)
            return &cfg->sides[i];
    return NULL;
}

/*
 * Side query `evidence [root, signer]`: 0 with the deposit's height and tx, EC_ENOTFOUND (never
 * deposited there; nothing recorded), or 1 with the error recorded.
 */
static int s_deposit_get(cl_ctx_t *ctx, cl_chain_t *side, const uint8_t root[EC_HASH_BYTES],
                         const uint8_t signer[EC_PK_BYTES], uint64_t *height,
                         uint8_t tx_id[EC_HASH_BYTES], uint64_t *count)
{
    if (cl_connect(ctx, side))
        return 1;
    ec_writer_t args;
    ec_writer_init(&args);
    ec_write_array(&args, 2);
    ec_write_bin(&args, root, EC_HASH_BYTES);
    ec_write_bin(&args, signer, EC_PK_BYTES);
    ec_rpc_reply_t reply;
    int rc = cl_query(ctx, side, "evidence", &args, &reply, EC_ENOTFOUND);
    ec_writer_fini(&args);
    if (rc)
        return rc;
    ec_cur_t c;
    ec_cur_open(&c, reply.result, 3);
    ec_cur_uint(&c, height);
    ec_cur_bin_fixed(&c, tx_id, EC_HASH_BYTES);
    ec_cur_uint(&c, count);
    rc = ec_cur_finish(&c);
    ec_rpc_reply_fini(&reply);
    return rc ? cl_garbled(ctx, side, "query evidence") : 0;
}

/*
 * Looks for file_hash in one receipt file; when it is there and its batch is deposited
 * earlier than the best so far, it becomes best. A receipt that does not read, or of
 * another type or chain, is passed over (said on stderr when it does not read). 0, or 1
 * with the error recorded (a chain that does not answer).
 */
static int s_search_receipt(cl_ctx_t *ctx, const char *path, const char *type,
                            const uint8_t file_hash[EC_HASH_BYTES], s_found_t *best)
{
    uint8_t *data = NULL;
    size_t size = 0;
    if (cl_read_file(ctx, path, S_RECEIPT_BYTES_MAX, &data, &size)) {
        if (!ctx->json)
            fprintf(stderr, "ecert: passing over %s\n", ctx->err_msg);
        cl_clear_error(ctx);
        return 0;
    }
    ec_decoder_t d;
    ec_decoder_init(&d);
    const msgpack_object *root = NULL;
    s_receipt_t r;
    int rc = ec_decode(&d, data, size, &root);
    if (rc == 0)
        rc = s_receipt_read(&r, root);
    ec_decoder_fini(&d);
    if (rc) {
        if (!ctx->json)
            fprintf(stderr, "ecert: passing over %s: not a receipt (%s)\n", path, ec_errname(rc));
        free(data);
        return 0;
    }
    cl_chain_t *side = NULL;
    uint64_t index = 0;
    while (index < r.count && memcmp(r.file_hashes[index], file_hash, EC_HASH_BYTES) != 0)
        index++;
    if (index == r.count || (type && strcmp(type, r.type) != 0) ||
        !(side = s_receipt_chain(ctx, &r))) {
        free(data);
        return 0;
    }
    uint64_t height = 0, count = 0;
    uint8_t tx_id[EC_HASH_BYTES];
    rc = s_deposit_get(ctx, side, r.root, r.signer, &height, tx_id, &count);
    if (rc != 0 && rc != EC_ENOTFOUND) {
        free(data);
        return rc;
    }
    /* A deposit of this root with another count is not this batch's (anyone may deposit
     * any root): its proofs would not verify. */
    bool deposited = rc == 0 && count == r.count;
    bool better = deposited ? !best->deposited || height < best->height : !best->found;
    if (!better) {
        free(data);
        return 0;
    }
    free(best->data);
    *best = (s_found_t){.data = data,
                        .r = r,
                        .index = index,
                        .height = height,
                        .found = true,
                        .deposited = deposited};
    memcpy(best->tx_id, tx_id, EC_HASH_BYTES);
    snprintf(best->path, sizeof best->path, "%s", path);
    return 0;
}

/* Every receipt in dir, for file_hash: O(files deposited from here), each receipt read
 * whole (32 bytes a file). 0, or 1 with the error recorded. */
static int s_search(cl_ctx_t *ctx, const char *dir, const char *type,
                    const uint8_t file_hash[EC_HASH_BYTES], s_found_t *best)
{
    DIR *d = opendir(dir);
    if (!d)
        return cl_fail(ctx, errno == ENOENT ? EC_ENOTFOUND : EC_EIO,
                       "cannot read the receipts folder %s: %s", dir, strerror(errno));
    int rc = 0;
    struct dirent *e;
    size_t suffix = strlen(S_RECEIPT_SUFFIX);
    while (rc == 0 && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len <= suffix || strcmp(e->d_name + len - suffix, S_RECEIPT_SUFFIX) != 0)
            continue;
        char path[EC_PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
            continue;
        rc = s_search_receipt(ctx, path, type, file_hash, best);
    }
    closedir(d);
    return rc;
}

/* The evidence bundle of the file found in best, into w, checked against the trusted main
 * genesis as a verifier will check it (nothing unverified is handed out). 0 or 1. */
static int s_proof_build(cl_ctx_t *ctx, const s_found_t *best,
                         const uint8_t file_hash[EC_HASH_BYTES], uint64_t wait_ms, ec_writer_t *w,
                         ec_evidence_info_t *info)
{
    cl_chain_t *side = s_receipt_chain(ctx, &best->r);
    ec_writer_t tx;
    ec_writer_init(&tx);
    int rc = cl_proof_build(ctx, side, best->tx_id, wait_ms, true, &tx);
    ec_hash32_t *leaves = rc == 0 ? malloc(best->r.count * sizeof *leaves) : NULL;
    if (rc == 0 && !leaves)
        rc = cl_fail(ctx, EC_ENOMEM, "out of memory");
    ec_evidence_bundle_t b = {.index = best->index, .count = best->r.count};
    uint8_t root[EC_HASH_BYTES];
    if (rc == 0) {
        ec_evidence_root(root, leaves, best->r.file_hashes, best->r.count);
        if (memcmp(root, best->r.root, EC_HASH_BYTES) != 0)
            rc = cl_fail(ctx, EC_EINVAL, "receipt %s is damaged: its hashes do not give its root",
                         best->path);
    }
    if (rc == 0 && ec_evidence_path(b.path, &b.path_len, leaves, b.count, b.index) != 0)
        rc = cl_fail(ctx, EC_EINTERNAL, "no path for file %llu of %llu (a bug)",
                     (unsigned long long)b.index, (unsigned long long)b.count);
    free(leaves);
    ec_genesis_t g;
    if (rc == 0 && cl_main_genesis(ctx, NULL, &g))
        rc = 1;
    if (rc == 0) {
        memcpy(b.file_hash, file_hash, EC_HASH_BYTES);
        b.tx_bundle = ec_writer_data(&tx);
        b.tx_bundle_size = ec_writer_size(&tx);
        ec_evidence_bundle_encode(w, &b);
        ec_status_t st = {0};
        int vrc = ec_evidence_verify(ec_writer_data(w), ec_writer_size(w), file_hash, g.chain_id,
                                     &g.validators, info, &st);
        if (vrc)
            rc = cl_fail(ctx, vrc, "the evidence bundle does not verify (not written): %s", st.msg);
    }
    ec_writer_fini(&tx);
    return rc;
}

static const char s_help_proof[] =
    "usage: ecert evidence proof FILE --out BUNDLE [--type TYPE] [--receipts DIR]\n"
    "                            [--wait-ms N]\n\n"
    "Builds the evidence bundle of a deposited file: hashes FILE, finds the batch that\n"
    "holds its hash in the receipts 'ecert evidence put' wrote (the earliest deposit when\n"
    "several do), asks the side chain for that batch's deposit, fetches its proof up to the\n"
    "main chain (waiting up to --wait-ms for the anchor), adds the file's path in the batch\n"
    "tree, checks the whole against the main genesis (main.genesis in the config) and writes\n"
    "it. The bundle holds the file's hash, not the file: give both to whoever checks it with\n"
    "'ecert evidence verify'.\n\n"
    "Options:\n"
    "  --out BUNDLE      where to write the bundle\n"
    "  --type TYPE       look only at deposits on this side chain\n"
    "  --receipts DIR    the receipts folder (default: $HOME/.ecert/evidence)\n"
    "  --wait-ms N       how long to wait for the anchor (default 10000)\n"
    "\nExample:\n  ecert evidence proof inv-0042.pdf --out inv-0042.evidence\n" CL_GLOBAL_NOTE;

int cmd_evidence_proof(cl_ctx_t *ctx, int argc, char **argv)
{
    const char *file = NULL, *out = NULL, *type = NULL, *receipts = NULL;
    uint64_t wait_ms = S_WAIT_MS_DEFAULT;
    const cl_opt_t opts[] = {{"out", CL_ARG_STR, &out},
                             {"type", CL_ARG_STR, &type},
                             {"receipts", CL_ARG_STR, &receipts},
                             {"wait-ms", CL_ARG_U64, &wait_ms},
                             {NULL}};
    int rc = cl_parse_opts(ctx, argc, argv, opts, s_help_proof, &file);
    if (rc >= 0)
        return rc;
    if (!file)
        return cl_missing(ctx, "FILE");
    if (!out)
        return cl_missing(ctx, "--out");
    char dir[EC_PATH_MAX], hex[2 * EC_HASH_BYTES + 1];
    uint8_t file_hash[EC_HASH_BYTES];
    ec_status_t st = {0};
    /* The config first: receipts are matched against its chains. */
    if (!cl_config(ctx) || s_receipts_dir(ctx, receipts, false, dir))
        return 1;
    if ((rc = ec_evidence_hash_file(file_hash, file, &st)) != 0)
        return cl_fail_st(ctx, &st, NULL);
    ec_hex(hex, file_hash, EC_HASH_BYTES);
    s_found_t best;
    memset(&best, 0, sizeof best);
    rc = s_search(ctx, dir, type, file_hash, &best);
    if (rc == 0 && !best.found)
        rc = cl_fail(ctx, EC_ENOTFOUND,
                     "%s (SHA-256 %.16s...) is in no receipt in %s%s%s: it was not deposited "
                     "from here, or it changed since",
                     file, hex, dir, type ? " for " : "", type ? type : "");
    else if (rc == 0 && !best.deposited)
        rc = cl_fail(ctx, EC_ENOTFOUND,
                     "%s is in the batch of receipt %s, but %s holds no deposit of that batch "
                     "(deposit it again with 'ecert evidence put')",
                     file, best.path, best.r.chain_id);
    ec_writer_t w;
    ec_writer_init(&w);
    ec_evidence_info_t info;
    if (rc == 0)
        rc = s_proof_build(ctx, &best, file_hash, wait_ms, &w, &info);
    if (rc == 0)
        rc = cl_write_file(ctx, out, ec_writer_data(&w), ec_writer_size(&w));
    if (rc == 0) {
        char when[40], tx_hex[2 * EC_HASH_BYTES + 1], root_hex[2 * EC_HASH_BYTES + 1];
        cl_format_time(when, sizeof when, info.time_ms);
        ec_hex(tx_hex, info.tx_id, EC_HASH_BYTES);
        ec_hex(root_hex, info.root, EC_HASH_BYTES);
        cl_out(ctx,
               "wrote %s (%zu bytes): proves %s (SHA-256 %s)\n  is file %llu of %llu of batch "
               "%.16s..., deposited by %s at %s\n  in block %llu of %s, which the main chain %s "
               "anchored in main block %llu\n",
               out, ec_writer_size(&w), file, hex, (unsigned long long)info.index + 1,
               (unsigned long long)info.count, root_hex, info.depositor, when,
               (unsigned long long)info.side_height, info.side_chain_id, info.main_chain_id,
               (unsigned long long)info.main_height);
        cl_emit(ctx, json_pack("{s:s,s:I,s:s,s:s,s:s,s:I,s:I,s:s,s:s,s:I,s:s,s:I,s:s,s:I}", "file",
                               out, "bytes", (json_int_t)ec_writer_size(&w), "sha256", hex, "root",
                               root_hex, "tx", tx_hex, "index", (json_int_t)info.index, "count",
                               (json_int_t)info.count, "depositor", info.depositor, "side_chain_id",
                               info.side_chain_id, "side_height", (json_int_t)info.side_height,
                               "main_chain_id", info.main_chain_id, "main_height",
                               (json_int_t)info.main_height, "receipt", best.path, "time_ms",
                               (json_int_t)info.time_ms));
    }
    ec_writer_fini(&w);
    free(best.data);
    return rc;
}

/* ---- verify ---------------------------------------------------------------------------- */

static const char s_help_verify[] =
    "usage: ecert evidence verify FILE BUNDLE [--main-genesis FILE]\n\n"
    "Checks offline (no network) that FILE, exactly as it is now, is the file deposited in\n"
    "BUNDLE (from 'ecert evidence proof'): its SHA-256 is the bundle's, its path leads to\n"
    "the batch root an EVIDENCE transaction deposited, and that transaction is proven up to\n"
    "a main block the main validators committed (the main genesis). Prints the depositor,\n"
    "the deposit time (its side block's time), the chains and heights, and the note. Any\n"
    "changed byte of the file or of the bundle fails: exit 1, naming the check.\n\n"
    "Options:\n"
    "  --main-genesis FILE   the trusted main genesis (default: main.genesis in the config)\n"
    "\nExample:\n  ecert evidence verify inv-0042.pdf inv-0042.evidence --main-genesis "
    "main/genesis.yaml\n" CL_GLOBAL_NOTE;

/* Prints a verified bundle's facts and adds them to obj. */
static void s_show(cl_ctx_t *ctx, const char *file, const ec_evidence_info_t *info, json_t *obj)
{
    char when[40], hash[2 * EC_HASH_BYTES + 1], root[2 * EC_HASH_BYTES + 1],
        tx[2 * EC_HASH_BYTES + 1], main_hash[2 * EC_HASH_BYTES + 1];
    cl_format_time(when, sizeof when, info->time_ms);
    ec_hex(hash, info->file_hash, EC_HASH_BYTES);
    ec_hex(root, info->root, EC_HASH_BYTES);
    ec_hex(tx, info->tx_id, EC_HASH_BYTES);
    ec_hex(main_hash, info->main_hash, EC_HASH_BYTES);
    cl_out(ctx,
           "file          %s\nsha256        %s\ndeposited     %s (time of its side block)\n"
           "depositor     %s\nnote          %.*s\nbatch         file %llu of %llu, root %s\n"
           "transaction   %s (EVIDENCE)\nside chain    %s, block %llu (anchored as block %llu)\n"
           "main chain    %s, block %llu (%.16s...), committed by its validators\n"
           "verdict       VERIFIED: this file was deposited then, unchanged since\n",
           file, hash, when, info->depositor, (int)info->note_len, info->note,
           (unsigned long long)info->index + 1, (unsigned long long)info->count, root, tx,
           info->side_chain_id, (unsigned long long)info->side_height,
           (unsigned long long)info->anchored_height, info->main_chain_id,
           (unsigned long long)info->main_height, main_hash);
    json_object_set_new(obj, "verified", json_true());
    json_object_set_new(obj, "sha256", json_string(hash));
    json_object_set_new(obj, "time_ms", json_integer((json_int_t)info->time_ms));
    json_object_set_new(obj, "time", json_string(when));
    json_object_set_new(obj, "depositor", json_string(info->depositor));
    json_object_set_new(obj, "note", json_stringn(info->note, info->note_len));
    json_object_set_new(obj, "index", json_integer((json_int_t)info->index));
    json_object_set_new(obj, "count", json_integer((json_int_t)info->count));
    json_object_set_new(obj, "root", json_string(root));
    json_object_set_new(obj, "tx", json_string(tx));
    json_object_set_new(obj, "side_chain_id", json_string(info->side_chain_id));
    json_object_set_new(obj, "side_height", json_integer((json_int_t)info->side_height));
    json_object_set_new(obj, "anchored_height", json_integer((json_int_t)info->anchored_height));
    json_object_set_new(obj, "main_chain_id", json_string(info->main_chain_id));
    json_object_set_new(obj, "main_height", json_integer((json_int_t)info->main_height));
    json_object_set_new(obj, "main_hash", json_string(main_hash));
}

int cmd_evidence_verify(cl_ctx_t *ctx, int argc, char **argv)
{
    const char *genesis_path = NULL;
    const cl_opt_t opts[] = {{"main-genesis", CL_ARG_STR, &genesis_path}, {NULL}};
    char **args = NULL;
    size_t nargs = 0;
    int rc = s_parse_args(ctx, argc, argv, opts, s_help_verify, &args, &nargs);
    if (rc >= 0)
        return rc;
    if (nargs < 2)
        return cl_missing(ctx, nargs ? "BUNDLE" : "FILE and BUNDLE");
    if (nargs > 2)
        return cl_usage(ctx, "unexpected argument '%s'", args[2]);
    const char *file = args[0], *bundle_path = args[1];
    ec_genesis_t g;
    if (cl_main_genesis(ctx, genesis_path, &g))
        return 1;
    uint8_t file_hash[EC_HASH_BYTES];
    ec_status_t st = {0};
    if (ec_evidence_hash_file(file_hash, file, &st) != 0)
        return cl_fail_st(ctx, &st, NULL);
    uint8_t *bundle = NULL;
    size_t size = 0;
    if (cl_read_file(ctx, bundle_path, EC_EVIDENCE_BYTES_MAX, &bundle, &size))
        return 1;
    ec_evidence_info_t info;
    rc = ec_evidence_verify(bundle, size, file_hash, g.chain_id, &g.validators, &info, &st);
    free(bundle);
    if (rc)
        return cl_fail(ctx, rc, "%s does NOT match the evidence in %s (against %s): %s", file,
                       bundle_path, g.chain_id, st.msg);
    json_t *obj = json_pack("{s:s,s:s}", "file", file, "bundle", bundle_path);
    s_show(ctx, file, &info, obj);
    return cl_emit(ctx, obj);
}
