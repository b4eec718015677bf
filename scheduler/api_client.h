/* api_client.h - what the scheduler does with requests from clients. */
#ifndef DR_API_CLIENT_H
#define DR_API_CLIENT_H

#include "sched.h"
#include "wire.h"

#include <stddef.h>

/* Handles one decoded request from the client whose routing id is rid.
 * Borrows env; the reply goes to the client outbox. */
void api_client_dispatch(sched_t *s, const char *rid, dr_env_t *env);

/* Validates a submission against the cluster's vm size; 0 or a DR_E*
 * code with a one-line reason in why.  Exposed for unit tests. */
int api_job_validate(const sched_t *s, const Drover__Job *j, char *why,
                     size_t n);
/* Same for a new cluster. */
int api_cluster_validate(const sched_t *s, const Drover__Cluster *c, char *why,
                         size_t n);

#endif
