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
