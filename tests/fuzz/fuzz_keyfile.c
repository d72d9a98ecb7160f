/*
 * fuzz_keyfile.c - libFuzzer target for the key file reader (ec_key_file_pk): a key file
 * may come from anywhere, so any bytes either yield a public key or a clear error. The
 * passphrase path is not fuzzed: it runs Argon2id, and its cost limits are checked before
 * (test_crypto covers hostile cost fields).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#include "ec_crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char s_path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!s_path[0]) {
        if (ec_crypto_init() != 0)
            abort();
        snprintf(s_path, sizeof s_path, "/tmp/ecert-fuzz-key-%d", (int)getpid());
    }
    /* Mode 0600, as key files are made: the reader refuses files others may read. */
    int fd = open(s_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || fchmod(fd, 0600) != 0 || write(fd, data, size) != (ssize_t)size || close(fd) != 0)
        abort();
    uint8_t pk[EC_PK_BYTES];
    int rc = ec_key_file_pk(pk, s_path, NULL);
    if (rc != 0 && rc != EC_EINVAL && rc != EC_EVERSION && rc != EC_ETOOBIG && rc != EC_EIO)
        abort(); /* only the documented errors */
    unlink(s_path);
    return 0;
}
