"""The one exception type for mistakes a user can cause.

Entry points catch `UserError` and print its message as a single line (no traceback),
so every message must name the file or key at fault and, where it helps, the fix.
"""


class UserError(Exception):
    pass


def one_line(error: Exception) -> str:
    """The user-facing line of an error; one re-raised by a DataLoader worker carries the
    worker's whole traceback in its message, whose last line is the original one."""
    text = str(error)
    if "Original Traceback" in text:
        text = text.strip().splitlines()[-1].split(": ", 1)[-1]
    return text.splitlines()[0] if text else type(error).__name__
