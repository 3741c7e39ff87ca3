"""sipp scenarios for the call-engine tests, built per test from a few parts.

Each function returns scenario XML; the tests write it under their tmp dir. Building them
here keeps the dozens of variations (auth or not, which final response, what happens in
the dialog) readable instead of copying whole XML files that differ in one line.
"""

from __future__ import annotations

import re
from pathlib import Path

HEAD = '<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="{name}">\n'
TAIL = "</scenario>\n"

SDP = """v=0
      o=sipp 1 1 IN IP4 [local_ip]
      s=-
      c=IN IP4 [media_ip]
      t=0 0
      m=audio {port} RTP/AVP 8 0 101
      a=rtpmap:8 PCMA/8000
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15{direction}"""


PCMA_ONLY = """v=0
      o=sipp 1 1 IN IP4 [local_ip]
      s=-
      c=IN IP4 [media_ip]
      t=0 0
      m=audio {port} RTP/AVP 8 101
      a=rtpmap:8 PCMA/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15{direction}"""


def _sdp(
    port: str = "[media_port]", direction: str | None = None, *, pcma_only: bool = False
) -> str:
    template = PCMA_ONLY if pcma_only else SDP
    return template.format(port=port, direction=f"\n      a={direction}" if direction else "")


def _msg(text: str, *, retrans: bool = False) -> str:
    attr = ' retrans="500"' if retrans else ""
    return f"  <send{attr}>\n    <![CDATA[\n\n      {text.strip()}\n\n    ]]>\n  </send>\n"


def _request(
    method: str,
    uri: str,
    cseq: int,
    *,
    from_user: str,
    to_user: str,
    in_dialog: bool = False,
    body: str = "",
    content_type: str = "application/sdp",
    auth: bool = False,
    extra: tuple[str, ...] = (),
    same_branch_as: int = 0,
    routes: bool = False,
) -> str:
    # sipp's [branch] is per scenario message; [branch-N] repeats the one N messages back.
    branch = f"[branch-{same_branch_as}]" if same_branch_as else "[branch]"
    lines = [
        f"{method} {uri} SIP/2.0",
        f"Via: SIP/2.0/[transport] [local_ip]:[local_port];branch={branch}",
        *(["[routes]"] if routes else []),
        f"From: <sip:{from_user}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]",
        f"To: <sip:{to_user}@[remote_ip]:[remote_port]>"
        + ("[peer_tag_param]" if in_dialog else ""),
        "Call-ID: [call_id]",
        f"CSeq: {cseq} {method}",
        "Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>",
        "Max-Forwards: 70",
        "User-Agent: sipp-interop",
        *extra,
    ]
    if auth:
        lines.append("[authentication]")
    if body:
        lines.append(f"Content-Type: {content_type}")
    lines.append("Content-Length: [len]")
    text = "\n      ".join(lines)
    if body:
        text += "\n\n      " + body
    return text


def register(
    user: str,
    *,
    expires: int = 300,
    contact_port: str = "[local_port]",
    bad_attempts: int = 0,
    blocked: bool = False,
    refused: bool = False,
    user_agent: str | None = None,
    refused_with: str | None = None,
) -> str:
    """REGISTER, 401, REGISTER with credentials (-au/-ap), then 200 — or, with
    ``bad_attempts``, that many wrong answers (401 each) and, when ``blocked``, a 403;
    with ``refused_with``, a 403 to the authenticated REGISTER carrying that code in
    its Reason header. ``user_agent`` replaces sipp's User-Agent."""
    uri = "sip:[remote_ip]:[remote_port]"

    def reg(cseq: int, auth: bool) -> str:
        text = _request(
            "REGISTER",
            uri,
            cseq,
            from_user=user,
            to_user=user,
            auth=auth,
            extra=(f"Expires: {expires}",),
        ).replace(
            "Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>",
            f"Contact: <sip:{user}@[local_ip]:{contact_port};transport=[transport]>",
        )
        if user_agent is not None:
            text = text.replace("User-Agent: sipp-interop", f"User-Agent: {user_agent}")
        return text

    out = HEAD.format(name=f"register {user}")
    out += _msg(reg(1, False), retrans=True)
    if refused:
        return out + '  <recv response="403"/>\n' + TAIL
    out += '  <recv response="401" auth="true"/>\n'
    cseq = 2
    for _ in range(bad_attempts):
        out += _msg(reg(cseq, True), retrans=True)
        out += '  <recv response="401" auth="true"/>\n'
        cseq += 1
    if blocked:
        out += _msg(reg(cseq, True), retrans=True)
        out += (
            '  <recv response="403">\n    <action>\n'
            '      <ereg regexp="auth.rate_limited" search_in="hdr" header="Warning:"'
            ' check_it="true" assign_to="w"/>\n    </action>\n  </recv>\n'
        )
    elif refused_with is not None:
        out += _msg(reg(cseq, True), retrans=True)
        out += (
            '  <recv response="403">\n    <action>\n'
            f'      <ereg regexp="{refused_with}" search_in="hdr" header="Reason:"'
            ' check_it="true" assign_to="r"/>\n    </action>\n  </recv>\n'
        )
    elif not bad_attempts:
        out += _msg(reg(cseq, True), retrans=True)
        out += '  <recv response="200"/>\n'
    return out + TAIL


def call(
    to: str,
    *,
    from_user: str = "+14155550100",
    auth: bool = False,
    expect: int = 200,
    expect_header: tuple[str, str] | None = None,
    hold_after_ms: int | None = None,
    info_dtmf: str | None = None,
    refer_to: str | None = None,
    refer_after_ms: int = 0,
    refer_refused: str | None = None,
    pcap: str | None = None,
    then_pcap: tuple[int, str] | None = None,
    bye_after_ms: int = 1000,
    cancel_after_ms: int | None = None,
    wait_bye: bool = False,
    expect_early_media: bool = False,
    pcma_only: bool = False,
) -> str:
    """A UAC call to ``to``: INVITE (407 and again with credentials when ``auth``), then
    the expected final response; when answered, optional hold, INFO, REFER or audio, then
    BYE (or wait for the platform's BYE). ``pcma_only`` offers PCMA alone (no PCMU).
    ``then_pcap`` (a pause in ms, a pcap) plays a second recording that long after
    ``pcap`` started (a digit, then speech).
    A REFER is sent ``refer_after_ms`` after the ACK; with ``refer_refused`` (a status
    and reason code, "403 billing.suspended") the second NOTIFY must carry it, the call
    goes on and the caller hangs up."""
    uri = f"sip:{to}@[remote_ip]:[remote_port]"
    out = HEAD.format(name=f"call {to}")

    def invite(cseq: int, with_auth: bool) -> str:
        return _request(
            "INVITE",
            uri,
            cseq,
            from_user=from_user,
            to_user=to,
            body=_sdp(pcma_only=pcma_only),
            auth=with_auth,
        )

    cseq = 1
    if auth:
        out += _msg(invite(cseq, False), retrans=True)
        out += '  <recv response="100" optional="true"/>\n'
        out += '  <recv response="407" auth="true"/>\n'
        out += _msg(_ack(uri, cseq, from_user, to, invite_back=3))
        cseq += 1
    out += _msg(invite(cseq, auth), retrans=True)
    out += '  <recv response="100" optional="true"/>\n'
    if cancel_after_ms is not None:
        out += '  <recv response="180"/>\n'
        out += f'  <pause milliseconds="{cancel_after_ms}"/>\n'
        # INVITE, 100, 180, pause, CANCEL: the CANCEL is 4 messages after its INVITE.
        cancel = _request("CANCEL", uri, cseq, from_user=from_user, to_user=to, same_branch_as=4)
        out += _msg(cancel, retrans=True)
        out += '  <recv response="200"/>\n  <recv response="487"/>\n'
        out += _msg(_ack(uri, cseq, from_user, to, invite_back=7))
        return out + TAIL
    if expect_early_media:
        # A 183 with an SDP answer must come before the 200 (RFC 3960 early media).
        out += (
            '  <recv response="180" optional="true"/>\n  <recv response="183">\n'
            '    <action>\n      <ereg regexp="m=audio [1-9]" search_in="body" check_it="true"'
            ' assign_to="em"/>\n    </action>\n  </recv>\n'
        )
    else:
        out += (
            '  <recv response="180" optional="true"/>\n  <recv response="183" optional="true"/>\n'
        )
    if expect != 200:
        check = ""
        if expect_header is not None:
            header, regexp = expect_header
            check = (
                f'\n    <action>\n      <ereg regexp="{regexp}" search_in="hdr" header="{header}:"'
                ' check_it="true" assign_to="h"/>\n    </action>\n  '
            )
        out += (
            f'  <recv response="{expect}">{check}</recv>\n'
            if check
            else (f'  <recv response="{expect}"/>\n')
        )
        # INVITE, 100, 180, 183, final, ACK.
        out += _msg(_ack(uri, cseq, from_user, to, invite_back=5))
        return out + TAIL
    out += '  <recv response="200" rtd="true"/>\n'
    out += _msg(_ack(uri, cseq, from_user, to, in_dialog=True))
    if pcap is not None:
        play = f'<exec play_pcap_audio="{pcap}"/>'
        out += f"  <nop>\n    <action>\n      {play}\n    </action>\n  </nop>\n"
    if then_pcap is not None:
        pause_ms, second = then_pcap
        out += f'  <pause milliseconds="{pause_ms}"/>\n'
        play = f'<exec play_pcap_audio="{second}"/>'
        out += f"  <nop>\n    <action>\n      {play}\n    </action>\n  </nop>\n"
    if hold_after_ms is not None:
        out += f'  <pause milliseconds="{hold_after_ms}"/>\n'
        cseq += 1
        hold = _request(
            "INVITE",
            uri,
            cseq,
            from_user=from_user,
            to_user=to,
            in_dialog=True,
            body=_sdp(direction="sendonly"),
        )
        out += _msg(hold, retrans=True)
        out += '  <recv response="100" optional="true"/>\n'
        out += (
            '  <recv response="200">\n    <action>\n      <ereg regexp="a=recvonly"'
            ' search_in="body" check_it="true" assign_to="d"/>\n    </action>\n  </recv>\n'
        )
        out += _msg(_ack(uri, cseq, from_user, to, in_dialog=True))
    if info_dtmf is not None:
        cseq += 1
        info = _request(
            "INFO",
            uri,
            cseq,
            from_user=from_user,
            to_user=to,
            in_dialog=True,
            body=f"Signal={info_dtmf}\n      Duration=160",
            content_type="application/dtmf-relay",
        )
        out += _msg(info, retrans=True)
        out += '  <recv response="200"/>\n'
    if refer_to is not None:
        if refer_after_ms:
            out += f'  <pause milliseconds="{refer_after_ms}"/>\n'
        cseq += 1
        refer = _request(
            "REFER",
            uri,
            cseq,
            from_user=from_user,
            to_user=to,
            in_dialog=True,
            extra=(f"Refer-To: <sip:{refer_to}@[remote_ip]:[remote_port]>",),
        )
        out += _msg(refer, retrans=True)
        out += '  <recv response="202"/>\n'
        for frag in ("100", refer_refused or "200"):
            out += (
                '  <recv request="NOTIFY">\n    <action>\n      <ereg regexp="SIP/2.0 '
                f'{frag}" search_in="body" check_it="true" assign_to="n"/>\n    </action>\n'
                "  </recv>\n"
            )
            out += _msg(_ok_for_request())
        if refer_refused is None:
            out += '  <recv request="BYE"/>\n'
            out += _msg(_ok_for_request())
            return out + TAIL
        # Refused: the call goes on as it was, and the caller hangs up.
        cseq += 1
        bye = _request("BYE", uri, cseq, from_user=from_user, to_user=to, in_dialog=True)
        out += _msg(bye, retrans=True)
        out += '  <recv response="200" crlf="true"/>\n'
        return out + TAIL
    if wait_bye:
        out += '  <recv request="BYE"/>\n' + _msg(_ok_for_request())
        return out + TAIL
    out += f'  <pause milliseconds="{bye_after_ms}"/>\n'
    cseq += 1
    out += _msg(
        _request("BYE", uri, cseq, from_user=from_user, to_user=to, in_dialog=True), retrans=True
    )
    out += '  <recv response="200" crlf="true"/>\n'
    return out + TAIL


PCMU_ONLY = """v=0
      o=sipp 1 1 IN IP4 [local_ip]
      s=-
      c=IN IP4 [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000"""


def proxy_call(
    to: str,
    *,
    from_user: str = "+14155550100",
    hold_ms: int | None = 500,
    extra: tuple[str, ...] = (),
    pcmu_only: bool = False,
    log_hangup: bool = True,
) -> str:
    """A UAC call through a proxy (the SIP edge): ACK and BYE go to the callee's Contact
    (``[next_url]``) along the Record-Route (``[routes]``), as RFC 3261 §12.2.1.1 says;
    sipp's built-in UAC sends them to the address it called, which an edge answers 404
    (no Route of its own in them). ``extra`` headers go into the INVITE; ``hold_ms=None``
    holds for sipp's ``-d``; ``log_hangup`` logs "answered-and-hung-up <Call-ID>" for
    every call answered and hung up, which the CDR checks count."""
    uri = f"sip:{to}@[remote_ip]:[remote_port]"
    body = PCMU_ONLY if pcmu_only else _sdp()
    out = HEAD.format(name="proxy call")
    out += _msg(
        _request("INVITE", uri, 1, from_user=from_user, to_user=to, body=body, extra=extra),
        retrans=True,
    )
    out += (
        '  <recv response="100" optional="true"/>\n'
        '  <recv response="180" optional="true"/>\n'
        '  <recv response="183" optional="true"/>\n'
        '  <recv response="200" rrs="true" rtd="true"/>\n'
    )
    out += _msg(
        _request(
            "ACK", "[next_url]", 1, from_user=from_user, to_user=to, in_dialog=True, routes=True
        )
    )
    out += "  <pause/>\n" if hold_ms is None else f'  <pause milliseconds="{hold_ms}"/>\n'
    out += _msg(
        _request(
            "BYE", "[next_url]", 2, from_user=from_user, to_user=to, in_dialog=True, routes=True
        ),
        retrans=True,
    )
    if log_hangup:
        out += (
            '  <recv response="200" crlf="true">\n'
            '    <action><log message="answered-and-hung-up [call_id]"/></action>\n'
            "  </recv>\n"
        )
    else:
        out += '  <recv response="200" crlf="true"/>\n'
    return out + TAIL


def _ack(
    uri: str, cseq: int, from_user: str, to: str, *, in_dialog: bool = False, invite_back: int = 0
) -> str:
    """The ACK. For a non-2xx it belongs to the INVITE's transaction and shares its branch
    (RFC 3261 §17.1.1.3): ``invite_back`` says how many scenario messages back the INVITE
    is. The ACK for a 2xx is a new transaction with a branch of its own."""
    return _request(
        "ACK",
        uri,
        cseq,
        from_user=from_user,
        to_user=to,
        in_dialog=True,
        same_branch_as=invite_back,
    )


def _ok_for_request(status: str = "200 OK", body: str = "") -> str:
    lines = [
        f"SIP/2.0 {status}",
        "[last_Via:]",
        "[last_From:]",
        "[last_To:]",
        "[last_Call-ID:]",
        "[last_CSeq:]",
        "Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>",
    ]
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append("Content-Length: [len]")
    text = "\n      ".join(lines)
    if body:
        text += "\n\n      " + body
    return text


# The 200 retransmitted before its ACK came (a loaded machine: more than T1) gets an ACK
# of its own, which arrives after the first (RFC 3261 §13.3.1.4): legal, and a phone
# ignores it; sipp would abort the call on it. Before a <recv> only (an optional recv
# before a pause or a send would wait for a message).
STRAY_ACK = '  <recv request="ACK" optional="true"/>\n'


def phone(
    *,
    answer: bool = True,
    status: int = 200,
    ring_ms: int = 200,
    media_port: str = "[media_port]",
    expect_cancel: bool = False,
    expect_reinvite: str | None = None,
    expect_info: bool = False,
    expect_caller: str | None = None,
    expect_headers: tuple[tuple[str, str], ...] = (),
    bye_from_platform: bool = True,
    hang_up_after_ms: int | None = None,
    early_media: bool = False,
    refuse_after_ms: int = 0,
    pcap: str | None = None,
) -> str:
    """A UAS (a desk phone or a carrier): rings, then answers 200 (or ``status``); checks
    what the platform sends in the dialog; ends on the platform's BYE, or hangs up itself
    ``hang_up_after_ms`` after the ACK. ``expect_headers`` are (header, regexp) pairs the
    INVITE must match. A ``status`` other than 200 is sent ``refuse_after_ms`` after the
    INVITE (at once by default). ``pcap``: audio the phone sends once answered."""
    out = HEAD.format(name="phone")
    # One <action> per <recv>: sipp keeps only the last of several.
    eregs: list[str] = []
    if expect_caller is not None:
        eregs.append(
            f'<ereg regexp="sip:{expect_caller}@" search_in="hdr" header="From:"'
            ' check_it="true" assign_to="f"/>'
        )
    for index, (header, regexp) in enumerate(expect_headers):
        eregs.append(
            f'<ereg regexp="{regexp}" search_in="hdr" header="{header}:"'
            f' check_it="true" assign_to="h{index}"/>'
        )
    if hang_up_after_ms is not None:
        # Remember the dialog's far end, to address a BYE of our own later.
        eregs += [
            '<ereg regexp=".*" search_in="hdr" header="From:" assign_to="their_from"/>',
            '<ereg regexp=".*" search_in="hdr" header="To:" assign_to="our_to"/>',
            '<ereg regexp="sip:[^>;]*" search_in="hdr" header="Contact:"'
            ' assign_to="their_contact"/>',
        ]
    check = ""
    if eregs:
        lines = "\n      ".join(eregs)
        check = f"\n    <action>\n      {lines}\n    </action>\n  "
    out += (
        f'  <recv request="INVITE" crlf="true">{check}</recv>\n'
        if check
        else ('  <recv request="INVITE" crlf="true"/>\n')
    )
    tagged = "[last_To:];tag=[pid]SIPpTag01[call_number]"
    ringing = _ok_for_request("180 Ringing").replace("[last_To:]", tagged)
    if early_media:
        # Announcements or ringback from the far end before it answers.
        progress = _ok_for_request("183 Session Progress", _sdp(port=media_port))
        ringing = progress.replace("[last_To:]", tagged)
    if status != 200 and not expect_cancel:
        if refuse_after_ms:
            out += f'  <pause milliseconds="{refuse_after_ms}"/>\n'
        final = _ok_for_request(f"{status} Refused").replace("[last_To:]", tagged)
        out += _msg(final, retrans=True)
        out += '  <recv request="ACK"/>\n'
        return out + TAIL
    out += _msg(ringing)
    if expect_cancel or not answer:
        # The 487 answers the INVITE, whose CSeq number the CANCEL repeats; [last_CSeq:]
        # would now say CANCEL.
        out += (
            '  <recv request="CANCEL">\n    <action>\n      <ereg regexp="([0-9]+) CANCEL"'
            ' search_in="hdr" header="CSeq:" assign_to="cseqline,cseq"/>\n'
            "    </action>\n  </recv>\n"
        )
        out += _msg(_ok_for_request())
        terminated = _ok_for_request("487 Request Terminated").replace("[last_To:]", tagged)
        out += _msg(terminated.replace("[last_CSeq:]", "CSeq: [$cseq] INVITE"))
        out += '  <recv request="ACK"/>\n'
        return out + TAIL
    out += f'  <pause milliseconds="{ring_ms}"/>\n'
    ok = _ok_for_request("200 OK", _sdp(port=media_port)).replace("[last_To:]", tagged)
    # [last_*] would now name the CANCEL-free INVITE still; the 200 retransmits until ACK.
    out += _msg(ok, retrans=True)
    out += '  <recv request="ACK" crlf="true"/>\n'
    if pcap is not None:
        play = f'<exec play_pcap_audio="{pcap}"/>'
        out += f"  <nop>\n    <action>\n      {play}\n    </action>\n  </nop>\n"
    if expect_reinvite is not None:
        out += STRAY_ACK
        out += (
            '  <recv request="INVITE">\n    <action>\n      <ereg regexp="a='
            f'{expect_reinvite}" search_in="body" check_it="true" assign_to="r"/>\n'
            "    </action>\n  </recv>\n"
        )
        out += _msg(_ok_for_request("200 OK", _sdp(port=media_port, direction="recvonly")))
        out += '  <recv request="ACK"/>\n'
    if expect_info:
        out += STRAY_ACK
        out += (
            '  <recv request="INFO">\n    <action>\n      <ereg regexp="Signal=5"'
            ' search_in="body" check_it="true" assign_to="i"/>\n    </action>\n  </recv>\n'
        )
        out += _msg(_ok_for_request())
    if hang_up_after_ms is not None:
        out += f'  <pause milliseconds="{hang_up_after_ms}"/>\n'
        bye = "\n      ".join(
            [
                "BYE [$their_contact] SIP/2.0",
                "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]",
                "From: [$our_to];tag=[pid]SIPpTag01[call_number]",
                "To: [$their_from]",
                "Call-ID: [call_id]",
                "CSeq: 1 BYE",
                "Max-Forwards: 70",
                "Content-Length: 0",
            ]
        )
        out += _msg(bye, retrans=True) + '  <recv response="200"/>\n'
        return out + TAIL
    if bye_from_platform:
        out += STRAY_ACK + '  <recv request="BYE"/>\n' + _msg(_ok_for_request())
    return out + TAIL


def write(directory: Path, name: str, xml: str) -> Path:
    """Write a scenario to ``directory/name`` and return its path."""
    path = directory / name
    path.write_text(_with_references(xml))
    return path


def _with_references(xml: str) -> str:
    """Declare every check-only variable as used: sipp refuses to start on a variable
    assigned but never referenced."""
    names = sorted(set(re.findall(r'assign_to="([^"]+)"', xml)))
    if not names:
        return xml
    ref = f'  <Reference variables="{",".join(names)}"/>\n'
    return xml.replace(TAIL, ref + TAIL)
