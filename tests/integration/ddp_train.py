"""A tiny PyTorch DDP training run (CPU, gloo) for test_pytorch.sh.

Every rank trains the same linear model on its shard of a fixed synthetic
regression problem, with DistributedDataParallel averaging the gradients;
it prints the loss before and after, and a checksum of its final weights,
which DDP keeps identical on every rank.  The environment is what drover
sets for distribution: pytorch (MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK,
LOCAL_RANK, LOCAL_WORLD_SIZE, NODE_RANK).
"""
import os

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP


def main():
    for k in ("MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK",
              "LOCAL_RANK", "LOCAL_WORLD_SIZE", "NODE_RANK"):
        assert k in os.environ, "missing " + k
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    assert world == int(os.environ["WORLD_SIZE"])
    torch.manual_seed(0)
    w_true = torch.tensor([[2.0], [-3.0], [0.5]])
    x = torch.randn(512, 3)
    y = x @ w_true + 0.01 * torch.randn(512, 1)
    xs, ys = x[rank::world], y[rank::world]
    torch.manual_seed(1234)  # the same initial weights on every rank
    model = DDP(torch.nn.Linear(3, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = torch.nn.MSELoss()
    first = None
    for _ in range(60):
        opt.zero_grad()
        loss = loss_fn(model(xs), ys)
        loss.backward()
        opt.step()
        if first is None:
            first = loss.item()
    total = sum(float(p.detach().double().sum()) for p in model.parameters())
    print("ddp rank %d/%d local %s node %s loss %.6f -> %.6f checksum %.6f"
          % (rank, world, os.environ["LOCAL_RANK"], os.environ["NODE_RANK"],
             first, loss.item(), total), flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
