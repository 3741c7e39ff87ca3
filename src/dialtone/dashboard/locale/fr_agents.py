"""French for the AI agents pages (profiles, knowledge, call reports)."""

from __future__ import annotations

FRENCH: dict[str, str] = {
    # agents.html
    "AI agents": "Agents IA",
    "Reports of the calls the agents answered": "Rapports des appels auxquels les agents "
    "ont répondu",
    "Name": "Nom",
    "Purpose": "Rôle",
    "Languages": "Langues",
    "Numbers routed to it": "Numéros dirigés vers lui",
    "Created": "Créé le",
    "none": "aucun",
    "No AI agents yet.": "Aucun agent IA pour l'instant.",
    "A number is answered by an agent when its route is the agent (Numbers).": "Un agent "
    "répond à un numéro quand la route du numéro est l'agent (Numéros).",
    "New agent": "Nouvel agent",
    "Business name": "Nom de l'entreprise",
    "Language tags separated by commas, e.g. en-US, fr-FR.": "Codes de langue séparés par "
    "des virgules, par exemple fr-FR, en-US.",
    "Time zone": "Fuseau horaire",
    "An IANA name, e.g. Europe/Paris.": "Un nom IANA, par exemple Europe/Paris.",
    "The greeting and instructions come from the purpose's template; change them on the "
    "agent's page.": "L'annonce et les instructions viennent du modèle du rôle ; modifiez-les "
    "sur la page de l'agent.",
    "Create the agent": "Créer l'agent",
    "Sales": "Ventes",
    "Marketing": "Marketing",
    "Customer service": "Service client",
    "Technical support": "Support technique",
    "Custom": "Sur mesure",
    # agent.html
    "Greeting": "Annonce",
    "Opening hours": "Heures d'ouverture",
    "Monday": "Lundi",
    "Tuesday": "Mardi",
    "Wednesday": "Mercredi",
    "Thursday": "Jeudi",
    "Friday": "Vendredi",
    "Saturday": "Samedi",
    "Sunday": "Dimanche",
    "Transfers to": "Transfère vers",
    "Takes messages": "Prend des messages",
    "yes": "oui",
    "no": "non",
    "Dialog": "Dialogue",
    "This agent's call reports": "Les rapports d'appel de cet agent",
    "Knowledge": "Connaissances",
    "Question": "Question",
    "Answer": "Réponse",
    "Action": "Action",
    "Delete the entry {n}": "Supprimer l'entrée {n}",
    "Delete": "Supprimer",
    "No knowledge entries yet.": "Aucune entrée de connaissances pour l'instant.",
    "Add the entry": "Ajouter l'entrée",
    "Change the agent": "Modifier l'agent",
    "Said after the fixed notice that the caller speaks with an AI (A2), which no greeting "
    "replaces.": "Dit après l'avis fixe indiquant à l'appelant qu'il parle à une IA (A2), "
    "qu'aucune annonce ne remplace.",
    "Instructions": "Instructions",
    "Save the agent": "Enregistrer l'agent",
    "Delete the agent": "Supprimer l'agent",
    "Numbers routed to it go back to their greeting.": "Les numéros dirigés vers lui "
    "reviennent à leur annonce.",
    # agent_reports.html, agent_report.html
    "AI agent reports": "Rapports des agents IA",
    "AI agent report {id}": "Rapport d'agent IA {id}",
    "AI-generated (A4)": "Généré par IA (A4)",
    "AI-generated": "Généré par IA",
    "Summaries are written by an AI and can be wrong.": "Les résumés sont écrits par une IA "
    "et peuvent être faux.",
    "Filter the reports": "Filtrer les rapports",
    "Agent": "Agent",
    "Outcome": "Résultat",
    "Filter": "Filtrer",
    "Started": "Début",
    "Ended": "Fin",
    "From": "De",
    "To": "Vers",
    "Summary": "Résumé",
    "deleted agent": "agent supprimé",
    "No reports yet.": "Aucun rapport pour l'instant.",
    "Older reports": "Rapports plus anciens",
    "Call": "Appel",
    "Answered by the rules": "Réponses des règles",
    "Transcript": "Transcription",
    "Machine-generated (V9)": "Généré automatiquement (V9)",
    "The transcript is withheld: the call could not be transcribed (V8).": "La transcription "
    "est retenue : l'appel ne pouvait pas être transcrit (V8).",
    "Nothing was said.": "Rien n'a été dit.",
    "Appointment booked": "Rendez-vous pris",
    "Message taken": "Message pris",
    "Transferred": "Transféré",
    "Answered": "Répondu",
    "Abandoned": "Abandonné",
    "Caller": "Appelant",
    "AI agent": "Agent IA",
    # notices and refusals
    "The agent is saved.": "L'agent est enregistré.",
    "The agent is deleted; numbers routed to it answer with their greeting.": "L'agent est "
    "supprimé ; les numéros dirigés vers lui répondent avec leur annonce.",
    "The knowledge entry is added.": "L'entrée de connaissances est ajoutée.",
    "The knowledge entry is deleted.": "L'entrée de connaissances est supprimée.",
    "The customer opted out of the operator's monitoring of its AI calls.": "Le client a "
    "refusé le contrôle de ses appels IA par l'opérateur.",
}
