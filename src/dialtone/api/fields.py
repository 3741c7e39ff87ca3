"""Field types shared by the API's request models and query parameters.

A moment (``Moment``) must carry its UTC offset and fall within the years the platform
can mean (:mod:`dialtone.core.moments`, the same checks as the CLI's options); a failure
is a ``400 request.invalid`` naming the field, through the validation handler.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from dialtone.core.moments import MomentError, check_moment


def _moment(value: datetime) -> datetime:
    try:
        return check_moment(value)
    except MomentError as exc:
        # A custom error, so the message is ours without pydantic's "Value error, ".
        raise PydanticCustomError("moment", str(exc)) from None


Moment = Annotated[datetime, AfterValidator(_moment)]
"""A date-time from a client: with its UTC offset, years 2000–2199."""
