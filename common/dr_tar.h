/* dr_tar.h - a job's files as gzip-compressed tar archives, in memory
 * (libarchive): a job's code and inputs packed by the CLI, checked by the
 * scheduler and unpacked on each node; a task's outputs packed by the
 * agent and unpacked by `drover job download`.
 *
 * An archive from elsewhere is never trusted: every entry must be a
 * regular file, a folder or (where allowed) a symbolic link, named by a
 * relative path without ".." that stays below the destination, with no
 * device, fifo or hard link; the unpacked bytes and the entry count are
 * bounded, so a small archive cannot fill a disk.  Extraction writes no
 * owner and no setuid/setgid bit, and never through a link.
 */
#ifndef DR_TAR_H
#define DR_TAR_H

#include "util.h"

#include <stddef.h>
#include <stdint.h>

/* What one archive may unpack to. */
typedef struct {
    uint64_t max_bytes;   /* file contents in all */
    uint32_t max_entries; /* files, folders and links */
    int allow_symlinks;   /* relative ones, pointing below the root */
} dr_tar_limits_t;

/* The limits for a job's code and for a task's outputs. */
#define DR_TAR_MAX_UNPACKED (1ull << 30)
#define DR_TAR_MAX_ENTRIES 100000u
#define DR_TAR_MAX_NAME 1023 /* bytes of an entry's path */

/* One thing to pack: a folder (its contents go under prefix) or a file
 * (it becomes prefix/its name).  prefix "" = the archive's root. */
typedef struct {
    const char *path;
    const char *prefix;
} dr_tar_src_t;

/* Packs srcs into out (a gzip tar, appended); DR_ETOOBIG as soon as the
 * archive passes max bytes, DR_EIO when something cannot be read (why
 * names it), DR_EINVAL for what a job cannot carry (a device, a socket).
 * out holds a partial archive on failure: free it. */
int dr_tar_pack(const dr_tar_src_t *srcs, size_t n, size_t max, dr_buf_t *out,
                char *why, size_t cap);

/* Reads the whole archive and checks every entry against lim without
 * writing anything: 0, or DR_EINVAL with why naming the entry. */
int dr_tar_check(const void *data, size_t len, const dr_tar_limits_t *lim,
                 char *why, size_t cap);

/* Unpacks under dest (made if missing), checking as dr_tar_check does;
 * only: when not NULL, just the entries below that top-level folder.
 * Returns the number of entries written (files, folders, links), or
 * DR_EINVAL / DR_EIO. */
int dr_tar_extract(const void *data, size_t len, const char *dest,
                   const char *only, const dr_tar_limits_t *lim, char *why,
                   size_t cap);

#endif
