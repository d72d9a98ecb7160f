/*
 * gw_static.h - the portal's static files: which file a URL path names, and its
 * Content-Type. The rules (docs/GATEWAY.md "Portal"): `/` is index.html; a path is a
 * sequence of segments of printable ASCII without `\`, none empty, none starting with a
 * dot (so no `..`, no dotfiles); the file must be a regular file whose real path (after
 * every symlink) lies inside the portal folder; folders are never listed.
 */
#ifndef GW_STATIC_H
#define GW_STATIC_H

#include <stddef.h>

#include "ec_err.h"

#define GW_STATIC_PATH_MAX 1024 /* a URL path the portal serves, bytes                */

/*
 * Resolves URL path `url` (as libmicrohttpd decoded it, starting with '/') against the
 * portal folder `root` (a real path: no trailing slash, no symlink), writing the file's
 * real path into out (cap bytes). Returns 0, EC_EINVAL (a path the rules refuse),
 * EC_ENOTFOUND (no such regular file) or EC_EPERM (it resolves outside root).
 */
EC_WUR int gw_static_resolve(const char *root, const char *url, char *out, size_t cap);
/* The Content-Type for a file name, by its extension ("application/octet-stream" for
 * one not in the table). Never NULL. */
const char *gw_static_type(const char *path);

#endif
