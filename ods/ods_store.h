/*
 * ods_store.h - odsd's object store: encrypted files on local disk, named by the BLAKE2b-256
 * of their bytes, each with its content key sealed to odsd's key (format of the files and
 * of the wire protocol: common/ec_ods.h).
 *
 * Layout under the store folder (created with mode 0700; every folder below too):
 *
 *   | path                    | what                                                      |
 *   |-------------------------|-----------------------------------------------------------|
 *   | objects/<h2>/<h64>      | an encrypted file, exactly as uploaded; h64 = lowercase   |
 *   |                         | hex BLAKE2b-256 of its bytes, h2 = its first two hex digits   |
 *   | keys/<h64>              | its content key sealed to odsd's key: exactly             |
 *   |                         | EC_ODS_SEALED_KEY_BYTES (80) bytes, mode 0600             |
 *   | tmp/<h64>.<16 hex>      | an upload in progress, or a key file being written;       |
 *   |                         | everything here is removed when the store opens           |
 *   | damaged/<h64>           | an object whose bytes no longer hash to its name, moved   |
 *   |                         | aside when a download found it (kept for the operator)    |
 *
 * Invariants: an object is served only when objects/<h2>/<h64> and keys/<h64> both exist,
 * and each of them appears by a rename of a complete, fsync'd file, followed by an fsync
 * of the folder it was renamed into: a crash leaves a whole file or none, never half of
 * one. An upload is hashed while it is written and is renamed into place only when its
 * size and hash are the ones declared. Every stored object is at most EC_ODS_FILE_BYTES_MAX
 * bytes. Reads go through pread and are hashed as they are served, so a file damaged on
 * disk is found by the download that reads it. Memory: the store keeps no buffer of its
 * own; callers hand it one chunk at a time.
 *
 * The store is single-threaded: one caller (odsd's loop) uses it at a time.
 */
#ifndef ODS_STORE_H
#define ODS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ec_crypto.h"
#include "ec_err.h"
#include "ec_ods.h"

typedef struct ods_store ods_store_t; /* an open store folder                             */
typedef struct ods_put ods_put_t;     /* one upload in progress (a file in tmp/)          */
typedef struct ods_get ods_get_t;     /* one download in progress (an open object)        */

/*
 * Opens the store in folder `dir`: creates it (mode 0700) and its sub-folders when they
 * are missing, and empties tmp/ (uploads a crash or a stop left unfinished).
 * Returns: the store, or NULL with st (may not be NULL) set: EC_EIO naming the path and
 *          the system's reason, or EC_ENOMEM.
 * In:      dir, an existing parent folder's path (the last component is created).
 */
ods_store_t *ods_store_open(const char *dir, ec_status_t *st);
/* Closes the store (uploads still open must have been ended or aborted first); sets
 * *self_p to NULL. Idempotent. */
void ods_store_destroy(ods_store_t **self_p);

/* ---- uploads ------------------------------------------------------------------------------ */

/*
 * Starts an upload of `size` bytes that must hash to `digest`, with its content key
 * sealed to odsd's key (the caller has checked that it opens). Opens a file in tmp/.
 * Returns: 0 and *out; EC_ETOOBIG (size above EC_ODS_FILE_BYTES_MAX), EC_EIO (the file
 *          cannot be made, or the disk has less free space than size), EC_ENOMEM; st says
 *          which.
 */
EC_WUR int ods_store_put_begin(ods_store_t *s, ods_put_t **out, const uint8_t digest[EC_HASH_BYTES],
                               uint64_t size, const uint8_t sealed_key[EC_ODS_SEALED_KEY_BYTES],
                               ec_status_t *st);
/*
 * Appends `size` bytes at `offset` (which must be the count received so far: uploads are
 * sequential) and hashes them.
 * Returns: 0; EC_EINVAL (another offset: nothing written), EC_ETOOBIG (past the declared
 *          size: nothing written), EC_EIO (a write failed: the upload is spoiled, abort it);
 *          st says which.
 */
EC_WUR int ods_store_put_write(ods_put_t *p, uint64_t offset, const uint8_t *data, size_t size,
                               ec_status_t *st);
/* Bytes received so far. */
uint64_t ods_store_put_received(const ods_put_t *p);
/*
 * Ends an upload: checks the size and the hash, fsyncs the file, renames it into objects/
 * and fsyncs that folder, then writes the key file the same way. A hash already stored is
 * not replaced (uploads are idempotent: the first object and key stay, the new copy is
 * dropped); only a missing key file is added. Always consumes *p (sets it to NULL) and
 * removes its temporary file.
 * Returns: 0, with *already telling whether the object was stored before; EC_EINVAL (fewer
 *          bytes than declared), EC_ECRYPTO (the bytes do not hash to the declared
 *          BLAKE2b-256), EC_EIO; st says which.
 */
EC_WUR int ods_store_put_end(ods_put_t **p, bool *already, ec_status_t *st);
/* Drops an upload and its temporary file; sets *p to NULL. Idempotent. */
void ods_store_put_abort(ods_put_t **p);

/* ---- lookups ------------------------------------------------------------------------------ */

/*
 * Whether object `digest` is served here: the object and its key file both exist.
 * Returns: 0 with *size (may be NULL) its size in bytes; EC_ENOTFOUND; EC_EIO.
 */
EC_WUR int ods_store_has(ods_store_t *s, const uint8_t digest[EC_HASH_BYTES], uint64_t *size);
/* Whether object `digest` was moved to damaged/ (ods_store_quarantine). */
bool ods_store_is_damaged(ods_store_t *s, const uint8_t digest[EC_HASH_BYTES]);
/*
 * Reads the sealed content key of object digest.
 * Returns: 0; EC_ENOTFOUND; EC_EIO (unreadable, or not exactly EC_ODS_SEALED_KEY_BYTES).
 */
EC_WUR int ods_store_key(ods_store_t *s, const uint8_t digest[EC_HASH_BYTES],
                         uint8_t sealed_key[EC_ODS_SEALED_KEY_BYTES]);
/*
 * Moves object digest from objects/ to damaged/ (replacing an older damaged copy), so
 * nothing serves it again until it is uploaded anew. Its key file stays.
 * Returns: 0, EC_ENOTFOUND (not in objects/), EC_EIO.
 */
EC_WUR int ods_store_quarantine(ods_store_t *s, const uint8_t digest[EC_HASH_BYTES]);
/*
 * Reads the whole object and compares its hash with its name: a full check for tests and
 * maintenance (O(size); a 64 KiB buffer). Returns 0 with *intact, EC_ENOTFOUND or EC_EIO.
 */
EC_WUR int ods_store_verify(ods_store_t *s, const uint8_t digest[EC_HASH_BYTES], bool *intact);

/* ---- downloads ---------------------------------------------------------------------------- */

/*
 * Opens object digest for a download (the object and its key file must exist).
 * Returns: 0 with *out and *size; EC_ENOTFOUND; EC_EIO; EC_ENOMEM; st says which.
 */
EC_WUR int ods_store_get_open(ods_store_t *s, ods_get_t **out, uint64_t *size,
                              const uint8_t digest[EC_HASH_BYTES], ec_status_t *st);
/*
 * Reads the next min(cap, size - offset) bytes into buf and hashes them; offset must be
 * the count served so far (downloads are sequential) and below the size.
 * Returns: 0 with *n; EC_EINVAL (another offset, or offset at the end: nothing read);
 *          EC_EIO (a read failed, or the file ended early: it was changed on disk); st says
 *          which.
 */
EC_WUR int ods_store_get_read(ods_get_t *g, uint64_t offset, uint8_t *buf, size_t cap, size_t *n,
                              ec_status_t *st);
/* Bytes served so far, and the object's size. */
uint64_t ods_store_get_offset(const ods_get_t *g);
uint64_t ods_store_get_size(const ods_get_t *g);
/*
 * After the last byte: whether what was served hashes to the object's name.
 * Returns: 0 with *intact; EC_EINVAL when bytes are left to serve. Call once.
 */
EC_WUR int ods_store_get_finish(ods_get_t *g, bool *intact);
/* Closes a download; sets *g to NULL. Idempotent. */
void ods_store_get_close(ods_get_t **g);

#endif
