/* cli_yaml_compute.c - `drover cluster create -f compute.yml`: Azure ML's
 * v2 compute file (type: amlcompute) mapped onto the request the flags
 * build, with Azure ML's defaults for what it leaves out (cli_yaml.c
 * reads the file; the helpers are cli_yaml_int.h's). */
#include "cli_yaml_int.h"
#include "dr_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_compute_keys[] = {"$schema",
                                             "name",
                                             "type",
                                             "size",
                                             "min_instances",
                                             "max_instances",
                                             "idle_time_before_scale_down",
                                             "tier",
                                             "location",
                                             "identity",
                                             "description",
                                             "tags",
                                             "ssh_public_access_enabled",
                                             "network_settings",
                                             "ssh_settings",
                                             NULL};

int cli_yaml_cluster(cli_ctx_t *ctx, cli_yaml_t *y, Drover__Cluster *c)
{
    const ynode_t *r = y->root, *n;
    int rc = cy_known(ctx, y, r, "the compute", s_compute_keys);
    if (rc == 0 && (n = cy_get(r, "ssh_settings")))
        rc =
            cy_err(ctx, y, n->line,
                   "ssh_settings: drover's nodes open no SSH (MPI reaches them "
                   "through drover-launch); leave it out%s%s",
                   NULL, NULL);
    const char *v = NULL;
    long long x = 0;
    /* Azure ML's defaults for an amlcompute */
    c->vm_size = (char *)"Standard_DS3_v2";
    c->min_nodes = 0;
    c->max_nodes = 1;
    c->idle_seconds_before_scaledown = 120;
    c->vm_priority = (char *)"dedicated";
    if (rc == 0 && !(n = cy_get(r, "name")))
        rc = cy_err(ctx, y, r->line, "a compute needs 'name'%s%s", NULL, NULL);
    if (rc == 0 && (rc = cy_str(ctx, y, n, "name", &v)) == 0) {
        if (!dr_valid_name(v))
            rc = cy_err(ctx, y, n->line, "name '%s' is not a cluster name%s", v,
                        NULL);
        c->name = (char *)v;
    }
    if (rc == 0 && (n = cy_get(r, "type")) &&
        (rc = cy_str(ctx, y, n, "type", &v)) == 0 && strcmp(v, "amlcompute"))
        rc = cy_err(ctx, y, n->line,
                    "type '%s' is not supported (type: amlcompute)%s", v, NULL);
    if (rc == 0 && (n = cy_get(r, "size")) &&
        (rc = cy_str(ctx, y, n, "size", &v)) == 0)
        c->vm_size = (char *)v;
    if (rc == 0 && (n = cy_get(r, "min_instances")) &&
        (rc = cy_int(ctx, y, n, "min_instances", 0, 10000, &x)) == 0)
        c->min_nodes = (int32_t)x;
    if (rc == 0 && (n = cy_get(r, "max_instances")) &&
        (rc = cy_int(ctx, y, n, "max_instances", 0, 10000, &x)) == 0)
        c->max_nodes = (int32_t)x;
    if (rc == 0 && c->min_nodes > c->max_nodes)
        rc = cy_err(ctx, y, r->line, "min_instances is above max_instances%s%s",
                    NULL, NULL);
    if (rc == 0 && (n = cy_get(r, "idle_time_before_scale_down")) &&
        (rc = cy_int(ctx, y, n, "idle_time_before_scale_down", 0, 31536000,
                     &x)) == 0)
        c->idle_seconds_before_scaledown = (int32_t)x;
    if (rc == 0 && (n = cy_get(r, "tier")) &&
        (rc = cy_str(ctx, y, n, "tier", &v)) == 0) {
        if (strcmp(v, "dedicated") == 0)
            c->vm_priority = (char *)"dedicated";
        else if (strcmp(v, "low_priority") == 0 ||
                 strcmp(v, "lowpriority") == 0)
            c->vm_priority = (char *)"lowpriority";
        else
            rc =
                cy_err(ctx, y, n->line,
                       "tier '%s' is not dedicated or low_priority%s", v, NULL);
    }
    if (rc == 0 && (n = cy_get(r, "location")) &&
        (rc = cy_str(ctx, y, n, "location", &v)) == 0)
        c->location = (char *)v;
    if (rc == 0 && (n = cy_get(r, "identity"))) {
        static const char *const id_keys[] = {"type",
                                              "user_assigned_identities", NULL};
        const ynode_t *t = cy_get(n, "type"), *ua;
        if ((rc = cy_map(ctx, y, n, "identity")) == 0 &&
            (rc = cy_known(ctx, y, n, "identity", id_keys)) == 0 && !t)
            rc = cy_err(ctx, y, n->line, "identity needs 'type'%s%s", NULL,
                        NULL);
        if (rc == 0 && (rc = cy_str(ctx, y, t, "identity.type", &v)) == 0) {
            if (strcmp(v, "system_assigned") == 0) {
                c->identity = (char *)"[system]";
            } else if (strcmp(v, "user_assigned") == 0) {
                ua = cy_get(n, "user_assigned_identities");
                const ynode_t *first =
                    ua && ua->type == Y_SEQ && ua->n ? ua->kids[0] : NULL;
                const ynode_t *rid = first && first->type == Y_MAP
                                         ? cy_get(first, "resource_id")
                                         : first;
                if (!rid || rid->type != Y_SCALAR)
                    rc = cy_err(ctx, y, n->line,
                                "user_assigned needs user_assigned_identities "
                                "(a list of resource_id)%s%s",
                                NULL, NULL);
                else
                    c->identity = rid->value;
            } else {
                rc = cy_err(ctx, y, t->line,
                            "identity type '%s' is not system_assigned or "
                            "user_assigned%s",
                            v, NULL);
            }
        }
    }
    return rc;
}
