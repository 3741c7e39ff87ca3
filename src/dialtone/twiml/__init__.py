"""TwiML, Twilio's markup for calls and messages, as a pure package (issue 16).

``parse`` reads a document into the frozen verbs of ``verbs`` (``defusedxml``: no
entities, no DTDs) and checks every attribute, failing with ``errors.TwimlError``
carrying Twilio's error number; ``interpreter.TwimlApplication`` runs a voice document
as a call application (``dialtone.call.application``), everything outside it (HTTP,
speech, storage) asked of the runtime as ``tasks``; ``messaging`` says what an answer to
an inbound message sends; ``params`` builds Twilio's webhook parameters in one place.
No I/O, no clock, no randomness: the runtime does those.
"""
