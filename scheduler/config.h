/* config.h - the scheduler's options: defaults, config file, flags.
 *
 * The scheduler's rows of the common option table (common/opts.h) name
 * every option once: its flag, its config-file key, its type and default.
 * Precedence: defaults, then the config file (--config FILE), then flags.
 * Every value is validated; errors name the option and the source
 * ("line 3: ...").
 */
#ifndef DR_CONFIG_H
#define DR_CONFIG_H

#include "sched.h"

#include <stddef.h>
#include <stdio.h>

/* Fills opts from argv (and the config file it names).  Returns 0, 1 when
 * --help was asked (usage printed), or DR_EINVAL with a message in err. */
int config_parse_args(int argc, char **argv, sched_opts_t *opts, char *err,
                      size_t errlen);

/* Applies one "key = value" text (a config file's contents). */
int config_parse_text(const char *text, sched_opts_t *opts, char *err,
                      size_t errlen);

void config_defaults(sched_opts_t *opts);
void config_usage(FILE *out);

#endif
