"""drover's Python SDK: the scheduler's HTTP JSON API in the shape of Azure
Machine Learning's SDKs (v1 compute: Workspace, AmlCompute, ComputeTarget;
v2 jobs: MLClient, command).  Standard library only.

    from drover import Workspace, AmlCompute, ComputeTarget
    ws = Workspace.from_config()          # config.json: endpoint, token
    cfg = AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", max_nodes=4)
    cluster = ComputeTarget.create(ws, "cpu-cluster", cfg)
    cluster.wait_for_completion(show_output=True)
"""

from ._client import DroverException, UserErrorException
from .compute import (
    AmlCompute,
    AmlComputeProvisioningConfiguration,
    AmlComputeStatus,
    ComputeTarget,
    ComputeTargetException,
)
from .jobs import (
    Command,
    Environment,
    JobException,
    MLClient,
    MpiDistribution,
    Output,
    PyTorchDistribution,
    TensorFlowDistribution,
    command,
)
from .workspace import Workspace

__version__ = "0.1.0"

__all__ = [
    "AmlCompute",
    "AmlComputeProvisioningConfiguration",
    "AmlComputeStatus",
    "Command",
    "ComputeTarget",
    "ComputeTargetException",
    "DroverException",
    "Environment",
    "JobException",
    "MLClient",
    "MpiDistribution",
    "Output",
    "PyTorchDistribution",
    "TensorFlowDistribution",
    "UserErrorException",
    "Workspace",
    "command",
]
