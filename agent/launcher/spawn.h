/* spawn.h - drover-launch's --spawn mode (see spawn.c). */
#ifndef DR_LAUNCH_SPAWN_H
#define DR_LAUNCH_SPAWN_H

#include <stddef.h>

/* Runs nprocs copies of cmd (argv, NULL-terminated) with their ranks and
 * returns the exit status drover-launch should end with. */
int launch_spawn(int nprocs, char **cmd);

/* Writes all n bytes (EINTR retried); 0 or -1 (errno). */
int launch_write_all(int fd, const void *buf, size_t n);

#endif
