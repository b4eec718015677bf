/* dist.c - see dist.h. */
#include "dist.h"

void dist_share(uint32_t total, uint32_t nodes, uint32_t rank, uint32_t *first,
                uint32_t *count)
{
    if (nodes == 0)
        nodes = 1;
    uint32_t base = total / nodes, extra = total % nodes;
    *count = base + (rank < extra);
    *first = rank * base + (rank < extra ? rank : extra);
}

uint32_t dist_per_node(uint32_t total, uint32_t nodes)
{
    if (nodes == 0)
        nodes = 1;
    return total / nodes + (total % nodes != 0);
}
