"""Options a user types (`format=`, `backend=`): checked once where the config enters, then passed
on as enum members rather than strings."""

from __future__ import annotations

from enum import Enum
from typing import Self


class Choice(Enum):
    @classmethod
    def parse(cls, value: str, key: str) -> Self:
        """The member whose value is `value`; otherwise an error listing the choices for `key`."""
        try:
            return cls(value)
        except ValueError:
            names = "|".join(member.value for member in cls)
            raise ValueError(f"{key} must be one of {names} ({key}={names}), not {value!r}") from None
