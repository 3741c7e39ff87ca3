"""Adapters to services dialtone does not run: card payments (Stripe), speech-to-text
(any OpenAI-compatible HTTP server) and the health probe of the SLA (our own SIP and
HTTP, asked from outside the process). Each module is one small ``Protocol``, the real
adapter and a fake behind it, so services, runtime and tests depend on the Protocol and
a test never needs the network. Nothing here touches the store."""
