"""The scheduler's HTTP JSON API (docs/http-api.md) and config.json.

One class, ``ApiClient``, speaks ``/api/v1/`` with a Bearer token over
urllib (standard library only).  Every failure becomes a ``DroverException``
carrying the scheduler's one-line message and the HTTP status (``None``
when no HTTP answer came: the scheduler could not be reached).  The
callers (compute.py, jobs.py) turn it into the exception class their
Azure ML counterpart raises.
"""

import http.client
import json
import os
import urllib.error
import urllib.parse
import urllib.request

API_PREFIX = "/api/v1"
CONFIG_NAME = "config.json"


class DroverException(Exception):
    """An error of the SDK or of the scheduler.

    ``message`` is the one-line reason (the scheduler's own where it
    answered), ``status`` the HTTP status or ``None``.
    """

    def __init__(self, message, status=None):
        super().__init__(message)
        self.message = message
        self.status = status

    def __str__(self):
        if self.status is None:
            return self.message
        return "%s (HTTP %d)" % (self.message, self.status)


class UserErrorException(DroverException):
    """Bad input on the caller's side: a config file, an argument."""


def _check_endpoint(endpoint, where):
    if not isinstance(endpoint, str) or not endpoint:
        raise UserErrorException(
            "%s: 'endpoint' must be a non-empty string (the scheduler's "
            "--http-listen URL, e.g. http://127.0.0.1:9090)" % where
        )
    u = urllib.parse.urlsplit(endpoint)
    if u.scheme not in ("http", "https") or not u.hostname:
        raise UserErrorException(
            "%s: 'endpoint' %r is not an http:// or https:// URL with a host"
            % (where, endpoint)
        )
    try:
        u.port  # raises ValueError on a bad port
    except ValueError:
        raise UserErrorException(
            "%s: 'endpoint' %r has a bad port" % (where, endpoint)
        ) from None
    if u.query or u.fragment:
        raise UserErrorException(
            "%s: 'endpoint' %r must not carry a query or fragment"
            % (where, endpoint)
        )
    path = u.path.rstrip("/")
    if path.endswith(API_PREFIX):
        path = path[: -len(API_PREFIX)]
    return urllib.parse.urlunsplit((u.scheme, u.netloc, path, "", ""))


def _check_token(token, where):
    if not isinstance(token, str) or not token:
        raise UserErrorException(
            "%s: 'token' must be a non-empty string (from `drover keys token "
            "create NAME`)" % where
        )
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in token):
        raise UserErrorException(
            "%s: 'token' contains spaces or control characters" % where
        )
    return token


def find_config(path=None):
    """The config.json that Workspace.from_config reads.

    ``path`` may be a file (used as it is) or a directory to start from
    (default: the current directory).  From that directory up to the
    root, the first of ``DIR/config.json`` and ``DIR/.azureml/config.json``
    that exists wins, as Azure ML searches.
    """
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise UserErrorException(
            "path must be a file or directory name, not %s" % type(path).__name__
        )
    start = os.path.abspath(os.fspath(path) if path is not None else os.getcwd())
    if path is not None and os.path.isfile(start):
        return start
    if path is not None and not os.path.isdir(start):
        raise UserErrorException("config path %s does not exist" % start)
    d = start
    while True:
        for cand in (
            os.path.join(d, CONFIG_NAME),
            os.path.join(d, ".azureml", CONFIG_NAME),
        ):
            if os.path.isfile(cand):
                return cand
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    raise UserErrorException(
        "no %s found in %s or its parent directories (nor in their .azureml/ "
        "subdirectories); write one with the keys 'endpoint' and 'token'"
        % (CONFIG_NAME, start)
    )


def load_config(path=None):
    """(file, endpoint, token, the whole object) of the config found."""
    f = find_config(path)
    try:
        with open(f, "rb") as fh:
            raw = fh.read(1 << 20)
    except OSError as e:
        raise UserErrorException("cannot read %s: %s" % (f, e.strerror)) from None
    try:
        cfg = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise UserErrorException("%s is not valid JSON: %s" % (f, e)) from None
    if not isinstance(cfg, dict):
        raise UserErrorException("%s must hold a JSON object" % f)
    for key in ("endpoint", "token"):
        if key not in cfg:
            raise UserErrorException("%s has no '%s' key" % (f, key))
    return f, _check_endpoint(cfg["endpoint"], f), _check_token(cfg["token"], f), cfg


class ApiClient:
    """Requests to one scheduler's /api/v1 with one token."""

    def __init__(self, endpoint, token, timeout=30.0):
        self.endpoint = _check_endpoint(endpoint, "endpoint")
        self.token = _check_token(token, "token")
        self.timeout = timeout

    def url(self, path, query=None):
        u = self.endpoint + API_PREFIX + path
        if query:
            u += "?" + urllib.parse.urlencode(query)
        return u

    def request(self, method, path, body=None, query=None):
        """The decoded JSON reply; DroverException on any failure."""
        data = None
        headers = {
            "Authorization": "Bearer " + self.token,
            "Accept": "application/json",
        }
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(
            self.url(path, query), data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            raw = e.read()
            e.close()
            raise self._error(e.code, raw) from None
        except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
            # URLError and timeouts are OSErrors; a dropped connection is an
            # HTTPException
            reason = getattr(e, "reason", e)
            raise DroverException(
                "cannot reach the scheduler at %s: %s" % (self.endpoint, reason)
            ) from None
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise DroverException(
                "the scheduler's reply to %s %s is not JSON" % (method, path),
                status,
            ) from None

    @staticmethod
    def _error(status, raw):
        msg = None
        try:
            obj = json.loads(raw.decode("utf-8"))
            if isinstance(obj, dict) and isinstance(obj.get("error"), str):
                msg = obj["error"]
        except (UnicodeDecodeError, ValueError):
            pass
        if msg is None:
            text = raw.decode("utf-8", "replace").strip().splitlines()
            msg = text[0][:200] if text else "HTTP error %d" % status
        return DroverException(msg, status)

    def get(self, path, query=None):
        return self.request("GET", path, query=query)

    def post(self, path, body=None):
        return self.request("POST", path, body=body)

    def patch(self, path, body):
        return self.request("PATCH", path, body=body)

    def delete(self, path):
        return self.request("DELETE", path)


def quote(name):
    """One path segment."""
    return urllib.parse.quote(str(name), safe="")
