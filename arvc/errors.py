"""The one exception type the CLI turns into a one-line message and exit code 1."""


class ArvcError(Exception):
    """A user-facing error: bad input, missing file, incompatible model...

    The message must be one line naming the file (or flag) and the problem.
    """
