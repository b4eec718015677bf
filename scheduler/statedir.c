/* statedir.c - see statedir.h. */
#include "statedir.h"
#include "dr_err.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int statedir_lock(const char *state_dir, char *err, size_t errlen)
{
    if (dr_mkdirs(state_dir, 0750) < 0) {
        snprintf(err, errlen, "cannot create state dir %s: %s", state_dir,
                 strerror(errno));
        return DR_EIO;
    }
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/lock", state_dir);
    if (n < 0 || (size_t)n >= sizeof path) {
        snprintf(err, errlen, "state dir path too long");
        return DR_EINVAL;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return DR_EIO;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        char holder[256] = "";
        ssize_t r = pread(fd, holder, sizeof holder - 1, 0);
        holder[r > 0 ? r : 0] = '\0';
        holder[strcspn(holder, "\n")] = '\0';
        close(fd);
        if (e == EWOULDBLOCK)
            snprintf(err, errlen,
                     "state dir %s is in use by another scheduler (%s; lock "
                     "file %s): one scheduler per state dir",
                     state_dir, holder[0] ? holder : "holder unknown", path);
        else
            snprintf(err, errlen, "cannot lock %s: %s", path, strerror(e));
        return e == EWOULDBLOCK ? DR_ESTATE : DR_EIO;
    }
    char host[256] = "?";
    (void)gethostname(host, sizeof host - 1);
    char line[512];
    int len = snprintf(line, sizeof line,
                       "drover-scheduler pid %d on host %s since %lld\n",
                       (int)getpid(), host, (long long)time(NULL));
    if (ftruncate(fd, 0) < 0 || pwrite(fd, line, (size_t)len, 0) != len) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        close(fd);
        return DR_EIO;
    }
    return fd;
}

int statedir_check(const char *state_dir, char *err, size_t errlen)
{
    char db[4096], keys[4096];
    snprintf(db, sizeof db, "%s/drover.db", state_dir);
    snprintf(keys, sizeof keys, "%s/keys", state_dir);
    struct stat st, kst;
    if (stat(db, &st) == 0 && st.st_size == 0 && stat(keys, &kst) == 0 &&
        S_ISDIR(kst.st_mode)) {
        snprintf(err, errlen,
                 "%s is empty (0 bytes) but %s exists: the database was "
                 "lost or truncated, and starting would forget every job; "
                 "restore drover.db from a backup, or remove it and keys/ "
                 "to start a fresh install",
                 db, keys);
        return DR_EINVAL;
    }
    return 0;
}
