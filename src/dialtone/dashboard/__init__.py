"""The web console (issue 18): server-rendered pages for people, over the services the API
uses (no second copy of a rule). Signed in with a session cookie; every page checks the
same D1 permissions as the API (``api.deps.Caller``); every form carries its session's
CSRF token. English and French. See docs/console.md."""
