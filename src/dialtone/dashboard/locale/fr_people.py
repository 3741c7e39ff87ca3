"""French for the users and devices, voicemail, messages and audit log pages.

Words the foundation's pages also say (menu labels, "Status", "Code", "Rule", roles,
call states, "refused", "active"…) are in ``fr_core`` and not repeated here."""

from __future__ import annotations

from dialtone.policy.emergency import MISROUTING_WARNING

FRENCH: dict[str, str] = {
    # Users and devices
    "A custom greeting": "Une annonce personnalisée",
    "A new random password is made and shown once; the old one stops working.": (
        "Un nouveau mot de passe aléatoire est créé et affiché une seule fois ; "
        "l'ancien cesse de fonctionner."
    ),
    "Add a user": "Ajouter un utilisateur",
    "Add the user": "Ajouter l'utilisateur",
    "Address": "Adresse",
    "Change the user": "Modifier l'utilisateur",
    "Console access": "Accès à la console",
    "Contact": "Contact",
    "Country (ISO code, e.g. FR)": "Pays (code ISO, par ex. FR)",
    "Devices registered now": "Appareils enregistrés en ce moment",
    "Emergency location (V7)": "Adresse pour les appels d'urgence (V7)",
    "Expires": "Expire",
    "Extension": "Poste",
    "I have read the warning above": "J'ai lu l'avertissement ci-dessus",
    "Invitation link (valid three days, once):": (
        "Lien d'invitation (valable trois jours, une seule fois) :"
    ),
    "Invited": "Invité",
    "It is shown this once: copy it into the device now. Devices using the old password "
    "stop registering.": (
        "Il n'est affiché qu'une fois : copiez-le maintenant dans l'appareil. Les appareils "
        "qui utilisent l'ancien mot de passe ne s'enregistrent plus."
    ),
    "It is shown this once: send it to the user.": (
        "Il n'est affiché qu'une fois : envoyez-le à l'utilisateur."
    ),
    "Make an invitation link": "Créer un lien d'invitation",
    "Name": "Nom",
    "New SIP password for {username}:": "Nouveau mot de passe SIP de {username} :",
    "No device is registered now.": "Aucun appareil n'est enregistré en ce moment.",
    "No location: emergency calls from this user are refused.": (
        "Aucune adresse : les appels d'urgence de cet utilisateur sont refusés."
    ),
    "No users yet.": "Aucun utilisateur pour l'instant.",
    "No access": "Aucun accès",
    "Not set": "Non défini",
    "Register the location": "Enregistrer l'adresse",
    "Remove the location": "Supprimer l'adresse",
    "Remove the user": "Supprimer l'utilisateur",
    "Delete {name}": "Supprimer {name}",
    "Reset the SIP password": "Réinitialiser le mot de passe SIP",
    "Role": "Rôle",
    "SIP credentials": "Identifiants SIP",
    "SIP password": "Mot de passe SIP",
    "SIP username": "Identifiant SIP",
    "Save": "Enregistrer",
    "Set": "Défini",
    "Signs in": "Se connecte",
    "Simultaneous calls": "Appels simultanés",
    "The built-in greeting": "L'annonce par défaut",
    "The link lets the user choose a password and sign in; earlier links stop working.": (
        "Le lien permet à l'utilisateur de choisir un mot de passe et de se connecter ; "
        "les liens précédents cessent de fonctionner."
    ),
    "Their numbers stay the account's; routes that rang them play the greeting.": (
        "Ses numéros restent au compte ; les routes qui le faisaient sonner diffusent l'annonce."
    ),
    "Use the built-in greeting": "Utiliser l'annonce par défaut",
    "Voicemail greeting": "Annonce de messagerie vocale",
    "disabled": "désactivé",
    "registered {when}": "enregistrée le {when}",
    "The user was added.": "L'utilisateur a été ajouté.",
    "The user was changed.": "L'utilisateur a été modifié.",
    "The user was removed.": "L'utilisateur a été supprimé.",
    "The emergency location was registered.": "L'adresse pour les urgences a été enregistrée.",
    "The emergency location was removed.": "L'adresse pour les urgences a été supprimée.",
    "The voicemail greeting is the built-in one again.": (
        "L'annonce de messagerie vocale est de nouveau celle par défaut."
    ),
    MISROUTING_WARNING: (
        "Un appel d'urgence passé par Internet peut aboutir au mauvais centre de secours, "
        "ou à aucun, si l'adresse enregistrée n'est pas celle où vous vous trouvez, si la "
        "connexion Internet ou le courant est coupé, ou si le service est suspendu. Tenez "
        "votre adresse à jour et gardez un autre moyen d'appeler les secours."
    ),
    # Voicemail
    "All messages": "Tous les messages",
    "Call": "Appel",
    "Delete": "Supprimer",
    "Filter the messages": "Filtrer les messages",
    "From {caller}": "De {caller}",
    "Heard messages": "Messages écoutés",
    "Machine-generated transcript (V9): it can be wrong": (
        "Transcription générée automatiquement (V9) : elle peut être erronée"
    ),
    "Mark as new": "Marquer comme nouveau",
    "Mark heard": "Marquer comme écouté",
    "Message from {caller}": "Message de {caller}",
    "New messages": "Nouveaux messages",
    "No messages.": "Aucun message.",
    "Number called": "Numéro appelé",
    "Show": "Afficher",
    "heard": "écouté",
    "new": "nouveau",
    "The message was marked heard.": "Le message a été marqué comme écouté.",
    "The message was marked new.": "Le message a été marqué comme nouveau.",
    "The message was deleted.": "Le message a été supprimé.",
    # Messages
    "All senders": "Tous les expéditeurs",
    "Conversation with {party}": "Conversation avec {party}",
    "Conversations": "Conversations",
    "Covers marketing messages": "Couvre les messages marketing",
    "Every SMS rule applies: a refused message is not sent and the page says which rule "
    "refused it.": (
        "Toutes les règles des SMS s'appliquent : un message refusé n'est pas envoyé et la "
        "page indique la règle qui l'a refusé."
    ),
    "Find": "Chercher",
    "Find a recipient": "Chercher un destinataire",
    "Given": "Donné le",
    "Keyword": "Mot-clé",
    "Last message": "Dernier message",
    "Marketing": "Marketing",
    "Marketing message (needs a marketing opt-in, M3)": (
        "Message marketing (exige un consentement marketing, M3)"
    ),
    "No": "Non",
    "No messages with this number.": "Aucun message avec ce numéro.",
    "No messages yet.": "Aucun message pour l'instant.",
    "No opt-ins recorded.": "Aucun consentement enregistré.",
    "No opt-outs.": "Aucune désinscription.",
    "Only the recipient lifts an opt-out, by sending START.": (
        "Seul le destinataire lève une désinscription, en envoyant START."
    ),
    "Opt-ins (M3)": "Consentements (M3)",
    "Opt-ins and opt-outs": "Consentements et désinscriptions",
    "Opt-outs (M3)": "Désinscriptions (M3)",
    "Opted back in": "Réinscrit le",
    "Opted out": "Désinscrit le",
    "Opted out ({keyword}) on {when}: messages to this number are refused (M3).": (
        "Désinscrit ({keyword}) le {when} : les messages vers ce numéro sont refusés (M3)."
    ),
    "Parts": "Parties",
    "Recipient": "Destinataire",
    "Record an opt-in": "Enregistrer un consentement",
    "Record an opt-out": "Enregistrer une désinscription",
    "Record the opt-in": "Enregistrer le consentement",
    "Record the opt-out": "Enregistrer la désinscription",
    "Send": "Envoyer",
    "Send an SMS": "Envoyer un SMS",
    "Sender": "Expéditeur",
    "Sender (empty: all of the account's)": "Expéditeur (vide : tous ceux du compte)",
    "Text": "Texte",
    "When": "Quand",
    "Where it was given": "Où il a été donné",
    "With": "Avec",
    "Withdraw": "Retirer",
    "Withdrawn": "Retiré le",
    "Wording": "Formulation",
    "Yes": "Oui",
    "queued": "en file d'attente",
    "sending": "en cours d'envoi",
    "sent": "envoyé",
    "delivered": "remis",
    "undelivered": "non remis",
    "expired": "expiré",
    "The message was accepted: it is sent in the background.": (
        "Le message a été accepté : il est envoyé en arrière-plan."
    ),
    "The opt-in was recorded.": "Le consentement a été enregistré.",
    "The opt-in was withdrawn.": "Le consentement a été retiré.",
    "The opt-out was recorded.": "La désinscription a été enregistrée.",
    # Audit log
    "Actor": "Auteur",
    "Details": "Détails",
    "Every refusal and every action the platform took under the terms, newest first.": (
        "Chaque refus et chaque mesure prise par la plateforme en application des "
        "conditions, les plus récents en premier."
    ),
    "Filter the audit log": "Filtrer le journal d'audit",
    "Message": "Message",
    "No event matches these filters.": "Aucun événement ne correspond à ces filtres.",
    "Nothing on the audit log.": "Le journal d'audit est vide.",
    "Older events": "Événements plus anciens",
    "Time": "Heure",
    "enforced": "appliqué",
    "flagged": "signalé",
}
