"""The built-in call applications (see ``dialtone.call.application``)."""
