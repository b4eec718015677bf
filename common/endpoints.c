/* endpoints.c - see endpoints.h. */
#include "endpoints.h"
#include "dr_err.h"

#include <stdio.h>
#include <string.h>

int dr_ep_count(const char *list)
{
    if (!list || !list[0])
        return 0;
    int n = 1;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    return n;
}

int dr_ep_get(const char *list, int i, char *out, size_t cap)
{
    int n = dr_ep_count(list);
    if (n == 0 || cap == 0)
        return DR_EINVAL;
    i = ((i % n) + n) % n;
    const char *p = list;
    for (int k = 0; k < i; k++)
        p = strchr(p, ',') + 1;
    size_t len = strcspn(p, ",");
    if (len >= cap)
        return DR_EINVAL;
    memcpy(out, p, len);
    out[len] = '\0';
    return 0;
}

int dr_ep_find(const char *list, const char *ep)
{
    char e[512];
    for (int i = 0; ep && ep[0] && i < dr_ep_count(list); i++)
        if (dr_ep_get(list, i, e, sizeof e) == 0 && strcmp(e, ep) == 0)
            return i;
    return -1;
}

int dr_ep_follow(const char *list, int cur, const char *hint)
{
    int n = dr_ep_count(list);
    int k = dr_ep_find(list, hint);
    if (k >= 0 && k != cur)
        return k;
    return n ? (cur + 1) % n : 0;
}

int dr_ep_check(const char *list, char *bad, size_t cap)
{
    char e[512];
    int n = dr_ep_count(list);
    for (int i = 0; i < n; i++) {
        if (dr_ep_get(list, i, e, sizeof e) < 0 ||
            (strncmp(e, "tcp://", 6) != 0 && strncmp(e, "ipc://", 6) != 0)) {
            snprintf(bad, cap, "%s", dr_ep_get(list, i, e, sizeof e) ? "?" : e);
            return DR_EINVAL;
        }
    }
    if (n == 0) {
        snprintf(bad, cap, "(empty)");
        return DR_EINVAL;
    }
    return 0;
}
