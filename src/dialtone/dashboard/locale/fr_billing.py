"""The billing and SLA pages in French (pages/billing.py, pages/sla.py and their
templates), with the values they show through ``t`` (invoice kinds and states, payment
methods and outcomes, purchase channels, incident causes and sources)."""

from __future__ import annotations

FRENCH: dict[str, str] = {
    # billing.html
    "Billing": "Facturation",
    "Subscription": "Abonnement",
    "Plan": "Offre",
    "{n} access(es)": "{n} accès",
    "Current period": "Période en cours",
    "Commitment ends": "Fin de l'engagement",
    "Included minutes used": "Minutes incluses consommées",
    "Included minutes left": "Minutes incluses restantes",
    "Credit balance": "Solde de crédits",
    "Subscription ends": "Fin de l'abonnement",
    "notice given on {day}": "résiliation demandée le {day}",
    "See the draft of the next invoice": "Voir le brouillon de la prochaine facture",
    "This account has no subscription billed by dialtone.": (
        "Ce compte n'a pas d'abonnement facturé par dialtone."
    ),
    "Invoices": "Factures",
    "Number": "Numéro",
    "Kind": "Type",
    "Period": "Période",
    "Issued": "Émise le",
    "Due": "Échéance",
    "Status": "Statut",
    "Total": "Total",
    "PDF": "PDF",
    "Download {number} as PDF": "Télécharger {number} en PDF",
    "Download": "Télécharger",
    "No invoice issued yet.": "Aucune facture émise pour l'instant.",
    "Payments": "Paiements",
    "Date": "Date",
    "Invoice": "Facture",
    "Method": "Moyen de paiement",
    "Amount": "Montant",
    "Outcome": "Résultat",
    "Reason": "Motif",
    "No payment yet.": "Aucun paiement pour l'instant.",
    "Credit purchases": "Achats de crédits",
    "A purchase made here may be withdrawn within 24 hours, while none of its credits were "
    "used (B13).": (
        "Un achat fait ici peut être rétracté dans les 24 heures, tant qu'aucun de ses "
        "crédits n'a été utilisé (B13)."
    ),
    "Bought": "Acheté le",
    "Channel": "Canal",
    "Withdrawn": "Retiré le",
    "Withdraw": "Retirer",
    "Why withdraw it": "Pourquoi vous vous rétractez",
    "No credits bought yet.": "Aucun crédit acheté pour l'instant.",
    "Disputes": "Contestations",
    "Opened": "Ouverte le",
    "Agreed amount": "Montant accordé",
    "No dispute.": "Aucune contestation.",
    "Dispute an invoice": "Contester une facture",
    "An invoice may be disputed within 30 days of its issue; it stays payable meanwhile (B9).": (
        "Une facture peut être contestée dans les 30 jours suivant son émission ; elle "
        "reste due pendant ce temps (B9)."
    ),
    "What is disputed": "Ce que vous contestez",
    "Open the dispute": "Ouvrir la contestation",
    "Billing profile": "Profil de facturation",
    "Who invoices are made out to. Issued invoices keep the details they were issued with.": (
        "À qui les factures sont adressées. Les factures déjà émises gardent les "
        "coordonnées de leur émission."
    ),
    "Legal name": "Raison sociale",
    "Postal address": "Adresse postale",
    "VAT number": "Numéro de TVA",
    "Save": "Enregistrer",
    "No billing profile yet.": "Aucun profil de facturation pour l'instant.",
    "Termination": "Résiliation",
    "Notice was given: the subscription ends on {day}.": (
        "La résiliation est demandée : l'abonnement prend fin le {day}."
    ),
    "Giving notice ends the subscription at the anniversary it reaches; a committed plan "
    "ends at its commitment's end when notice comes 30 days before (B12).": (
        "Résilier met fin à l'abonnement à la date anniversaire suivante ; une offre avec "
        "engagement prend fin au terme de l'engagement si vous résiliez au moins 30 jours "
        "avant (B12)."
    ),
    "Give notice and end the subscription? This cannot be undone here.": (
        "Résilier et mettre fin à l'abonnement ? Vous ne pourrez pas l'annuler ici."
    ),
    "Give notice": "Résilier",
    # billing_invoice.html and pages/billing.py
    "Invoice {number}": "Facture {number}",
    "Draft invoice": "Brouillon de facture",
    "Download the PDF": "Télécharger le PDF",
    "The document": "Le document",
    # Notices after a form (pages/billing.py)
    "The credit purchase is withdrawn and refunded.": (
        "L'achat de crédits est rétracté et remboursé."
    ),
    "Your dispute is open; the invoice stays payable meanwhile.": (
        "Votre contestation est ouverte ; la facture reste due pendant ce temps."
    ),
    "Your notice is recorded.": "Votre résiliation est enregistrée.",
    "Invoices issued from now on carry these details.": (
        "Les factures émises à partir de maintenant porteront ces coordonnées."
    ),
    # sla.html and pages/sla.py
    "SLA": "Niveau de service (SLA)",
    "Choose the month": "Choisir le mois",
    "Month": "Mois",
    "Show": "Afficher",
    "Months are read in {zone} unless a location has its own zone.": (
        "Les mois sont comptés dans le fuseau {zone}, sauf pour un site qui a le sien."
    ),
    "Availability in {month}": "Disponibilité en {month}",
    "Whole service (S4)": "Service entier (S4)",
    "S4 credit it would give": "Avoir S4 correspondant",
    "Availability per location": "Disponibilité par site",
    "Location": "Site",
    "Downtime (min)": "Indisponibilité (min)",
    "S1 service days": "Jours de service S1",
    "Availability": "Disponibilité",
    "No incident this month: every location was available.": (
        "Aucun incident ce mois-ci : tous les sites étaient disponibles."
    ),
    "Availability per month": "Disponibilité par mois",
    "Incidents in {month}": "Incidents en {month}",
    "Start": "Début",
    "End": "Fin",
    "Cause": "Cause",
    "Source": "Source",
    "Note": "Note",
    "ongoing": "en cours",
    "No incident this month.": "Aucun incident ce mois-ci.",
    "Credit claims": "Demandes d'avoir",
    "Claimed": "Demandé le",
    "Rule": "Règle",
    "Credit": "Avoir",
    "Detail": "Détail",
    "Credited on": "Déduit sur",
    "invoice": "facture",
    "the next invoice": "la prochaine facture",
    "No claim yet.": "Aucune demande pour l'instant.",
    "Claim a credit": "Demander un avoir",
    "S1: service days for one location's month, within 30 days of its end. S4: a "
    "percentage of the month's invoice, within one month. A month is claimed once it is "
    "over.": (
        "S1 : des jours de service pour le mois d'un site, dans les 30 jours suivant sa "
        "fin. S4 : un pourcentage de la facture du mois, dans le mois qui suit. Un mois se "
        "réclame une fois terminé."
    ),
    "S1: downtime at a location": "S1 : indisponibilité d'un site",
    "S4: availability of the service": "S4 : disponibilité du service",
    "Location (S1 only)": "Site (S1 seulement)",
    "Claim": "Demander",
    "Your claim is recorded: the credit reduces your next invoice.": (
        "Votre demande est enregistrée : l'avoir sera déduit de votre prochaine facture."
    ),
    # The overview's money charts (pages/overview.py, from services/billing/overview.py)
    "Spend per day": "Dépenses par jour",
    # Values shown through t(): invoices, payments, purchases, disputes, incidents.
    "credit_note": "avoir",
    "draft": "brouillon",
    "issued": "émise",
    "paid": "payée",
    "card": "carte bancaire",
    "sepa_debit": "prélèvement SEPA",
    "bacs_debit": "prélèvement Bacs",
    "rejected": "refusé",
    "pending": "en attente",
    "self_service": "en libre-service",
    "subscription": "abonnement",
    "partner": "partenaire",
    "voucher": "bon d'achat",
    "cash": "espèces",
    "admin_assigned": "attribué par l'administrateur",
    "open": "ouverte",
    "agreed": "accordée",
    "platform": "plateforme",
    "beyond_control": "hors de notre contrôle",
    "customer": "client",
    "third_party": "tiers",
    "site_power": "alimentation du site",
    "site_internet": "accès internet du site",
    "customer_hardware": "matériel du client",
    "third_party_carrier": "opérateur tiers",
    "maintenance": "maintenance",
    "force_majeure": "force majeure",
    "outdated_app": "application obsolète",
    "reported": "signalé",
    "health_check": "contrôle de santé",
}
