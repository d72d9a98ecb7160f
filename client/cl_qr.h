/*
 * cl_qr.h - a proof bundle as a QR code PNG, so a verifier at a service counter can scan
 * it from the citizen's phone: `ecert cert proof --qr` writes one, `ecert verify --qr`
 * reads one (docs/CLI.md).
 *
 * The QR code carries the bundle's bytes unchanged in byte mode (libqrencode), in the
 * lowest version that fits, at error correction level M when the bundle fits, else L.
 * Version 40 holds at most 2331 bytes at M and 2953 bytes at L; a larger bundle (one with
 * a large payload) is refused. The PNG (libpng) is 8-bit grayscale, CL_QR_MODULE_PX pixels
 * per module with a CL_QR_QUIET_MODULES quiet zone. Reading decodes the PNG to grayscale
 * and scans it with zbar in binary mode, so the bytes come back exactly as written.
 */
#ifndef CL_QR_H
#define CL_QR_H

#include <stddef.h>
#include <stdint.h>

#include "ec_err.h"

#define CL_QR_BYTES_MAX 2953    /* byte-mode capacity of version 40 at level L      */
#define CL_QR_MODULE_PX 4       /* pixels per module, each way                      */
#define CL_QR_QUIET_MODULES 4   /* white border, in modules (the standard minimum)  */
#define CL_QR_PNG_SIDE_MAX 8192 /* pixels per side of a PNG we agree to read        */

/*
 * Encodes data as a QR code and writes it to path as a PNG (atomically: a temporary file,
 * then rename). Returns 0, or EC_ETOOBIG when data does not fit even version 40 at level L,
 * EC_EIO when the file cannot be written, EC_EINTERNAL/EC_ENOMEM on a library failure; the
 * reason is in st.
 * In: path, data/size (1..CL_QR_BYTES_MAX bytes to fit).  Out: st.
 */
int cl_qr_write_png(const char *path, const uint8_t *data, size_t size, ec_status_t *st) EC_WUR;

/*
 * Reads the PNG at path and decodes the one QR code in it. Returns 0 with *data a malloc
 * buffer (the caller frees it) of *size bytes, or EC_EIO (cannot read the file), EC_EINVAL
 * (not a PNG, or no QR code or more than one in it), EC_ETOOBIG (image too large),
 * EC_ENOMEM; the reason is in st.
 * In: path.  Out: data, size, st.
 */
int cl_qr_read_png(const char *path, uint8_t **data, size_t *size, ec_status_t *st) EC_WUR;

#endif
