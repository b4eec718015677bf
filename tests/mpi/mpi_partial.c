/* mpi_partial - ranks that write their lines in pieces, as test suites do
 * ("testScatterv ... " then "ok"): the test of drover's per-rank output
 * splitting (agent/mpi_tag.c).
 *
 *   mpi_partial
 *
 * Every rank writes "rank R: a " then "b " then "c " then "sum S\n" to
 * stdout, and "err R: x " then "y\n" to stderr, unbuffered, with a
 * barrier between the pieces so that all ranks' first pieces reach
 * mpirun before anyone's second: the pieces of different ranks
 * interleave.  S is an allreduce of rank+1 (N(N+1)/2).  Exit 0 when the
 * sum is right.
 */
#include <mpi.h>
#include <stdio.h>
#include <unistd.h>

static void s_piece(FILE *f, const char *text)
{
    fputs(text, f);
    fflush(f);
    MPI_Barrier(MPI_COMM_WORLD);
    usleep(100000); /* mpirun forwards this piece before the next comes */
    MPI_Barrier(MPI_COMM_WORLD);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank = 0, size = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    setvbuf(stdout, NULL, _IONBF, 0);
    setvbuf(stderr, NULL, _IONBF, 0);
    char buf[64];
    snprintf(buf, sizeof buf, "rank %d: a ", rank);
    s_piece(stdout, buf);
    snprintf(buf, sizeof buf, "err %d: x ", rank);
    s_piece(stderr, buf);
    s_piece(stdout, "b ");
    s_piece(stdout, "c ");
    s_piece(stderr, "y\n");
    int mine = rank + 1, sum = 0;
    MPI_Allreduce(&mine, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    snprintf(buf, sizeof buf, "sum %d\n", sum);
    s_piece(stdout, buf);
    MPI_Finalize();
    return sum == size * (size + 1) / 2 ? 0 : 1;
}
