#!/usr/bin/perl
# An SMSC simulator for the tests: what a carrier runs, built on Net::SMPP (Debian's
# libnet-smpp-perl), so the PDUs on the wire are encoded and decoded by code we did not
# write. tests/peers/smsc.py starts it and reads its log; see that file for the protocol
# of the control port.
#
#   smsc.pl --port P --control-port C --system-id S --password W --log FILE
#           [--dlr-delay SECONDS] [--host 127.0.0.1]
#
# One process, one select loop: the SMPP listener, every SMPP session, the control port
# and its clients, and a queue of deliver_sm (receipts and MO) due at a time. A
# deliver_sm due while no receiver (bind_receiver or bind_transceiver) is bound waits for
# one, as an SMSC stores what it cannot deliver yet.
use strict;
use warnings;

use Encode qw(decode);
use Getopt::Long;
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use Net::SMPP;
use POSIX qw(strftime);
use Time::HiRes qw(time);

my %opt = (host => '127.0.0.1', 'dlr-delay' => 0.2);
GetOptions(\%opt, 'host=s', 'port=i', 'control-port=i', 'system-id=s', 'password=s',
           'log=s', 'dlr-delay=f')
    or die "usage: smsc.pl --port P --control-port C --system-id S --password W --log FILE\n";
for my $required (qw(port control-port system-id password log)) {
    die "smsc.pl: --$required is required\n" unless defined $opt{$required};
}
$Net::SMPP::trace = 0;

# Command ids and statuses (SMPP 3.4 §5.1.2, §5.1.3) this simulator uses.
use constant {
    BIND_RECEIVER => 0x00000001, BIND_TRANSMITTER => 0x00000002, SUBMIT_SM => 0x00000004,
    DELIVER_SM => 0x00000005, DELIVER_SM_RESP => 0x80000005, UNBIND => 0x00000006,
    BIND_TRANSCEIVER => 0x00000009, ENQUIRE_LINK => 0x00000015,
    SUBMIT_SM_RESP => 0x80000004, GENERIC_NACK => 0x80000000,
    ESME_ROK => 0x00, ESME_RINVCMDID => 0x03, ESME_RINVBNDSTS => 0x04,
    ESME_RINVPASWD => 0x0E, ESME_RINVSYSID => 0x0F, ESME_RTHROTTLED => 0x58,
};
my %BIND_MODE = (BIND_RECEIVER, 'rx', BIND_TRANSMITTER, 'tx', BIND_TRANSCEIVER, 'trx');
# message_state values (SMPP 3.4 §5.2.28) for the stat: word of a receipt.
my %MESSAGE_STATE = (ENROUTE => 1, DELIVRD => 2, EXPIRED => 3, DELETED => 4,
                     UNDELIV => 5, ACCEPTD => 6, UNKNOWN => 7, REJECTD => 8);

my $listener = Net::SMPP->new_listen($opt{host}, port => $opt{port}, async => 1,
                                     system_id => $opt{'system-id'})
    or die "smsc.pl: cannot listen on $opt{host}:$opt{port}: $!\n";
my $control = IO::Socket::INET->new(LocalAddr => $opt{host}, LocalPort => $opt{'control-port'},
                                    Listen => 5, ReuseAddr => 1, Proto => 'tcp')
    or die "smsc.pl: cannot listen on control port $opt{'control-port'}: $!\n";
open(my $log, '>>', $opt{log}) or die "smsc.pl: cannot open $opt{log}: $!\n";
$log->autoflush(1);
my $json = JSON::PP->new->canonical;

my $select = IO::Select->new($listener, $control);
my %sessions;          # fileno => { sock, id, mode (undef until bound), system_id }
my %control_clients;   # fileno => { sock, buffer }
my @outbox;            # deliver_sm waiting: { due, args => [...] }, in the order queued
my $session_count = 0;
# What the control port set: see smsc.py.
my %state = (throttle => 0, drop_after => 0, drop_answer => 1, stat => 'DELIVRD',
             err => '000', dlr_delay => $opt{'dlr-delay'});
# Message ids: digits only (a carrier's ids often are, and Kannel may read them as
# numbers), unique in one run and unlikely to repeat across runs of the same test.
my $id_base = int(time() * 1000) % 1_000_000_000;
my $id_counter = 0;

$SIG{TERM} = $SIG{INT} = sub { exit 0 };

while (1) {
    my $wait = 0.5;
    if (@outbox) {
        my $soonest = (sort { $a <=> $b } map { $_->{due} } @outbox)[0];
        $wait = $soonest - time() if $soonest - time() < $wait;
        $wait = 0 if $wait < 0;
    }
    for my $ready ($select->can_read($wait)) {
        if ($ready == $listener) { accept_session() }
        elsif ($ready == $control) { accept_control() }
        elsif ($sessions{fileno $ready}) { read_session($sessions{fileno $ready}) }
        elsif ($control_clients{fileno $ready}) { read_control($control_clients{fileno $ready}) }
    }
    flush_outbox();
}

sub accept_session {
    my $sock = $listener->accept or return;
    $sessions{fileno $sock} = { sock => $sock, id => ++$session_count, mode => undef };
    $select->add($sock);
}

sub close_session {
    my ($session) = @_;
    $select->remove($session->{sock});
    delete $sessions{fileno $session->{sock}};
    $session->{sock}->close;
}

sub read_session {
    my ($session) = @_;
    # Net::SMPP reads one whole PDU, blocking until its last byte: a peer sends PDUs whole.
    my $pdu = $session->{sock}->read_pdu;
    if (!$pdu) { close_session($session); return }
    my $entry = describe($session, $pdu);
    my $cmd = $pdu->{cmd};
    my $sock = $session->{sock};
    if ($BIND_MODE{$cmd}) {
        my $status = $pdu->{system_id} ne $opt{'system-id'} ? ESME_RINVSYSID
                   : $pdu->{password} ne $opt{password}   ? ESME_RINVPASWD
                   : ESME_ROK;
        my $respond = { BIND_RECEIVER, 'bind_receiver_resp', BIND_TRANSMITTER,
                        'bind_transmitter_resp', BIND_TRANSCEIVER,
                        'bind_transceiver_resp' }->{$cmd};
        $entry->{answer} = { status => $status };
        write_log($entry);
        $sock->$respond(seq => $pdu->{seq}, status => $status, system_id => $opt{'system-id'});
        # A refused bind ends the connection, as most SMSCs do.
        if ($status == ESME_ROK) { $session->{mode} = $BIND_MODE{$cmd} }
        else { close_session($session) }
    } elsif ($cmd == SUBMIT_SM) {
        submit($session, $pdu, $entry);
    } elsif ($cmd == ENQUIRE_LINK) {
        write_log($entry);
        $sock->enquire_link_resp(seq => $pdu->{seq});
    } elsif ($cmd == UNBIND) {
        write_log($entry);
        $sock->unbind_resp(seq => $pdu->{seq});
        close_session($session);
    } elsif ($cmd & 0x80000000) {
        write_log($entry);  # a response (deliver_sm_resp, enquire_link_resp): logged only
    } else {
        $entry->{answer} = { status => ESME_RINVCMDID };
        write_log($entry);
        $sock->generic_nack(seq => $pdu->{seq}, status => ESME_RINVCMDID);
    }
}

sub submit {
    my ($session, $pdu, $entry) = @_;
    my $sock = $session->{sock};
    my ($status, $message_id) = (ESME_ROK, undef);
    if (!$session->{mode} || $session->{mode} eq 'rx') {
        $status = ESME_RINVBNDSTS;
    } elsif ($state{throttle} > 0) {
        $state{throttle}--;
        $status = ESME_RTHROTTLED;
    } else {
        $message_id = $id_base + ++$id_counter;
    }
    my $drop = $state{drop_after} > 0 && --$state{drop_after} == 0;
    my $answer = !$drop || $state{drop_answer};
    # Logged before it is answered: a test that saw the answer finds the line.
    $entry->{answer} = { status => $status,
                         defined $message_id ? (message_id => "$message_id") : () } if $answer;
    $entry->{dropped} = JSON::PP::true if $drop;
    write_log($entry);
    if ($answer && $status == ESME_ROK) {
        $sock->submit_sm_resp(seq => $pdu->{seq}, message_id => $message_id);
    } elsif ($answer) {
        # An error response has no body (SMPP 3.4 §4.4.2): Net::SMPP's resp_backend
        # writes the header alone when given no body.
        $sock->resp_backend(SUBMIT_SM_RESP, '', $sock, seq => $pdu->{seq}, status => $status);
    }
    if (defined $message_id && ($pdu->{registered_delivery} & 0x03)) {
        queue_receipt($pdu, "$message_id");
    }
    close_session($session) if $drop;
}

# A delivery receipt (SMPP 3.4 §5.2.12 esm_class 0x04, Appendix B text form) for the
# submit_sm $pdu that got $message_id, with receipted_message_id and message_state TLVs.
sub queue_receipt {
    my ($pdu, $message_id) = @_;
    my $now = strftime('%y%m%d%H%M', localtime);
    my $body = $pdu->{short_message} // '';
    $body = substr($body, 1 + ord($body)) if ($pdu->{esm_class} & 0x40) && length $body;
    # The receipt's text: the first 20 characters, as ASCII (others as dots).
    $body = decode('UTF-16BE', $body) if $pdu->{data_coding} == 0x08;
    (my $text = substr($body, 0, 20)) =~ s/[^\x20-\x7e]/./g;
    my $delivered = $state{stat} eq 'DELIVRD' ? '001' : '000';
    my $receipt = "id:$message_id sub:001 dlvrd:$delivered submit date:$now done date:$now "
                . "stat:$state{stat} err:$state{err} text:$text";
    push @outbox, { due => time() + $state{dlr_delay}, args => [
        source_addr_ton => $pdu->{dest_addr_ton}, source_addr_npi => $pdu->{dest_addr_npi},
        source_addr => $pdu->{destination_addr},
        dest_addr_ton => $pdu->{source_addr_ton}, dest_addr_npi => $pdu->{source_addr_npi},
        destination_addr => $pdu->{source_addr},
        esm_class => 0x04, data_coding => 0x00, short_message => $receipt,
        receipted_message_id => "$message_id\0",
        message_state => pack('C', $MESSAGE_STATE{$state{stat}} // 7),
    ] };
}

# Send each deliver_sm that is due to the first bound receiver; the rest wait.
sub flush_outbox {
    my ($receiver) = sort { $a->{id} <=> $b->{id} }
                     grep { $_->{mode} && $_->{mode} ne 'tx' } values %sessions;
    return unless $receiver;
    my $now = time();
    my @waiting;
    for my $item (@outbox) {
        if ($item->{due} <= $now) { $receiver->{sock}->deliver_sm(@{ $item->{args} }) }
        else { push @waiting, $item }
    }
    @outbox = @waiting;
}

# One log line's fields for a received PDU: TLVs are the numeric keys Net::SMPP's
# decoder leaves on the PDU (it stores every optional parameter under its tag).
sub describe {
    my ($session, $pdu) = @_;
    my $name = Net::SMPP::pdu_tab->{$pdu->{cmd}} ? $pdu->explain_cmd
             : sprintf('unknown_0x%08x', $pdu->{cmd});
    my %entry = (command => $name, command_id => $pdu->{cmd}, status => $pdu->{status},
                 seq => $pdu->{seq}, session => $session->{id}, time => time());
    if ($BIND_MODE{$pdu->{cmd}}) {
        @entry{qw(system_id password system_type)} = @{$pdu}{qw(system_id password system_type)};
    } elsif ($pdu->{cmd} == SUBMIT_SM || $pdu->{cmd} == DELIVER_SM) {
        %entry = (%entry, source => $pdu->{source_addr}, dest => $pdu->{destination_addr},
                  source_ton => $pdu->{source_addr_ton}, dest_ton => $pdu->{dest_addr_ton},
                  data_coding => $pdu->{data_coding}, esm_class => $pdu->{esm_class},
                  registered_delivery => $pdu->{registered_delivery},
                  short_message => unpack('H*', $pdu->{short_message} // ''));
    } elsif ($pdu->{cmd} == DELIVER_SM_RESP) {
        $entry{message_id} = $pdu->{message_id};
    }
    $entry{tlvs} = { map { sprintf('0x%04x', $_) => unpack('H*', $pdu->{$_}) }
                     grep { /^\d+$/ } keys %$pdu };
    return \%entry;
}

sub write_log { print {$log} $json->encode($_[0]), "\n" }

sub accept_control {
    my $sock = $control->accept or return;
    $control_clients{fileno $sock} = { sock => $sock, buffer => '' };
    $select->add($sock);
}

sub read_control {
    my ($client) = @_;
    my $got = sysread($client->{sock}, $client->{buffer}, 4096, length $client->{buffer});
    if (!$got) {
        $select->remove($client->{sock});
        delete $control_clients{fileno $client->{sock}};
        $client->{sock}->close;
        return;
    }
    while ($client->{buffer} =~ s/^([^\n]*)\n//) {
        my $reply = control_command(split ' ', $1);
        syswrite($client->{sock}, "$reply\n");
    }
}

# One control command; its one-line reply starts "ok" or "error".
sub control_command {
    my ($verb, @args) = @_;
    $verb //= '';
    if ($verb eq 'ping') { return 'ok' }
    if ($verb eq 'throttle' && @args == 1) { $state{throttle} = $args[0]; return 'ok' }
    if ($verb eq 'drop' && (@args == 1 || @args == 2)) {
        $state{drop_after} = $args[0];
        $state{drop_answer} = !(@args == 2 && $args[1] eq 'unanswered');
        return 'ok';
    }
    if ($verb eq 'receipt' && @args == 2 && exists $MESSAGE_STATE{$args[0]}) {
        @state{qw(stat err)} = @args;
        return 'ok';
    }
    if ($verb eq 'dlr-delay' && @args == 1) { $state{dlr_delay} = $args[0]; return 'ok' }
    if ($verb eq 'mo' && @args == 5) {
        my ($source, $dest, $coding, $esm_class, $hex) = @args;
        my $bytes = pack('H*', $hex eq '-' ? '' : $hex);
        # Longer than short_message holds (254 octets): the whole text as message_payload.
        my @text = length($bytes) > 254 ? (short_message => '', message_payload => $bytes)
                                        : (short_message => $bytes);
        push @outbox, { due => time(), args => [
            source_addr_ton => 1, source_addr_npi => 1, source_addr => $source,
            dest_addr_ton => 1, dest_addr_npi => 1, destination_addr => $dest,
            esm_class => $esm_class, data_coding => $coding, @text,
        ] };
        return 'ok';
    }
    if ($verb eq 'sessions') {
        return join ' ', 'ok', map { "$_->{id}:$_->{mode}" }
                         sort { $a->{id} <=> $b->{id} } grep { $_->{mode} } values %sessions;
    }
    return "error unknown command: $verb @args";
}
