"""French for the settings pages (recording policy, AI quality monitoring, messaging,
API keys, the viewer's language and password)."""

from __future__ import annotations

FRENCH: dict[str, str] = {
    # settings.html
    "Settings": "Paramètres",
    "Your language and password": "Votre langue et votre mot de passe",
    "Account": "Compte",
    "Name": "Nom",
    "Account id": "Identifiant du compte",
    "Recording policy (V8)": "Politique d'enregistrement (V8)",
    "AI quality monitoring (A8)": "Contrôle de la qualité de l'IA (A8)",
    "Allowed": "Autorisé",
    "Opted out by the customer": "Refusé par le client",
    "Calls are recorded only after a notice to the parties, or where the law of every "
    "party's place lets one party consent.": "Les appels ne sont enregistrés qu'après un "
    "avis aux parties, ou là où la loi du lieu de chaque partie permet le consentement "
    "d'une seule partie.",
    "Record the account's calls": "Enregistrer les appels du compte",
    "Off: calls are not recorded": "Désactivé : les appels ne sont pas enregistrés",
    "After a notice to every party, both legs recorded": "Après un avis à chaque partie, "
    "les deux côtés enregistrés",
    "Without the notice where one party's consent is enough, after it elsewhere": "Sans "
    "avis là où le consentement d'une partie suffit, après l'avis ailleurs",
    "Save the recording policy": "Enregistrer la politique d'enregistrement",
    "The platform's operator may read the reports and transcripts of the calls your AI "
    "agents answer, to check their quality. You may opt out: the operator then cannot "
    "read them; you still can.": "L'opérateur de la plateforme peut lire les rapports et "
    "les transcriptions des appels auxquels répondent vos agents IA, pour en contrôler la "
    "qualité. Vous pouvez le refuser : l'opérateur ne peut alors plus les lire ; vous, si.",
    "Opt out of the operator's AI quality monitoring": "Refuser le contrôle de la qualité "
    "de l'IA par l'opérateur",
    "Save my choice": "Enregistrer mon choix",
    "Only the customer makes this choice.": "Seul le client fait ce choix.",
    "Messaging": "Messagerie",
    "Postal address (M9)": "Adresse postale (M9)",
    "Every marketing email carries it. Empty: the account sends no marketing email.": "Chaque "
    "e-mail marketing la porte. Vide : le compte n'envoie aucun e-mail marketing.",
    "Save the postal address": "Enregistrer l'adresse postale",
    "Inbound SMS webhook URL": "URL du webhook des SMS entrants",
    "Inbound SMS are POSTed there, signed. Empty: nowhere.": "Les SMS entrants y sont envoyés "
    "par POST, signés. Vide : nulle part.",
    "Save the SMS webhook": "Enregistrer le webhook SMS",
    "API keys": "Clés d'API",
    "Prefix": "Préfixe",
    "Acts as": "Agit en tant que",
    "State": "État",
    "Created": "Créé le",
    "Action": "Action",
    "The account (administrator)": "Le compte (administrateur)",
    "Active": "Active",
    "Rotated, works": "Remplacée, fonctionne",
    "Expired": "Expirée",
    "Revoked": "Révoquée",
    "until {moment}": "jusqu'au {moment}",
    "stop the old key now": "arrêter l'ancienne clé tout de suite",
    "Rotate the key {prefix}": "Remplacer la clé {prefix}",
    "Rotate": "Remplacer",
    "Revoke the key {prefix}": "Révoquer la clé {prefix}",
    "Revoke": "Révoquer",
    "No API keys.": "Aucune clé d'API.",
    "Issue a key": "Créer une clé",
    "What the key is for": "À quoi sert la clé",
    "Issue the key": "Créer la clé",
    # settings_key.html
    "Your new API key": "Votre nouvelle clé d'API",
    "Copy the key now: it is shown this once, and never again.": "Copiez la clé maintenant : "
    "elle n'est affichée que cette fois, et plus jamais.",
    "API key": "Clé d'API",
    "Replaces": "Remplace",
    "which stops working at {moment}": "qui cesse de fonctionner le {moment}",
    # settings_me.html
    "Your sign-in": "Votre connexion",
    "Console language": "Langue de la console",
    "Language": "Langue",
    "The browser's": "Celle du navigateur",
    "Save the language": "Enregistrer la langue",
    "Password": "Mot de passe",
    "Current password": "Mot de passe actuel",
    "New password": "Nouveau mot de passe",
    "At least {n} characters. Your other sessions are signed out.": "Au moins {n} caractères. "
    "Vos autres sessions sont déconnectées.",
    "New password again": "Nouveau mot de passe, à nouveau",
    "Change the password": "Changer le mot de passe",
    "An operator's language is the header's choice; it is not saved here.": "La langue "
    "d'un opérateur est celle choisie en haut de page ; elle n'est pas enregistrée ici.",
    # notices and refusals
    "The recording policy is saved.": "La politique d'enregistrement est enregistrée.",
    "Your choice on AI quality monitoring is saved.": "Votre choix sur le contrôle de la "
    "qualité de l'IA est enregistré.",
    "The postal address is saved.": "L'adresse postale est enregistrée.",
    "The SMS webhook is saved.": "Le webhook SMS est enregistré.",
    "The API key is revoked.": "La clé d'API est révoquée.",
    "Your console language is saved.": "La langue de votre console est enregistrée.",
    "Your password is changed; your other sessions are signed out.": "Votre mot de passe est "
    "changé ; vos autres sessions sont déconnectées.",
    "The opt-out of AI quality monitoring is the customer's own choice: an operator cannot "
    "change it.": "Le refus du contrôle de la qualité de l'IA est le choix du client : un "
    "opérateur ne peut pas le modifier.",
    "The current password is wrong.": "Le mot de passe actuel est erroné.",
}
