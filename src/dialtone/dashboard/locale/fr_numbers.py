"""French words of the numbers, ring groups and trunks pages."""

FRENCH: dict[str, str] = {
    # Numbers: the list and one number.
    "(runs instead of the route)": "(s'exécute à la place de la route)",
    "A declaration was notified as false: correct it by {at}, or the service ends (N3).": (
        "Une déclaration a été signalée comme fausse : corrigez-la avant le {at}, sinon le "
        "service prend fin (N3)."
    ),
    "A greeting (PCM WAV file, 10 MiB at most)": "Une annonce (fichier WAV PCM, 10 Mio au plus)",
    "A ring group": "Un groupe d'appel",
    "A user's devices": "Les appareils d'un utilisateur",
    "A user's id (user, voicemail), a ring group's id, an AI agent's id, or a number in "
    "E.164 to forward to; nothing for the greeting.": (
        "L'identifiant d'un utilisateur (utilisateur, messagerie vocale), d'un groupe "
        "d'appel, d'un agent IA, ou un numéro E.164 vers lequel transférer ; rien pour "
        "l'annonce."
    ),
    "AI agent": "Agent IA",
    "Activated": "Activé le",
    "An AI agent": "Un agent IA",
    "Built-in greeting": "Annonce intégrée",
    "Calls go to": "Les appels vont vers",
    "Country": "Pays",
    "Country of the address (proof of address)": "Pays de l'adresse (justificatif de domicile)",
    "Create the port-in request": "Créer la demande de portage entrant",
    "Custom greeting": "Annonce personnalisée",
    "Deactivated for non-payment: revoked on {at} unless paid": (
        "Désactivé pour impayé : retiré le {at} sauf paiement"
    ),
    "Document": "Document",
    "Effective": "Date d'effet",
    "End user (N11)": "Utilisateur final (N11)",
    "Endpoints of the account": "Destinations du compte",
    "File (PDF or image, 10 MiB at most)": "Fichier (PDF ou image, 10 Mio au plus)",
    "Forward to a number": "Transfert vers un numéro",
    "Greeting": "Annonce",
    "Id": "Identifiant",
    "Identity documents (N3)": "Pièces d'identité (N3)",
    "Inbound only (N13)": "Appels entrants uniquement (N13)",
    "Intended use (N11)": "Usage prévu (N11)",
    "Kind": "Type",
    "Leased": "Loué le",
    "Message": "Message",
    "No document sent yet.": "Aucun document envoyé pour l'instant.",
    "No port-in requests.": "Aucune demande de portage entrant.",
    "No port-out was asked.": "Aucun portage sortant n'a été demandé.",
    "No traffic for 3 months: reclaimed on {at} unless used": (
        "Aucun trafic depuis 3 mois : repris le {at} sauf utilisation"
    ),
    "None": "Aucune",
    "Notices": "Avis",
    "Number": "Numéro",
    "Numbers": "Numéros",
    "Numbers to bring over (one a line, E.164)": "Numéros à porter (un par ligne, E.164)",
    "Outcome": "Résultat",
    "Port-ins (N4)": "Portages entrants (N4)",
    "Port-outs (N5)": "Portages sortants (N5)",
    "Received": "Reçu le",
    "Request": "Demande",
    "Reviewer's note": "Note de l'examinateur",
    "Ring group": "Groupe d'appel",
    "Ring time": "Durée de sonnerie",
    "Ring time before voicemail, in seconds ({min}–{max}; empty: {default})": (
        "Durée de sonnerie avant la messagerie vocale, en secondes ({min}–{max} ; vide : {default})"
    ),
    "Route": "Route",
    "Rule": "Règle",
    "Save the route": "Enregistrer la route",
    "Send the document": "Envoyer le document",
    "Send the greeting": "Envoyer l'annonce",
    "State": "État",
    "Target": "Cible",
    "The account holds no numbers yet.": "Le compte ne détient encore aucun numéro.",
    "The account is closed: the number goes to quarantine for 6 months": (
        "Le compte est clos : le numéro part en quarantaine pour 6 mois"
    ),
    "The account's numbers": "Les numéros du compte",
    "The default": "Celle par défaut",
    "The document is sent: it waits for review.": (
        "Le document est envoyé : il attend d'être examiné."
    ),
    "The documents, the submission and the date are sent over the API (/v1/port-ins).": (
        "Les documents, la soumission et la date s'envoient par l'API (/v1/port-ins)."
    ),
    "The greeting is saved.": "L'annonce est enregistrée.",
    "The number plays the built-in greeting.": "Le numéro diffuse l'annonce intégrée.",
    "The port-in request is created as a draft.": (
        "La demande de portage entrant est créée à l'état de brouillon."
    ),
    "The route is saved: the next call follows it.": (
        "La route est enregistrée : le prochain appel la suit."
    ),
    "TwiML": "TwiML",
    "Type": "Type",
    "Use the built-in greeting": "Utiliser l'annonce par défaut",
    "User": "Utilisateur",
    "Voicemail": "Messagerie vocale",
    "Voicemail box for unanswered calls": "Boîte vocale des appels sans réponse",
    "When": "Quand",
    "Where calls go": "Où vont les appels",
    "{n} s": "{n} s",
    # Values shown through t(): number types, states, documents, port-ins, outcomes.
    "random": "aléatoire",
    "custom": "personnalisé",
    "ported": "porté",
    "active": "actif",
    "awaiting documents": "en attente de documents",
    "deactivated": "désactivé",
    "company_registration": "extrait d'immatriculation de la société",
    "identity": "pièce d'identité",
    "proof_of_address": "justificatif de domicile",
    "pending": "en attente",
    "approved": "approuvé",
    "rejected": "refusé",
    "draft": "brouillon",
    "submitted": "soumis",
    "scheduled": "planifié",
    "completed": "terminé",
    "cancelled": "annulé",
    "refused": "refusé",
    "enforced": "appliqué",
    # Ring groups.
    "Action": "Action",
    "Create the ring group": "Créer le groupe d'appel",
    "Created": "Créé le",
    "Delete": "Supprimer",
    "Delete {name}": "Supprimer {name}",
    "Members (they ring in this order)": "Membres (ils sonnent dans cet ordre)",
    "Members, in ring order": "Membres, dans l'ordre de sonnerie",
    "Name": "Nom",
    "New ring group": "Nouveau groupe d'appel",
    "No ring groups yet.": "Aucun groupe d'appel pour l'instant.",
    "Numbers routed to a deleted group play their greeting again (N10).": (
        "Les numéros routés vers un groupe supprimé diffusent de nouveau leur annonce (N10)."
    ),
    "Ring groups": "Groupes d'appel",
    "Seconds each member rings ({min}–{max})": ("Secondes de sonnerie par membre ({min}–{max})"),
    "Strategy": "Stratégie",
    "The account has no users who take calls.": (
        "Le compte n'a aucun utilisateur qui prend des appels."
    ),
    "The ring group is created.": "Le groupe d'appel est créé.",
    "The ring group is deleted.": "Le groupe d'appel est supprimé.",
    "parallel": "simultanée",
    "sequential": "séquentielle",
    "{n} s each": "{n} s chacun",
    "administrator": "administrateur",
    "manager": "gestionnaire",
    "user": "utilisateur",
    "scheduler": "planificateur",
    "guest": "invité",
    # Trunks.
    "A password is set: leave empty to keep it.": (
        "Un mot de passe est défini : laissez vide pour le conserver."
    ),
    "Add the trunk": "Ajouter le trunk",
    "Address": "Adresse",
    "Authentication username (empty: the username)": (
        "Nom d'utilisateur d'authentification (vide : le nom d'utilisateur)"
    ),
    "Caller ID format": "Format du numéro présenté",
    "Change {name}": "Modifier {name}",
    "Clear the password": "Effacer le mot de passe",
    "Enabled": "Activé",
    "Host (the carrier's address or name)": "Hôte (adresse ou nom de l'opérateur)",
    "Never shown again once saved.": "Jamais réaffiché une fois enregistré.",
    "New trunk": "Nouveau trunk",
    "No password is set.": "Aucun mot de passe n'est défini.",
    "Password": "Mot de passe",
    "Password (write-only)": "Mot de passe (en écriture seule)",
    "Port": "Port",
    "Priority": "Priorité",
    "Priority (lower is tried first)": "Priorité (la plus basse est essayée d'abord)",
    "Register with the provider (needs a username and a password)": (
        "S'enregistrer auprès de l'opérateur (nom d'utilisateur et mot de passe requis)"
    ),
    "Registrar host (empty: the host)": "Hôte du registrar (vide : l'hôte)",
    "Registrar port (empty: the port)": "Port du registrar (vide : le port)",
    "Registration": "Enregistrement",
    "Registration lifetime asked, in seconds (60–86400)": (
        "Durée d'enregistrement demandée, en secondes (60–86400)"
    ),
    "Remove": "Retirer",
    "Remove {name}": "Retirer {name}",
    "Save the trunk": "Enregistrer le trunk",
    "The account has no trunks of its own.": "Le compte n'a aucun trunk propre.",
    "The account's trunks": "Les trunks du compte",
    "The trunk is added.": "Le trunk est ajouté.",
    "The trunk is changed.": "Le trunk est modifié.",
    "The trunk is removed.": "Le trunk est retiré.",
    "Transport": "Transport",
    "Trunks": "Trunks",
    "Username": "Nom d'utilisateur",
    "does not register": "ne s'enregistre pas",
    "failed": "échec",
    "no": "non",
    "not set": "non défini",
    "registered": "enregistré",
    "registering": "enregistrement en cours",
    "set": "défini",
    "until {at}": "jusqu'au {at}",
    "yes": "oui",
}
