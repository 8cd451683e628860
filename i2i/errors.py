"""The one exception type for mistakes a user can cause.

Entry points catch `UserError` and print its message as a single line (no traceback),
so every message must name the file or key at fault and, where it helps, the fix.
"""


class UserError(Exception):
    pass
