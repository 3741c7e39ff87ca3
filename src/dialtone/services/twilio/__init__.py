"""The Twilio-compatible surface's services (issue 16): accounts' auth tokens, SID views
(API keys as ``SK…``, recordings as ``RE…``), the map from reason codes to Twilio's
error numbers, and the listings the API pages through."""
