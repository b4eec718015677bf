"""A job's ``code=``: a local directory as the base64 of a gzip-compressed
tar whose root holds the directory's contents (the contract of
``POST /api/v1/jobs``'s ``code`` key; each node unpacks it as the task's
working directory).

The archive is built in memory and given up as soon as it grows past the
limit, so that a directory of gigabytes fails fast with a clear error
instead of being compressed and sent for the scheduler to refuse.
"""

import base64
import io
import os
import tarfile

from ._client import UserErrorException

# A scheduler takes code of at most its --max-code-size (1-7 MiB, 4 MiB by
# default) in a job body of at most 10 MiB: past 7 MiB no scheduler would
# take it, below that the scheduler's own limit answers (413).
MAX_CODE_BYTES = 7 << 20


class _TooBig(Exception):
    pass


class _CappedBuffer(io.RawIOBase):
    def __init__(self, cap):
        super().__init__()
        self.buf = io.BytesIO()
        self.cap = cap

    def writable(self):
        return True

    def write(self, b):
        if self.buf.tell() + len(b) > self.cap:
            raise _TooBig()
        return self.buf.write(b)


def pack(directory, max_bytes=MAX_CODE_BYTES):
    """base64 text of DIRECTORY packed; UserErrorException when it is not a
    readable directory or its archive is above max_bytes."""
    if not isinstance(directory, (str, os.PathLike)):
        raise UserErrorException(
            "code must be the path of a local directory, not %s"
            % type(directory).__name__
        )
    d = os.path.abspath(os.fspath(directory))
    if not os.path.exists(d):
        raise UserErrorException("code directory %s does not exist" % d)
    if not os.path.isdir(d):
        raise UserErrorException("code %s is not a directory" % d)
    out = _CappedBuffer(max_bytes)
    try:
        with tarfile.open(fileobj=out, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
            for entry in sorted(os.listdir(d)):
                tar.add(os.path.join(d, entry), arcname=entry, recursive=True)
    except _TooBig:
        raise UserErrorException(
            "code directory %s packs to more than %d bytes (the limit); leave "
            "data out of code= and read it from the nodes" % (d, max_bytes)
        ) from None
    except OSError as e:
        raise UserErrorException(
            "cannot pack code directory %s: %s: %s"
            % (d, e.filename or d, e.strerror or e)
        ) from None
    return base64.b64encode(out.buf.getvalue()).decode("ascii")


def unpack(b64, dest, only=None):
    """Unpacks a job's outputs (a gzip tar in base64, from the scheduler)
    under DEST, only the top-level folder ONLY when given; returns the
    number of entries written.  Every entry must be a file or folder with
    a relative path inside the archive: anything else (a link, a device,
    "..", an absolute path) raises JobException and nothing of it is
    written."""
    from .jobs import JobException

    try:
        raw = base64.b64decode(b64, validate=True)
        tar = tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz")
        members = tar.getmembers()
    except (ValueError, tarfile.TarError, OSError) as e:
        raise JobException("the job's outputs are not a gzip tar: %s" % e) from None
    take = []
    for m in members:
        name = m.name[2:] if m.name.startswith("./") else m.name
        parts = name.split("/")
        if not name or name.startswith("/") or ".." in parts or not (m.isfile() or m.isdir()):
            raise JobException("the job's outputs hold %r, which is not a file or "
                               "folder inside them" % m.name)
        if only is None or parts[0] == only:
            take.append((name, m))
    for name, m in take:
        target = os.path.join(dest, *name.split("/"))
        if m.isdir():
            os.makedirs(target, exist_ok=True)
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        src = tar.extractfile(m)
        with open(target, "wb") as f:
            f.write(src.read())
        os.chmod(target, (m.mode & 0o777) | 0o600)
    return len(take)
