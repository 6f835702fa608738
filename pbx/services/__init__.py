"""Services the CLI and the Telegram bot call; storage and validation sit beneath them."""

from pbx.services.provisioning import (
    CallSummary,
    NewEmployee,
    Provisioning,
    SipCredentials,
    digest_hashes,
)
from storage.companies import Company
from storage.employees import Employee
from storage.numbers import Number
from storage.trunks import Trunk

__all__ = [
    "CallSummary",
    "Company",
    "Employee",
    "NewEmployee",
    "Number",
    "Provisioning",
    "SipCredentials",
    "Trunk",
    "digest_hashes",
]
