/* mpi_ring - the MPI program of drover's multi-node tests and benchmark.
 *
 *   mpi_ring [SLEEP_SECONDS]
 *
 * Every rank prints "ready rank R/N node NODE" once MPI is up, takes part
 * in an allreduce of rank+1 (the sum is N(N+1)/2) and a ring exchange
 * (each rank sends its rank to the next and receives the previous one's),
 * optionally sleeps in the middle (for the tests that kill a node), and
 * prints one line with all of it.  NODE is the drover node the rank runs
 * on (DROVER_NODE_NAME of its task).  Exit 0 only when both results are
 * right.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank = 0, size = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const char *node = getenv("DROVER_NODE_NAME");
    char host[MPI_MAX_PROCESSOR_NAME];
    int hlen = 0;
    MPI_Get_processor_name(host, &hlen);
    printf("ready rank %d/%d node %s\n", rank, size, node ? node : "-");
    fflush(stdout);

    int mine = rank + 1, sum = 0;
    MPI_Allreduce(&mine, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (argc > 1)
        sleep((unsigned)atoi(argv[1]));
    int next = (rank + 1) % size, prev = (rank + size - 1) % size, got = -1;
    MPI_Sendrecv(&rank, 1, MPI_INT, next, 7, &got, 1, MPI_INT, prev, 7,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    int ok = sum == size * (size + 1) / 2 && got == prev;
    printf("rank %d/%d node %s host %s sum %d ring_from %d %s\n", rank, size,
           node ? node : "-", host, sum, got, ok ? "ok" : "WRONG");
    fflush(stdout);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Finalize();
    return ok ? 0 : 1;
}
