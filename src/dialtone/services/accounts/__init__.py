"""Accounts and what belongs to one as a whole: API keys, the audit log, the API error log,
the account's data (export, purge) and its recordings' export."""
