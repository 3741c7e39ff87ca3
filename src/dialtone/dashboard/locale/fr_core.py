"""The console's foundation in French: the frame (base.html, the menu of render.py), sign-in
and invitations, errors, the overview, the calls and their detail, the operator's
accounts; the notices and the refusals these pages show (services/accounts/
console_access.py, dashboard/forms.py, the A8 refusal of pages/calls.py); and the words of
records shown through ``t(...)``: call directions and outcomes, live states, roles, leg
kinds, account states, the AI agent's outcomes and speakers."""

from __future__ import annotations

FRENCH: dict[str, str] = {
    # The frame: base.html and render.py's MENU.
    "Skip to the content": "Aller au contenu",
    "Operator": "Opérateur",
    "All accounts": "Tous les comptes",
    "Sign out": "Se déconnecter",
    "Language": "Langue",
    "Change": "Changer",
    "Main menu": "Menu principal",
    "Overview": "Vue d’ensemble",
    "Calls": "Appels",
    "Voicemail": "Messagerie vocale",
    "Numbers": "Numéros",
    "Users and devices": "Utilisateurs et appareils",
    "Ring groups": "Groupes d'appel",
    "Trunks": "Trunks",
    "AI agents": "Agents IA",
    "Messages": "Messages",
    "Billing": "Facturation",
    "Audit log": "Journal d’audit",
    "Settings": "Paramètres",
    # Sign-in and invitations: sign_in.html, invitation.html, pages/sign_in.py.
    "Sign in to dialtone": "Se connecter à dialtone",
    "Sign in": "Se connecter",
    "Email": "Adresse e-mail",
    "Password": "Mot de passe",
    "No password yet? Ask your administrator for an invitation link.": (
        "Pas encore de mot de passe ? Demandez un lien d’invitation à votre administrateur."
    ),
    "Welcome, {name}": "Bienvenue, {name}",
    "Set your password": "Choisissez votre mot de passe",
    "Choose a password to sign in as {email}.": (
        "Choisissez un mot de passe pour vous connecter en tant que {email}."
    ),
    "Password (10 characters or more)": "Mot de passe (10 caractères ou plus)",
    "The same password again": "Le même mot de passe, à nouveau",
    "Set the password and sign in": "Enregistrer le mot de passe et se connecter",
    "The two passwords differ.": "Les deux mots de passe sont différents.",
    # Errors: error.html and the refusals the foundation's pages show.
    "Refused": "Refusé",
    "Error": "Erreur",
    "Something went wrong": "Une erreur s’est produite",
    "Code": "Code",
    "Rule": "Règle",
    "Status": "Statut",
    "Back": "Retour",
    "The email or the password is wrong.": "L’adresse e-mail ou le mot de passe est incorrect.",
    "Too many failed sign-ins: wait a few minutes, then try again.": (
        "Trop de tentatives de connexion échouées : patientez quelques minutes, puis réessayez."
    ),
    "A password has 10 to 200 characters.": "Un mot de passe compte de 10 à 200 caractères.",
    "The user needs an email to sign in to the console.": (
        "L’utilisateur doit avoir une adresse e-mail pour se connecter à la console."
    ),
    "This invitation link is used, expired or unknown.": (
        "Ce lien d’invitation a déjà servi, a expiré ou est inconnu."
    ),
    "Only an operator opens other accounts.": ("Seul un opérateur peut ouvrir d’autres comptes."),
    "Only an operator of the platform may do this.": (
        "Seul un opérateur de la plateforme peut faire cela."
    ),
    "An email address is needed.": "Une adresse e-mail est nécessaire.",
    "This form was not sent from its page (CSRF token missing or wrong): reload the page and "
    "send it again.": (
        "Ce formulaire n’a pas été envoyé depuis sa page (jeton CSRF absent ou incorrect) :"
        " rechargez la page et envoyez-le à nouveau."
    ),
    "Figures": "Chiffres",
    "Calls in progress": "Appels en cours",
    "Calls today": "Appels aujourd’hui",
    "Answered today": "Répondus aujourd’hui",
    "Minutes used of included": "Minutes utilisées sur les minutes incluses",
    "Credit balance": "Solde de crédits",
    "Open invoices": "Factures ouvertes",
    "Latest calls": "Derniers appels",
    "All calls": "Tous les appels",
    "Charts": "Graphiques",
    "Calls per day": "Appels par jour",
    "Minutes per day": "Minutes par jour",
    "{count} calls": "{count} appels",
    # Calls: calls.html, _call_rows.html, _live_calls.html, call.html, pages/calls.py.
    "Filter the calls": "Filtrer les appels",
    "Direction": "Sens",
    "Any": "Tous",
    "Outcome": "Résultat",
    "Number contains": "Le numéro contient",
    "From (day)": "Du (jour)",
    "To (day)": "Au (jour)",
    "Filter": "Filtrer",
    "Clear": "Effacer",
    "History": "Historique",
    "Older calls": "Appels plus anciens",
    "Started": "Début",
    "From": "De",
    "To": "Vers",
    "Duration": "Durée",
    "Recording": "Enregistrement",
    "yes": "oui",
    "No calls.": "Aucun appel.",
    "State": "État",
    "No call in progress.": "Aucun appel en cours.",
    "Call {id}": "Appel {id}",
    "Answered": "Répondu",
    "Ended": "Fin",
    "{n} s billed": "{n} s facturées",
    "Leg chain (V11)": "Chaîne des segments (V11)",
    "Kind": "Type",
    "Id": "Identifiant",
    "Source": "Source",
    "Device": "Appareil",
    "No legs were recorded.": "Aucun segment n’a été enregistré.",
    "Recording of the call": "Enregistrement de l’appel",
    "Download": "Télécharger",
    "AI agent transcript": "Transcription de l’agent IA",
    "Machine-generated (V9)": "Généré automatiquement (V9)",
    "Summary": "Résumé",
    "The transcript is withheld.": "La transcription n’est pas communiquée.",
    # The operator's accounts: accounts.html, pages/accounts.py.
    "You are acting as the administrator of {name}.": (
        "Vous agissez en tant qu’administrateur de {name}."
    ),
    "Leave this account": "Quitter ce compte",
    "Account": "Compte",
    "Users": "Utilisateurs",
    "Created": "Créé le",
    "Action": "Action",
    "Open {name}": "Ouvrir {name}",
    "Open": "Ouvrir",
    "No accounts yet.": "Aucun compte pour l’instant.",
    "billing suspended": "facturation suspendue",
    "You act as this account's administrator.": (
        "Vous agissez en tant qu’administrateur de ce compte."
    ),
    # Words of records, shown as t(value): directions, outcomes, live states.
    "inbound": "entrant",
    "outbound": "sortant",
    "internal": "interne",
    "completed": "terminé",
    "no-answer": "sans réponse",
    "busy": "occupé",
    "failed": "échec",
    "canceled": "annulé",
    "interrupted": "interrompu",
    "ringing": "sonne",
    "in-progress": "en cours",
    "queued": "en file d'attente",
    # Roles (TERMS D1) and the operator, in the header.
    "administrator": "administrateur",
    "manager": "gestionnaire",
    "user": "utilisateur",
    "scheduler": "planificateur",
    "guest": "invité",
    "operator": "opérateur",
    # Leg kinds of the chain (V11).
    "trunk": "trunk",
    "device": "appareil",
    "number": "numéro",
    # Account states.
    "active": "actif",
    "suspended": "suspendu",
    "closed": "fermé",
    # The AI agent's outcomes and speakers (call.html).
    "booked": "rendez-vous pris",
    "message": "message pris",
    "transferred": "transféré",
    "answered": "répondu",
    "abandoned": "abandonné",
    "caller": "appelant",
    "agent": "agent",
    "The agent's report": "Le rapport de l'agent",
    "public": "Réseau public",
    "Audit log of every account": "Journal d'audit de tous les comptes",
}
