/*
 * gw_static.c - URL path to portal file (gw_static.h). Two checks, either of which would
 * stop a traversal alone: the path's segments are vetted as text, and the resolved real
 * path must be under the root, which also catches a symlink that points out.
 */
#include "gw_static.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int s_check_segments(const char *url)
{
    if (url[0] != '/')
        return EC_EINVAL;
    const char *p = url + 1;
    while (*p) {
        const char *seg = p;
        while (*p && *p != '/') {
            unsigned char ch = (unsigned char)*p;
            if (ch < 0x21 || ch > 0x7e || ch == '\\')
                return EC_EINVAL;
            p++;
        }
        if (p == seg || seg[0] == '.')
            return EC_EINVAL; /* empty segment ("//", trailing "/"), "..", ".x" */
        if (*p == '/')
            p++;
        if (*p == '\0' && p[-1] == '/')
            return EC_EINVAL;
    }
    return 0;
}

int gw_static_resolve(const char *root, const char *url, char *out, size_t cap)
{
    if (strlen(url) > GW_STATIC_PATH_MAX)
        return EC_EINVAL;
    if (strcmp(url, "/") == 0)
        url = "/index.html";
    int rc = s_check_segments(url);
    if (rc)
        return rc;
    char joined[PATH_MAX], real[PATH_MAX];
    if (snprintf(joined, sizeof joined, "%s%s", root, url) >= (int)sizeof joined)
        return EC_EINVAL;
    if (!realpath(joined, real))
        return EC_ENOTFOUND;
    size_t n = strlen(root);
    if (strncmp(real, root, n) != 0 || real[n] != '/')
        return EC_EPERM;
    struct stat sb;
    if (stat(real, &sb) != 0 || !S_ISREG(sb.st_mode))
        return EC_ENOTFOUND;
    if (snprintf(out, cap, "%s", real) >= (int)cap)
        return EC_EINVAL;
    return 0;
}

const char *gw_static_type(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".cjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json; charset=utf-8"},
        {".map", "application/json; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".wasm", "application/wasm"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (dot && (!slash || dot > slash)) {
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcmp(dot, types[i].ext) == 0)
                return types[i].type;
    }
    return "application/octet-stream";
}
