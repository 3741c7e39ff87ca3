"""Billing: subscriptions, tariffs, usage, rating, the ledger, invoices and their
documents, collections (cards, SEPA), contract changes, billing profiles, SLA credits."""
