/* api_agent.h - what the scheduler does with messages from agents. */
#ifndef DR_API_AGENT_H
#define DR_API_AGENT_H

#include "sched.h"
#include "wire.h"

/* Handles one decoded envelope from the agent whose routing id is rid.
 * Borrows env; never frees it (the dispatcher does). */
void api_agent_dispatch(sched_t *s, const char *rid, dr_env_t *env);

#endif
