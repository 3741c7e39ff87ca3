"""The sans-I/O call core: legs, connects, calls and call applications.

A call is a state machine in the style of ``dialtone.sip.transaction`` (and h11): the
runtime feeds it events (``call.events``), each with ``now``, and executes the actions it
returns (``call.actions``). Nothing here opens a socket, reads a clock, draws a random
number or touches the store: ids, tags, Call-IDs and delays come from an ``Ids`` factory
and the signalling path object passed in. See docs/architecture.md, "The call core".
"""
