/*
 * cl_qr.c - proof bundles as QR code PNGs (cl_qr.h): libqrencode encodes, libpng's
 * simplified API writes and reads 8-bit grayscale, zbar decodes. Nothing here encodes a
 * QR symbol or a PNG by hand; this file only moves pixels between the libraries.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <png.h>
#include <qrencode.h>
#include <zbar.h>

#include "cl_qr.h"

/* Encodes in byte mode, lowest version: level M when it fits, else L. 0 or an EC_E* code. */
static int s_encode(const uint8_t *data, size_t size, QRcode **out, ec_status_t *st)
{
    if (size == 0)
        return ec_status_set(st, EC_EINVAL, "nothing to encode as a QR code");
    if (size > CL_QR_BYTES_MAX)
        return ec_status_set(st, EC_ETOOBIG,
                             "%zu bytes do not fit in one QR code (at most %d bytes, version 40 "
                             "at level L)",
                             size, CL_QR_BYTES_MAX);
    const QRecLevel levels[] = {QR_ECLEVEL_M, QR_ECLEVEL_L};
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        errno = 0;
        *out = QRcode_encodeData((int)size, data, 0, levels[i]);
        if (*out)
            return 0;
        if (errno != ERANGE)
            break;
    }
    if (errno == ERANGE)
        return ec_status_set(st, EC_ETOOBIG,
                             "%zu bytes do not fit in one QR code (at most %d bytes, version 40 "
                             "at level L)",
                             size, CL_QR_BYTES_MAX);
    if (errno == ENOMEM)
        return ec_status_set(st, EC_ENOMEM, "out of memory encoding a QR code");
    return ec_status_set(st, EC_EINTERNAL, "libqrencode failed: %s", strerror(errno));
}

/* Draws the symbol: dark modules black, CL_QR_MODULE_PX square, quiet zone white. A malloc
 * buffer of *side x *side bytes, or NULL when out of memory. */
static uint8_t *s_render(const QRcode *qr, uint32_t *side)
{
    uint32_t width = (uint32_t)qr->width;
    *side = (width + 2u * CL_QR_QUIET_MODULES) * CL_QR_MODULE_PX;
    uint8_t *px = malloc((size_t)*side * *side);
    if (!px)
        return NULL;
    memset(px, 0xff, (size_t)*side * *side);
    for (uint32_t y = 0; y < width; y++)
        for (uint32_t x = 0; x < width; x++) {
            if (!(qr->data[y * width + x] & 1)) /* bit 0: dark module */
                continue;
            size_t top = (size_t)(y + CL_QR_QUIET_MODULES) * CL_QR_MODULE_PX;
            size_t left = (size_t)(x + CL_QR_QUIET_MODULES) * CL_QR_MODULE_PX;
            for (size_t r = 0; r < CL_QR_MODULE_PX; r++)
                memset(px + (top + r) * *side + left, 0x00, CL_QR_MODULE_PX);
        }
    return px;
}

/* Opens path (fopen mode) for libpng's simplified API, with *img zeroed and versioned.
 * NULL with errno set when the file cannot be opened. */
static FILE *s_png_open(const char *path, const char *mode, png_image *img)
{
    memset(img, 0, sizeof *img);
    img->version = PNG_IMAGE_VERSION;
    return fopen(path, mode);
}

/* Writes a side x side grayscale image to path through a synced temporary file. */
static int s_write_png(const char *path, const uint8_t *px, uint32_t side, ec_status_t *st)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return ec_status_set(st, EC_EINVAL, "path too long: %s", path);
    png_image img;
    FILE *f = s_png_open(tmp, "wbx", &img);
    if (!f)
        return ec_status_set(st, EC_EIO, "cannot write %s: %s", path, strerror(errno));
    img.width = side;
    img.height = side;
    img.format = PNG_FORMAT_GRAY;
    bool png_ok = png_image_write_to_stdio(&img, f, 0, px, 0, NULL) != 0;
    bool ok = png_ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    int e = errno;
    ok = fclose(f) == 0 && ok;
    if (ok && rename(tmp, path) == 0)
        return 0;
    e = ok ? errno : e;
    unlink(tmp);
    if (!png_ok)
        return ec_status_set(st, EC_EIO, "cannot write %s: libpng: %s", path, img.message);
    return ec_status_set(st, EC_EIO, "cannot write %s: %s", path, strerror(e));
}

int cl_qr_write_png(const char *path, const uint8_t *data, size_t size, ec_status_t *st)
{
    QRcode *qr = NULL;
    int rc = s_encode(data, size, &qr, st);
    if (rc)
        return rc;
    uint32_t side = 0;
    uint8_t *px = s_render(qr, &side);
    QRcode_free(qr);
    if (!px)
        return ec_status_set(st, EC_ENOMEM, "out of memory drawing a QR code");
    rc = s_write_png(path, px, side, st);
    free(px);
    return rc;
}

/* Reads a PNG of any colour type as 8-bit grayscale on white. 0 with *px (malloc) of
 * *w x *h bytes, or an EC_E* code. */
static int s_read_png(const char *path, uint8_t **px, uint32_t *w, uint32_t *h, ec_status_t *st)
{
    png_image img;
    FILE *f = s_png_open(path, "rb", &img);
    if (!f)
        return ec_status_set(st, EC_EIO, "cannot read %s: %s", path, strerror(errno));
    int rc = 0;
    if (!png_image_begin_read_from_stdio(&img, f)) {
        rc = ec_status_set(st, EC_EINVAL, "%s is not a readable PNG image: %s", path, img.message);
    } else if (img.width == 0 || img.height == 0 || img.width > CL_QR_PNG_SIDE_MAX ||
               img.height > CL_QR_PNG_SIDE_MAX) {
        rc = ec_status_set(st, EC_ETOOBIG, "%s is %ux%u pixels (at most %ux%u)", path,
                           (unsigned)img.width, (unsigned)img.height, CL_QR_PNG_SIDE_MAX,
                           CL_QR_PNG_SIDE_MAX);
    } else {
        img.format = PNG_FORMAT_GRAY;
        png_color white = {255, 255, 255};
        *px = malloc(PNG_IMAGE_SIZE(img));
        if (!*px)
            rc = ec_status_set(st, EC_ENOMEM, "out of memory reading %s", path);
        else if (!png_image_finish_read(&img, &white, *px, 0, NULL))
            rc = ec_status_set(st, EC_EINVAL, "%s is not a readable PNG image: %s", path,
                               img.message);
        *w = img.width;
        *h = img.height;
    }
    png_image_free(&img);
    fclose(f);
    if (rc) {
        free(*px);
        *px = NULL;
    }
    return rc;
}

/* Scans a grayscale image for exactly one QR code, its bytes unconverted. */
static int s_scan(const char *path, const uint8_t *px, uint32_t w, uint32_t h, uint8_t **data,
                  size_t *size, ec_status_t *st)
{
    zbar_image_scanner_t *sc = zbar_image_scanner_create();
    zbar_image_t *im = zbar_image_create();
    if (!sc || !im) {
        if (im)
            zbar_image_destroy(im);
        if (sc)
            zbar_image_scanner_destroy(sc);
        return ec_status_set(st, EC_ENOMEM, "out of memory scanning %s", path);
    }
    /* Only QR codes, and their bytes as they are (no guessing of a text encoding). */
    int rc = zbar_image_scanner_set_config(sc, 0, ZBAR_CFG_ENABLE, 0) ||
             zbar_image_scanner_set_config(sc, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1) ||
             zbar_image_scanner_set_config(sc, ZBAR_QRCODE, ZBAR_CFG_BINARY, 1);
    zbar_image_set_format(im, zbar_fourcc('Y', '8', '0', '0'));
    zbar_image_set_size(im, w, h);
    zbar_image_set_data(im, px, (unsigned long)w * h, NULL);
    int found = rc ? -1 : zbar_scan_image(sc, im);
    const zbar_symbol_t *sym = found > 0 ? zbar_image_first_symbol(im) : NULL;
    if (found < 0)
        rc = ec_status_set(st, EC_EINTERNAL, "zbar could not scan %s", path);
    else if (found == 0 || !sym)
        rc = ec_status_set(st, EC_EINVAL, "no QR code found in %s", path);
    else if (found > 1 || zbar_symbol_next(sym))
        rc = ec_status_set(st, EC_EINVAL, "%s holds %d QR codes; give an image with just one", path,
                           found);
    else {
        *size = zbar_symbol_get_data_length(sym);
        *data = malloc(*size + 1);
        if (!*data)
            rc = ec_status_set(st, EC_ENOMEM, "out of memory scanning %s", path);
        else
            memcpy(*data, zbar_symbol_get_data(sym), *size);
    }
    zbar_image_destroy(im);
    zbar_image_scanner_destroy(sc);
    return rc;
}

int cl_qr_read_png(const char *path, uint8_t **data, size_t *size, ec_status_t *st)
{
    *data = NULL;
    *size = 0;
    uint8_t *px = NULL;
    uint32_t w = 0, h = 0;
    int rc = s_read_png(path, &px, &w, &h, st);
    if (rc == 0)
        rc = s_scan(path, px, w, h, data, size, st);
    free(px);
    return rc;
}
