"""Workspace: one drover scheduler reached through its HTTP API.

Azure ML's Workspace names a subscription, resource group and workspace;
drover's names a scheduler's HTTP listener and an API token, read from the
same config.json that Azure ML's from_config reads (with the keys
``endpoint`` and ``token``).
"""

import urllib.parse

from ._client import ApiClient, load_config


class Workspace:
    """A scheduler (``endpoint``) and the token that speaks for a user."""

    def __init__(self, endpoint, token, name=None, timeout=30.0):
        self._api = ApiClient(endpoint, token, timeout)
        self.name = name or urllib.parse.urlsplit(self._api.endpoint).netloc
        self.config_file = None

    @staticmethod
    def from_config(path=None, auth=None, _logger=None, _file_name=None):
        """The workspace of a config.json.

        ``path``: a config file, or the directory where the search starts
        (default: the current directory); the search goes up through the
        parents and looks in each directory and its ``.azureml/``.  Raises
        UserErrorException when no file is found or it is not a JSON object
        with the string keys ``endpoint`` and ``token``.  ``auth`` is
        accepted for Azure ML's signature and ignored (the token is the
        credential).
        """
        del auth, _logger, _file_name
        f, endpoint, token, cfg = load_config(path)
        name = cfg.get("workspace_name")
        ws = Workspace(endpoint, token, name if isinstance(name, str) else None)
        ws.config_file = f
        return ws

    @property
    def endpoint(self):
        return self._api.endpoint

    @property
    def compute_targets(self):
        """{name: AmlCompute} of every cluster."""
        from .compute import AmlCompute

        return {c.name: c for c in AmlCompute.list(self)}

    def whoami(self):
        """{"user", "role"} of the token."""
        return self._api.get("/whoami")

    def __repr__(self):
        return "Workspace.create(name=%r, endpoint=%r)" % (self.name, self.endpoint)
