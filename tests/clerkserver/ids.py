"""Clerk-style identifiers and the millisecond clock.

Clerk ids are a type prefix, an underscore, and 27 base62 characters of
which the first is "2" (`user_2Nn…`, `org_2b…`, `idn_2…`, `sess_2…`). The
factory draws them from a random generator seeded from the server's --seed,
so the same seed and the same sequence of creations give the same ids.
"""

import random
import time

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Maps each random byte to a base62 character (bias is irrelevant here).
_TO_BASE62 = bytes(ord(BASE62[n % 62]) for n in range(256))


class IdFactory:
    """Deterministic source of new ids; callers serialize access."""

    def __init__(self, seed):
        self._rng = random.Random(f"clerk-ids:{seed}")

    def new(self, prefix):
        """Return a fresh id such as `user_2…` for `prefix` "user"."""
        chars = self._rng.randbytes(26).translate(_TO_BASE62)
        return prefix + "_2" + chars.decode("ascii")


def now_ms():
    """Current Unix time in milliseconds, as Clerk's timestamps are."""
    return time.time_ns() // 1_000_000
