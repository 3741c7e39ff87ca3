"""Every reason code dialtone answers with: its rule, what it means, and its statuses.

Codes are stable API (clients branch on them); messages are for people. A code cites the
TERMS.md rule(s) it applies, or none for plain request errors. ``docs/reason-codes.md`` is
generated from this table (``python -m dialtone.policy.codes > docs/reason-codes.md``) and
a test fails when it is stale; another test fails when the source raises a code that is
not listed here, or cites a rule the code is not listed with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class ReasonCode:
    """One reason code: the rules it applies, a one-line explanation, and the HTTP status
    (and SIP status, where a call is refused with it) that carry it."""

    code: str
    rules: tuple[str, ...]
    summary: str
    http_status: int
    sip_status: int | None = None

    @property
    def rule(self) -> str | None:
        """The rule, when the code applies exactly one."""
        return self.rules[0] if len(self.rules) == 1 else None


def _codes(*entries: ReasonCode) -> Mapping[str, ReasonCode]:
    table: dict[str, ReasonCode] = {}
    for entry in entries:
        if entry.code in table:
            raise ValueError(f"reason code {entry.code} listed twice")
        table[entry.code] = entry
    return MappingProxyType(dict(sorted(table.items())))


C = ReasonCode
REGISTRY: Mapping[str, ReasonCode] = _codes(
    # Calls refused at set-up (the SIP edge answers with sip_status, Reason and Warning).
    C(
        "concurrency.user_limit",
        ("V2",),
        "The user already has as many calls as channels (one unless the account bought more).",
        409,
        486,
    ),
    C(
        "caller_id.not_held",
        ("V10", "N13"),
        "The outbound caller ID is not a number the account holds.",
        403,
        403,
    ),
    C(
        "route.inactive_endpoint",
        ("N10",),
        "A number may not be forwarded to an inactive endpoint.",
        409,
        480,
    ),
    C(
        "auth.rate_limited",
        ("D2",),
        "Too many failed authentications from this address; try again later.",
        403,
        403,
    ),
    C("trunk.none", (), "No trunk can carry this call.", 503, 503),
    C("call.capacity", (), "No media ports are free; try again later.", 503, 503),
    C(
        "media.engine_unavailable",
        (),
        "The media engine (rtpengine) did not answer or refused the call's media; try again.",
        503,
        503,
    ),
    C(
        "overload.busy",
        (),
        "The platform is past its capacity: new calls are refused until it keeps up again.",
        503,
        503,
    ),
    C("call.user_unreachable", (), "The user has no registered device to ring.", 409),
    C("call.destination_invalid", (), "The number to call is not a valid E.164 number.", 400),
    C("call.engine_unavailable", (), "The call engine does not run in this process.", 503),
    C("call.not_found", (), "No such call record for this account.", 404),
    C(
        "call.answered",
        (),
        "An answered call cannot be canceled; end it with Status=completed.",
        409,
    ),
    C("call.not_twiml", (), "The call does not run TwiML: it cannot be redirected.", 409),
    C(
        "media.codec_mismatch",
        (),
        "A party answered with no codec that was offered: both legs are ended, the call failed.",
        502,
        488,
    ),
    C("recording.not_found", (), "The call has no recording.", 404),
    C("recording.not_recording", (), "The call in progress is not being recorded.", 409),
    C(
        "destination.premium_rate",
        ("V5",),
        "The destination is a premium-rate number and the account may not call those.",
        403,
        403,
    ),
    C(
        "destination.high_cost",
        ("V5",),
        "The destination is a high-cost international network and the account may not call those.",
        403,
        403,
    ),
    C(
        "destination.denied",
        ("V5",),
        "The destination is in a prefix the operator blocks.",
        403,
        403,
    ),
    C(
        "destination.invalid",
        ("V5",),
        "What was dialled, read by the caller's dialling plan, is not a valid number or "
        "short code.",
        400,
        404,
    ),
    C(
        "destination.x11_unsupported",
        ("V6",),
        "x11 services other than 911, 411 and 711 are not supported.",
        403,
        403,
    ),
    C(
        "destination.operator_assisted",
        ("V6",),
        "Operator-assisted (0+) calls are not supported.",
        403,
        403,
    ),
    C(
        "emergency.location_missing",
        ("V7",),
        "Emergency calls need the user's location registered first.",
        403,
        403,
    ),
    C(
        "emergency.country_ineligible",
        ("V7",),
        "The operator does not serve emergency calls in the registered location's country.",
        403,
        403,
    ),
    C(
        "emergency.warning_not_acknowledged",
        ("V7",),
        "The user has not acknowledged that an Internet emergency call can be misrouted.",
        403,
        403,
    ),
    C(
        "emergency.mobile_number",
        ("V7",),
        "Emergency calls are never placed from a mobile number.",
        403,
        403,
    ),
    C(
        "emergency.ai_excluded",
        ("V7",),
        "AI features never take part in an emergency call.",
        403,
        403,
    ),
    C(
        "emergency.location_invalid",
        ("V7",),
        "The emergency location needs an address, a country and the acknowledged warning.",
        400,
    ),
    C(
        "dnc.listed",
        ("V12",),
        "The number is on a do-not-call list (the account's, or for telemarketing a register).",
        403,
        403,
    ),
    C(
        "calling_window.closed",
        ("V12",),
        "Telemarketing calls are not allowed at this hour of the callee's day.",
        403,
        403,
    ),
    C(
        "ai_voice.consent_missing",
        ("V12",),
        "Calls with an artificial or AI voice need the callee's prior written consent.",
        403,
        403,
    ),
    C(
        "fair_use.short_calls",
        ("F1", "V13"),
        "Three or more days this month with over 60 calls under 15 s per user.",
        403,
        403,
    ),
    C(
        "fair_use.usage_excessive",
        ("F2",),
        "The account's usage rate is 5 times the average of unlimited plans or more.",
        403,
        403,
    ),
    C("recording.objected", ("V8",), "A party objected to the recording.", 403),
    C(
        "recording.consent_required",
        ("V8",),
        "A party is where every party must consent: play the notice before recording.",
        403,
    ),
    # Messaging (decisions for the messaging service to come).
    C("sms.premium", ("M1",), "No premium SMS or SMS+ (premium-rate numbers, short codes).", 403),
    C("sms.international", ("M1",), "Business phone plans send no international SMS.", 403),
    C("sms.too_long", ("M1",), "The message has more parts than allowed.", 400),
    C("sms.opted_out", ("M3",), "The recipient has opted out.", 403),
    C("sms.consent_missing", ("M3",), "No opt-in (marketing opt-in for marketing) on record.", 403),
    C(
        "sms.proof_overdue",
        ("M3",),
        "A proof of consent asked for was not produced within 24 hours: messaging suspended.",
        403,
    ),
    C("consent.no_proof", ("M3",), "No opt-in on record for this recipient: no proof.", 409),
    C("consent.request_not_found", (), "The account has no such proof request.", 404),
    C(
        "sms.do_not_disturb",
        ("M3",),
        "The recipient is on an opposition or do-not-disturb register.",
        403,
    ),
    C(
        "sms.content_restricted",
        ("M4",),
        "The content is in a category business plans may not send.",
        403,
    ),
    C("sms.age_restricted", ("M5",), "Age-restricted content to a recipient not of age.", 403),
    C(
        "sms.outside_daytime",
        ("M5",),
        "Age-restricted content outside the recipient's daytime hours.",
        403,
    ),
    C("sms.sender_not_owned", ("M6",), "The sender is not the account's number or sender ID.", 403),
    C("sms.bulk", ("M7",), "Bulk sending on a business phone plan.", 429),
    C(
        "sms.campaign_unregistered",
        ("M7",),
        "US application-to-person SMS from a long code needs a registered 10DLC campaign.",
        403,
    ),
    C("mobile.limit_exceeded", ("M8",), "A mobile number went over a 30-day limit.", 403),
    C("quota.exhausted", ("M11",), "A free plan reached its limit: upgrade to go on.", 402),
    C("quota.notice", ("M11",), "A quota reached 80 % or 100 % of its limit (a notice).", 409),
    # Messages.
    C("message.not_found", (), "The account has no such message.", 404),
    C("consent.not_found", (), "The account has no such consent record.", 404),
    C("sms.undelivered", (), "The carrier reports the message will not be delivered.", 502),
    C("sms.expired", (), "The message was not delivered within its validity period.", 504),
    C("sms.no_carrier", (), "No SMPP carrier takes this recipient.", 503),
    C("sms.carrier_refused", (), "The carrier refused the message.", 502),
    C("carrier.not_found", (), "No such SMPP carrier.", 404),
    C("smpp_login.not_found", (), "The account has no such SMPP login.", 404),
    C("smpp_login.taken", (), "Another login has this system_id.", 409),
    C("sender.registered", (), "The sender ID is already registered to the account.", 409),
    C("idempotency.mismatch", (), "The Idempotency-Key was used for a different request.", 409),
    # Webhooks (issue 16).
    C(
        "webhook.target_refused",
        (),
        "A webhook URL must be http(s) and reach public addresses only (SSRF guard), "
        "unless the operator allows private ones.",
        400,
    ),
    C("sms.invalid_encoding", ("M1",), "The message's bytes are not valid in its encoding.", 400),
    # Email (TERMS M9).
    C("email.suppressed", ("M9",), "The recipient is on the account's suppression list.", 403),
    C(
        "email.role_address",
        ("M9",),
        "No marketing email to role addresses (info@, webmaster@).",
        403,
    ),
    C(
        "email.sensitive_data",
        ("M9",),
        "The email asks for government ID, card or bank numbers, health or special-category data.",
        403,
    ),
    C(
        "email.postal_address_missing",
        ("M9",),
        "Marketing email carries the sender's postal address: set the account's first.",
        403,
    ),
    C(
        "email.unsubscribe_missing",
        ("M9",),
        "Marketing email needs a working one-click unsubscribe (RFC 8058).",
        403,
    ),
    C(
        "suppression.unsubscribed",
        ("M9",),
        "A recipient's unsubscribe is theirs: the account cannot lift it.",
        409,
    ),
    C("email.invalid", (), "An address, the subject or a body of the email is not valid.", 400),
    C("email.disabled", (), "No SMTP relay is configured: the platform sends no email.", 503),
    C("email.not_found", (), "The account has no such email.", 404),
    C("email.unsubscribe_invalid", (), "The unsubscribe link is not valid.", 404),
    C("email.smtp_refused", (), "The SMTP relay refused the email for good (5xx).", 502),
    C("email.smtp_unavailable", (), "The SMTP relay kept failing (4xx, no answer) for a day.", 504),
    C("suppression.not_found", (), "The address is not on the account's suppression list.", 404),
    C("dnc.invalid", (), "The do-not-call list upload is not a CSV of numbers.", 400),
    C("dnc.not_found", (), "The number is not on the account's do-not-call list.", 404),
    # Numbers.
    C("number.invalid", (), "Not a valid E.164 number.", 400),
    C("number.held", ("N2",), "The number is already held by an account.", 409),
    C("number.not_found", (), "The account holds no such number.", 404),
    C(
        "number.quarantined",
        ("N7",),
        "The number left a closed account less than 6 months ago.",
        409,
    ),
    C(
        "lifecycle.revoked_unpaid",
        ("N6",),
        "A number deactivated for non-payment was revoked.",
        410,
    ),
    C("lifecycle.quarantined", ("N7",), "A closed account's number went into quarantine.", 410),
    C("lifecycle.idle_notice", ("N8",), "A number idle for 3 months was given notice.", 409),
    C("lifecycle.reclaimed_idle", ("N8",), "An idle number was reclaimed after notice.", 410),
    C("greeting.invalid", (), "The greeting is not a PCM WAV file.", 400),
    C("greeting.too_large", (), "The greeting file is larger than allowed.", 413),
    C("greeting.too_long", (), "The greeting lasts longer than allowed.", 400),
    C("route.invalid", (), "The route's kind or target is not valid.", 400),
    C("ring_group.invalid", (), "The ring group's members or strategy are not valid.", 400),
    C("ring_group.not_found", (), "No such ring group for this account.", 404),
    # AI agents (issue 17, section A).
    C(
        "agent.invalid",
        ("A1", "A3", "A4", "D1"),
        "An agent profile field is not valid (A3: no emergency number to call; A4: nothing"
        " passing as a person).",
        400,
    ),
    C("agent.not_found", (), "No such agent for this account.", 404),
    C("agent.csv_invalid", ("A1",), "A knowledge CSV file was refused; nothing imported.", 400),
    C("agent_knowledge.not_found", (), "No such knowledge entry for this agent.", 404),
    C("agent_report.invalid", ("A4",), "An agent call report is not valid.", 400),
    C("agent_report.not_found", (), "No such agent report for this account.", 404),
    C("agent_report.conflict", (), "The call's report belongs to another account.", 409),
    # Billing (section B).
    C("billing.unknown_plan", ("B6",), "The plan is not in the operator's catalogue.", 400),
    C("billing.unknown_option", ("B17",), "The option is not in the catalogue.", 400),
    C("billing.currency", ("B7",), "Invoices are in EUR, USD or GBP.", 400),
    C("billing.country", ("B7",), "No tax rate is configured for the country.", 400),
    C("billing.payment_method", ("B7",), "Payment is by card, SEPA debit or invoice.", 400),
    C("billing.accesses", ("B6",), "A subscription has at least one access.", 400),
    C("billing.trial_accesses", ("B14",), "A trial has at most 5 accesses.", 403),
    C("billing.subscribed", (), "The account already has a subscription.", 409),
    C("billing.change", ("B6", "B17"), "Add one or more accesses, numbers or options.", 400),
    C(
        "billing.committed_accesses",
        ("B6",),
        "Accesses under commitment cannot be removed: committed accesses never decrease.",
        409,
    ),
    C("subscription.not_found", (), "The account has no subscription.", 404),
    C("payment.invalid", (), "A payment result is paid or rejected.", 400),
    C("billing.amount", (), "An amount of money is above zero and to the cent.", 400),
    C("billing.purchase_not_found", (), "No such credit purchase for this account.", 404),
    C("billing.purchase_withdrawn", (), "The credit purchase was already withdrawn.", 409),
    C(
        "billing.withdrawal_window_closed",
        ("B13",),
        "A credit purchase can be withdrawn within 24 hours only.",
        409,
    ),
    C(
        "billing.withdrawal_credits_used",
        ("B13",),
        "Credits were used since the purchase: it cannot be withdrawn.",
        409,
    ),
    C(
        "billing.withdrawal_number_assigned",
        ("B13",),
        "A number was assigned since the purchase (that counts as use).",
        409,
    ),
    C(
        "billing.withdrawal_not_refundable",
        ("B13",),
        "Subscriptions, partner, voucher, cash and administrator purchases are not refundable.",
        409,
    ),
    C(
        "billing.withdrawal_repeated_request",
        ("B13",),
        "Repeated refund requests for the same reason are refused as abuse.",
        409,
    ),
    C("billing.dispute_reason", ("B9",), "A dispute says what is disputed.", 400),
    C("billing.dispute_late", ("B9",), "A bill may be disputed within 30 days of issue.", 409),
    C("billing.dispute_not_found", (), "No such dispute.", 404),
    C("billing.dispute_decided", (), "The dispute was already decided.", 409),
    C("billing.profile_invalid", (), "A billing profile field is missing or malformed.", 400),
    C(
        "billing.price_increase_notice_too_short",
        ("B11",),
        "A price increase is announced at least 30 days ahead.",
        409,
    ),
    C(
        "billing.price_revision_over_cap",
        ("B11",),
        "An annual price revision is at most 6 %.",
        409,
    ),
    C(
        "billing.price_revision_too_frequent",
        ("B11",),
        "A price revision comes at most once a year.",
        409,
    ),
    C(
        "billing.price_change_not_announced",
        ("B11",),
        "A price change takes effect after it is announced.",
        409,
    ),
    C(
        "billing.price_change_kind_mismatch",
        ("B11",),
        "The prices contradict the kind of change (an increase that lowers the price).",
        409,
    ),
    # Service levels (S1, S4).
    C(
        "sla.invalid",
        (),
        "An SLA request or incident is not valid (month, location, cause, times).",
        400,
    ),
    C("sla.incident_not_found", (), "No such SLA incident.", 404),
    C("sla.incident_closed", (), "The incident already has an end.", 409),
    C("sla.month_open", ("S1", "S4"), "An SLA month is claimed once it is over.", 409),
    C(
        "sla.claim_late",
        ("S1", "S4"),
        "SLA credits are claimed within 30 days (S1) or one month (S4) of the month's end.",
        409,
    ),
    C("sla.nothing_due", ("S1", "S4"), "No SLA credit is due for that month and place.", 409),
    C(
        "sla.already_claimed",
        ("S1", "S4"),
        "The SLA credit for that month and location was already claimed.",
        409,
    ),
    C("sla.not_covered", ("S4",), "Trials and AI products carry no S4 service level.", 403),
    C("payment.settled", (), "The invoice is already paid.", 409),
    C(
        "billing.suspended",
        ("B10",),
        "The account is suspended after a third rejected payment; calls and API writes "
        "are refused.",
        403,
        403,
    ),
    C("billing.no_credit", ("B4",), "A prepaid plan has no credit left for the call.", 402, 402),
    C(
        "billing.trial_destination",
        ("B14",),
        "A trial calls no premium-rate or international numbers.",
        403,
        403,
    ),
    C("billing.trial_minutes", ("B14",), "The trial's 60 minutes per user are used.", 403, 403),
    C(
        "billing.smart_contacts",
        ("B15",),
        "The SMART pack reaches at most 500 distinct contacts a month.",
        429,
        403,
    ),
    C("invoice.not_found", (), "No such invoice for this account.", 404),
    C("tariff.unknown", (), "Tariffs are 'calls' and 'sms'.", 400),
    C("tariff.invalid", ("B5",), "The rate deck has errors (each with its line and column).", 400),
    C("tariff.version_exists", (), "A version of the deck already takes effect then.", 409),
    # Accounts, users, devices, trunks.
    C(
        "account.invalid",
        ("V2", "V6", "V8", "N6"),
        "An account setting is out of range (channels V2, country V6, recording V8, plan N6).",
        400,
    ),
    C("account.name_invalid", (), "The account name is empty or too long.", 400),
    C(
        "account.increment_invalid",
        ("B2",),
        "The billing increment is not first/next seconds such as 60/60.",
        400,
    ),
    C("account.not_found", (), "No such account.", 404),
    C("auth.missing", (), "The request carries no API key.", 401),
    C(
        "account.closed",
        (),
        "The account is closed: its keys read and export, they no longer change anything.",
        403,
    ),
    C("auth.invalid_key", (), "The API key is unknown, revoked or past its rotation.", 401),
    C(
        "auth.invalid_credentials",
        (),
        "HTTP Basic credentials (account SID and auth token, or API key SID and key) are wrong.",
        401,
    ),
    C("auth_token.exists", (), "The account has an auth token already: rotate it.", 409),
    C(
        "twilio.unsupported",
        (),
        "A Twilio parameter or resource dialtone does not support (named in the message).",
        400,
    ),
    C("message.in_flight", (), "A message still being sent cannot be deleted yet.", 409),
    C(
        "billing.withdrawal_reason",
        ("B13",),
        "A credit withdrawal needs a reason of 1 to 200 characters.",
        400,
    ),
    # The web console (issue 18).
    C("console.sign_in_failed", (), "The email or the password is wrong.", 401),
    C(
        "console.sign_in_limited",
        ("D2",),
        "Too many failed sign-ins from this address or for this email: wait, then retry.",
        429,
    ),
    C("console.csrf_failed", (), "A form was posted without its session's CSRF token.", 403),
    C("console.password_invalid", (), "A console password has 10 to 200 characters.", 400),
    C("console.email_missing", (), "The user has no email to sign in to the console with.", 400),
    C("console.email_taken", (), "The email already signs in to the console elsewhere.", 409),
    C("console.invitation_invalid", (), "The invitation link is used, expired or unknown.", 404),
    C("console.operator_only", (), "Only an operator of the platform may do this.", 403),
    C("console.invalid", (), "A console form field is not valid.", 400),
    C(
        "ai_monitoring.opted_out",
        ("A8",),
        "The customer opted out of the operator's monitoring of its AI calls.",
        403,
    ),
    C("api_key.invalid", (), "An API key field is not valid.", 400),
    C("api_key.not_found", (), "No such API key for this account.", 404),
    C("api_key.inactive", (), "The API key is revoked or expired: nothing to rotate.", 409),
    C(
        "api_key.rotating",
        ("D2",),
        "The API key was already rotated and is in its notice: rotate its replacement.",
        409,
    ),
    C(
        "api_key.retiring",
        ("D2",),
        "A key in its rotation notice cannot issue or rotate keys: use its replacement.",
        409,
    ),
    C(
        "credentials.rotated",
        ("D2",),
        "An API key was replaced; the old one works until its notice ends (D2).",
        401,
    ),
    C(
        "fair_use.suspended",
        ("F5",),
        "The account's unlimited plan is suspended for abuse (7 days, with a warning).",
        403,
        403,
    ),
    C(
        "fair_use.terminated",
        ("F5",),
        "The unlimited plan was terminated: the abuse was not remedied during the suspension.",
        403,
        403,
    ),
    C(
        "retention.account_open",
        ("V15",),
        "An account's records cannot be purged while its agreement runs.",
        409,
    ),
    C(
        "retention.hold",
        ("V15",),
        "Records are kept at least one calendar year after the agreement ends.",
        409,
    ),
    C("retention.purged", ("V15",), "A closed account's records were purged after retention.", 410),
    C(
        "number.declaration_invalid",
        ("N11",),
        "A number's declared intended use or end user is missing or too long.",
        400,
    ),
    C(
        "account.declaration_invalid",
        ("D3",),
        "A declaration can only be made; withdrawing one goes through the operator.",
        400,
    ),
    C(
        "recording.unreadable",
        ("D5",),
        "A sealed recording does not open: wrong key, or the file was altered.",
        500,
    ),
    C("port_in.not_found", (), "No such port-in request for this account.", 404),
    C("inventory.empty", (), "The operator has no number of that country in stock.", 409),
    C("export.not_found", (), "No such export of recordings for this account.", 404),
    C("export.confirmed", (), "The export's transfer was confirmed already: it is gone.", 409),
    C("kyc.not_found", (), "The account has sent no document of that kind.", 404),
    C(
        "kyc.correction_notice",
        ("N3",),
        "A declaration was found false or incorrect: 8 days to correct it.",
        409,
    ),
    C(
        "renumbering.notice",
        ("N14",),
        "The platform changes a number: the new one works now, the old one until the notice ends.",
        409,
    ),
    C("renumbering.done", ("N14",), "A renumbered number's notice ended: it was released.", 410),
    C(
        "port_out.completed",
        ("N5",),
        "A number ported out: its line and services ended here.",
        410,
    ),
    C(
        "caller_id.inbound_only",
        ("N13",),
        "The caller ID is an inbound-only number (bought where the account has no operations).",
        403,
        403,
    ),
    C(
        "permission.denied",
        ("D1",),
        "The caller's role does not allow this action (administrator, manager, user, "
        "scheduler, guest).",
        403,
    ),
    C(
        "permission.own_only",
        ("D1",),
        "The caller's role allows this action on its own records only (its calls, "
        "voicemail, devices).",
        403,
    ),
    C("user.invalid", ("D1", "V2"), "A user field is not valid (role D1, channels V2).", 400),
    C("user.conflict", (), "The change conflicts with another user.", 409),
    C("user.not_found", (), "No such user for this account.", 404),
    C("extension.taken", (), "Another user of the account has this extension.", 409),
    C("extension.reserved", ("V7",), "The extension is an emergency number.", 400),
    C("sip_username.taken", (), "The SIP username is taken.", 409),
    C("registration.invalid", (), "The REGISTER's contacts or expiry are not valid.", 400),
    C("trunk.invalid", (), "A trunk field is not valid.", 400),
    C("trunk.not_found", (), "No such trunk for this account.", 404),
    C("voicemail.invalid", (), "The voicemail change is not valid.", 400),
    C("voicemail.not_found", (), "No such voicemail for this account.", 404),
    C("voicemail.audio_not_found", (), "The voicemail's audio file is missing.", 404),
    # Requests.
    C("request.invalid", (), "The request body or parameters are not valid.", 400),
    C("request.invalid_cursor", (), "The paging cursor is not one this API gave.", 400),
    C("http.not_found", (), "No such route.", 404),
    C("http.method_not_allowed", (), "The route does not take this method.", 405),
    C("http.too_large", (), "The request body is too large.", 413),
    C("api.busy", (), "The API is past its capacity; try again after Retry-After.", 503),
    # The operator's /metrics (issue 19): refusals in the API's shape too.
    C("metrics.off", (), "Metrics are turned off on this worker (metrics_enabled).", 404),
    C(
        "metrics.forbidden",
        (),
        "This client's address is not in metrics_allowed_networks and no metrics_token is set.",
        403,
    ),
    C(
        "metrics.token_invalid",
        (),
        "Scraping from this address needs Authorization: Bearer <metrics_token>.",
        401,
    ),
    C(
        "http.unsupported_media_type",
        (),
        "The request body's content type is not accepted here.",
        415,
    ),
    # Number activation and portability (N3 documents, N4 port-in, N5 and N2 port-out;
    # N9's deletion fee is an amount, not a refusal). 422: the file lacks something the
    # customer must supply; 409: the request's state or timing conflicts; 403: the
    # terms forbid it.
    C(
        "kyc.documents_missing",
        ("N3",),
        "Activating the number needs identity documents not yet supplied (listed).",
        422,
    ),
    C(
        "kyc.documents_pending",
        ("N3",),
        "The number's identity documents are still under review.",
        409,
    ),
    C(
        "kyc.address_outside_zone",
        ("N3",),
        "The proof of address is outside the number's zone (its country, or the EU).",
        403,
    ),
    C(
        "kyc.correction_overdue",
        ("N3",),
        "A declaration notified as false was not fixed in time (8 days by default): service ends.",
        403,
    ),
    C(
        "port_in.incomplete",
        ("N4",),
        "The port-in file lacks the numbers or a document: it cannot start.",
        422,
    ),
    C(
        "port_in.outside_window",
        ("N4",),
        "The port date is outside the carriers' weekday window and the extra fee was not accepted.",
        422,
    ),
    C(
        "port_in.too_late_to_cancel",
        ("N4",),
        "A port-in can be cancelled only before its effective date.",
        409,
    ),
    C("port_in.wrong_state", ("N4",), "The port-in's state does not allow this step.", 409),
    C(
        "port_out.notice_too_short",
        ("N5",),
        "The new operator asked under 30 days (the notice) before the subscription period ends.",
        409,
    ),
    C(
        "port_out.after_termination",
        ("N5",),
        "The subscription is terminated: its numbers no longer port out.",
        409,
    ),
    C(
        "port_out.platform_number",
        ("N2",),
        "The number was bought from the platform and the operator lets only ported-in ones out.",
        403,
    ),
    C(
        "port_out.address_unproven",
        ("N5",),
        "No local address in the number's zone was proved at activation.",
        409,
    ),
    # Dialing patterns (F3 abnormal use, F4 autodialing, V3 one person per user account).
    C(
        "fair_use.autodialing",
        ("F4",),
        "Autodialing: consecutive numbers, more attempts than a person dials, or too many at once.",
        403,
        403,
    ),
    C(
        "fair_use.redial_pattern",
        ("F3",),
        "Excessive hang-up-and-redial: a number redialled after short calls too often in a day.",
        403,
        403,
    ),
    C(
        "fair_use.outside_normal_use",
        ("F3",),
        "The account's calling pattern is above the 95th percentile of accounts on its plan.",
        403,
        403,
    ),
    C(
        "access.shared_or_pbx",
        ("V3",),
        "A user registers from a PBX, dialer or switch, or from more addresses than one person's.",
        403,
        403,
    ),
)
del C


def reason(code: str) -> ReasonCode:
    """The registered entry of ``code``; ``KeyError`` when it is not registered."""
    return REGISTRY[code]


def markdown() -> str:
    """``docs/reason-codes.md``: every code with its rules, statuses and meaning."""
    lines = [
        "# Reason codes",
        "",
        "Generated from `src/dialtone/policy/codes.py` by",
        "`python -m dialtone.policy.codes > docs/reason-codes.md`; a test fails when this",
        "file is stale. Codes are stable API; rule IDs are those of TERMS.md.",
        "",
        "| code | rule | HTTP | SIP | meaning |",
        "|---|---|---|---|---|",
    ]
    for entry in REGISTRY.values():
        rules = ", ".join(entry.rules) or "—"
        sip = str(entry.sip_status) if entry.sip_status is not None else "—"
        lines.append(
            f"| `{entry.code}` | {rules} | {entry.http_status} | {sip} | {entry.summary} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
