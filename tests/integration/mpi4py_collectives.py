"""An mpi4py job (Debian's python3-mpi4py): real collectives on every
rank, checked on every rank, with the time they took.

    mpi4py_collectives.py [ROUNDS]

Each rank writes its progress in pieces, as mpi4py's own test suite does
("allreduce ... " then "ok"), takes part in ROUNDS allreduces of rank+1
(the sum is N(N+1)/2), an allgather of the ranks and a bcast from rank 0,
and prints one line:
  mpi4py rank R/N node NODE sum S gather G yield Y seconds T ok
Y is OMPI_MCA_mpi_yield_when_idle as the rank sees it.  Exit 1 when a
result is wrong.
"""
import os
import sys
import time

from mpi4py import MPI

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 200
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
node = os.environ.get("DROVER_NODE_NAME", "-")
sys.stdout.write("allreduce x%d ... " % rounds)
sys.stdout.flush()
comm.Barrier()
t0 = time.monotonic()
ok = True
for _ in range(rounds):
    s = comm.allreduce(rank + 1, op=MPI.SUM)
    ok = ok and s == size * (size + 1) // 2
took = time.monotonic() - t0
sys.stdout.write("ok\n" if ok else "WRONG\n")
sys.stdout.flush()
g = comm.allgather(rank)
b = comm.bcast("from-0" if rank == 0 else None, root=0)
ok = ok and g == list(range(size)) and b == "from-0"
print("mpi4py rank %d/%d node %s sum %d gather %s yield %s seconds %.3f %s" % (
    rank, size, node, s, ",".join(map(str, g)),
    os.environ.get("OMPI_MCA_mpi_yield_when_idle", "unset"), took,
    "ok" if ok else "WRONG"), flush=True)
sys.exit(0 if ok else 1)
