"""Lambda's concurrency accounting: the account pool, reserved concurrency, and who gets throttled.

A function with reserved concurrency N may run N environments at once, never more (0 disables
it). Every other function shares what is left of the account limit. Checked when an
invocation is placed; an invocation over its limit gets 429 with the Reason AWS gives.
"""

from __future__ import annotations

from ..errors import TooManyRequests

RESERVED_REASON = "ReservedFunctionConcurrentInvocationLimitExceeded"
ACCOUNT_REASON = "ConcurrentInvocationLimitExceeded"


class ConcurrencyLimits:
    def __init__(self, account_limit: int) -> None:
        self.account_limit = account_limit
        self.reserved: dict[str, int] = {}
        self._busy: dict[str, int] = {}
        self._unreserved_busy = 0

    @property
    def unreserved_pool(self) -> int:
        return self.account_limit - sum(self.reserved.values())

    @property
    def total_busy(self) -> int:
        return sum(self._busy.values())

    def busy(self, function_name: str) -> int:
        return self._busy.get(function_name, 0)

    def acquire(self, function_name: str) -> None:
        """Count one more running invocation of the function, or throttle it."""
        reserved = self.reserved.get(function_name)
        running = self._busy.get(function_name, 0)
        if reserved is not None:
            if running >= reserved:
                raise TooManyRequests(reason=RESERVED_REASON)
        elif self._unreserved_busy >= self.unreserved_pool:
            raise TooManyRequests(reason=ACCOUNT_REASON)
        else:
            self._unreserved_busy += 1
        self._busy[function_name] = running + 1

    def release(self, function_name: str) -> None:
        running = self._busy.get(function_name, 0) - 1
        if running <= 0:
            self._busy.pop(function_name, None)
        else:
            self._busy[function_name] = running
        if function_name not in self.reserved:
            self._unreserved_busy -= 1

    def set_reserved(self, function_name: str, value: int | None) -> None:
        """Change a reservation; invocations already running keep the pool they started in."""
        running = self._busy.get(function_name, 0)
        was_reserved = function_name in self.reserved
        if value is None:
            self.reserved.pop(function_name, None)
        else:
            self.reserved[function_name] = value
        now_reserved = function_name in self.reserved
        if was_reserved and not now_reserved:
            self._unreserved_busy += running
        elif now_reserved and not was_reserved:
            self._unreserved_busy -= running
