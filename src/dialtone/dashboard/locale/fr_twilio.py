"""French for the settings of the Twilio-compatible API (credentials, auth token,
each number's TwiML and callback URLs)."""

from __future__ import annotations

FRENCH: dict[str, str] = {
    # twilio.html
    "Settings": "Paramètres",
    "Twilio-compatible API": "API compatible Twilio",
    "Account credentials": "Identifiants du compte",
    "A client written for Twilio works here: give it this Account SID, the auth token "
    "and this base URL.": "Un client écrit pour Twilio fonctionne ici : donnez-lui cet "
    "Account SID, le jeton d'authentification et cette URL de base.",
    "Account SID": "Account SID",
    "API base URL": "URL de base de l'API",
    "Copy the new token now: it is shown this once.": "Copiez le nouveau jeton maintenant : "
    "il n'est affiché que cette fois.",
    "Keep the token secret: whoever holds it acts as the account.": "Gardez ce jeton secret : "
    "quiconque le détient agit au nom du compte.",
    "Auth token": "Jeton d'authentification",
    "The old token stops working at {moment}.": "L'ancien jeton cesse de fonctionner le {moment}.",
    "The old token no longer works.": "L'ancien jeton ne fonctionne plus.",
    "The account has no auth token yet: rotate to issue its first.": "Le compte n'a pas "
    "encore de jeton d'authentification : renouvelez pour émettre le premier.",
    "Show the auth token": "Afficher le jeton d'authentification",
    "Rotate the auth token (D2)": "Renouveler le jeton d'authentification (D2)",
    "Stop the old token now (a suspected compromise)": "Arrêter l'ancien jeton maintenant "
    "(compromission soupçonnée)",
    "Otherwise the old token keeps working for the notice while your clients switch.": (
        "Sinon, l'ancien jeton fonctionne encore pendant le préavis, le temps que vos "
        "clients changent."
    ),
    "Rotate the auth token": "Renouveler le jeton d'authentification",
    "Numbers": "Numéros",
    "A number with a Voice URL runs the TwiML found there instead of its route. An empty "
    "URL clears it.": "Un numéro doté d'une Voice URL exécute le TwiML qui s'y trouve au lieu "
    "de sa route. Une URL vide l'efface.",
    "Voice URL": "Voice URL (appels)",
    "Voice method": "Méthode de la Voice URL",
    "SMS URL": "URL des SMS",
    "Status callback URL": "URL de rappel d'état",
    "Save the Twilio settings of {number}": "Enregistrer les paramètres Twilio de {number}",
    "Save": "Enregistrer",
    "Number": "Numéro",
    "The account has no numbers.": "Le compte n'a aucun numéro.",
    # pages/twilio.py
    "The number's Twilio settings are saved.": "Les paramètres Twilio du numéro sont enregistrés.",
}
