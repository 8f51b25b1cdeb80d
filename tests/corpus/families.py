#!/usr/bin/env python3
"""families.py - the rule families of rules/default.rules hold for every variant of their
wording, not only for the ones a corpus happens to contain.

    families.py BOUNCED_BIN

Each family below is expanded into its variants (noun x verdict, with and without the address
between them, with and without an article), each variant is put in a Postfix-style DSN as the
remote server's answer to RCPT TO (or the command the family's wording answers) with a reply
code and a generic status (so that only the words can decide), and `bounced parse` must give the family's reason and hard/soft for every
one. Sender-side wordings built from the same words are the negative controls: they must never
come out as a dead address. Exits 1 and lists the variants that failed.
"""
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile

NOUNS = ["user", "recipient", "mailbox", "account", "address", "email address",
         "e-mail address", "email account", "mail box", "addressee", "local user",
         "destination mailbox", "recipient address", "user account", "mailbox name"]
MISSING = ["does not exist", "doesn't exist", "not found", "is unknown", "unknown", "is invalid",
           "invalid", "not valid", "is not valid", "could not be found", "cannot be found",
           "can't be found", "no longer exists", "is not known", "not recognized",
           "is not recognised", "was not found", "has been deleted"]
PREFIXED = ["No such {n}", "Invalid {n}", "Unknown {n}", "Non-existent {n}", "Nonexistent {n}",
            "{n}: unknown"]
DOMAINS = ["Domain not found", "domain does not exist", "Host not found", "host unknown",
           "Unknown host", "unknown domain", "No such domain", "domain name not found",
           "Recipient domain does not exist", "Domain example.net not found",
           "The domain example.net does not exist", "Host or domain name not found",
           "invalid domain", "Domain is not valid", "no such host", "Non-existent domain"]
FULL = ["Mailbox full", "mailbox is full", "Mailbox <{a}> is full", "User's mailbox is full",
        "Quota exceeded", "over quota", "The user has exceeded their quota", "user is over quota",
        "mailbox quota exceeded", "Disk quota exceeded", "Mailbox size limit exceeded",
        "Recipient's mailbox is full", "mailbox has exceeded its quota",
        "User <{a}> is over quota", "rejected due to the user exceeding its mailbox quota",
        "Delivery has failed due to a full mailbox"]
DISABLED = ["mail receiving disabled, rejecting", "Account disabled", "account is disabled", "This account has been disabled",
            "Mailbox disabled", "User account is suspended", "account suspended",
            "mailbox is inactive", "account has been deactivated", "Mailbox <{a}> is disabled",
            "User <{a}> has been suspended", "The mailbox is not active", "user account has expired", "This mailbox has been closed permanently",
            "Account <{a}> has been terminated",
            "Account <{a}> is inactive", "This mailbox has been suspended", "account locked"]
RELAYING = ["You may not use this server as a relay", "Relay access denied", "Relaying denied", "relay not permitted",
            "Relaying not allowed", "We do not relay", "Unable to relay", "relay denied",
            "Relay not allowed", "relaying disallowed", "not permitted to relay",
            "relay is not permitted", "Relay prohibited", "This server does not relay"]
IP_BLOCKED = ["Client host 192.0.2.1 blocked using zen.spamhaus.org",
              "Email rejected because 192.0.2.1 is listed by bl.example.org",
              "Your IP address is not authorized to send mail to this domain",
              "Connections from your country are not allowed", "Your region is blocked",
              "Your IP 192.0.2.1 is listed in bl.spamcop.net",
              "192.0.2.1 is listed on a blocklist", "Your IP address has been blacklisted",
              "IP address blocked", "Message rejected: IP 192.0.2.1 is blocked",
              "Connection from 192.0.2.1 refused: blacklisted",
              "5.7.1 Service unavailable; Sender address [s@example.org] blocked using "
              "dbl.spamhaus.org", "5.7.1 Service unavailable; Helo command [mx.example.org] "
              "blocked using rhsbl.example.net"]
SIZE = ["Message size exceeds fixed maximum message size", "Message too large",
        "Requested mail action aborted: exceeded mailsize limit",
        "message is too big", "Message exceeds maximum size", "mail size too large",
        "Message is larger than the allowed size", "exceeded maximum allowed message size",
        "maximum message size exceeded", "Size limit exceeded",
        "message rejected: size limit 10485760"]
SPAM = ["Message rejected as spam", "message identified as spam", "Spam detected",
        "This message was classified as SPAM", "Your message looks like spam",
        "High probability of spam", "considered unsolicited bulk e-mail",
        "Spamming is not allowed here", "rejected by SpamAssassin", "blocked by the spam filter",
        "anti-spam rejection", "a domain in the message is listed in URIBL",
        "bulk email not accepted", "mass mailing rejected"]
HEADERS = ["Messages without a Date: header are rejected", "missing Message-ID header",
           "Messages missing a valid messageId header are not accepted",
           "no From header field", "message without a To field refused"]
VIRUS = ["Virus found in message", "message contains a virus", "Infected with virus",
         "malware detected", "Message rejected: contains malware"]
AUTH = ["SPF check failed", "SPF validation failed", "DKIM signature verification failed",
        "DMARC policy violation", "message failed DMARC", "rejected by DMARC policy",
        "192.0.2.1 is not allowed to send mail from example.org",
        "SPF: sender is unauthenticated"]
PTR = ["Client host rejected: cannot find your hostname", "Reverse DNS lookup failed",
       "no PTR record found", "Your IP has no reverse DNS", "Cannot resolve your hostname",
       "reverse DNS required"]
CONNECTIONS = ["Too many connections from your IP", "too many concurrent connections",
               "Connection limit exceeded", "maximum number of connections exceeded"]
RATE = ["Daily user sending quota exceeded", "The limit on the number of allowed outgoing messages was exceeded",
        "Rate limit exceeded", "You are sending too fast", "Too many messages, slow down",
        "sending rate exceeded", "Throttled, try again later",
        "Mailbox unavailable or access denied"]
# a disabled mailbox in the languages providers localize (Spanish, Portuguese, Italian, French,
# German)
LOCALIZED_DISABLED = ["Esta casilla ha expirado por falta de uso", "La cuenta está desactivada",
                      "Buzón suspendido", "A conta foi desativada", "Caixa postal inativa",
                      "La casella è disattivata", "Account sospeso", "Ce compte est désactivé",
                      "Boîte aux lettres désactivée.", "Das Postfach ist deaktiviert",
                      "Konto gesperrt", "账户已停用", "帐户已被冻结", "邮箱已被禁用",
                      "Boite du destinataire archivee. Archived recipient."]
# a full mailbox in the languages providers localize
LOCALIZED_FULL = ["Postfach voll", "Mailbox ist voll", "Das Postfach des Empfängers ist voll",
                  "Boîte aux lettres pleine", "Casella piena", "Buzón lleno",
                  "Caixa postal cheia", "Почтовый ящик переполнен", "邮箱已满", "邮箱空间不足",
                  "メールボックスがいっぱいです", "メールボックスが一杯です", "메일함 용량 초과"]
# the address written with the punctuation around it that MTAs leave (Sendmail's "a@b...
# User unknown" without brackets, a sentence's full stop after it)
PUNCTUATED = ["{a}...User unknown", "{a}... User unknown", "User {a}. does not exist",
              "Recipient <{a}>. does not exist", "Mailbox {a}... not found"]
# a refusal whose only stated cause is a policy (GMX/web.de, Exim's ACL default, ...)
POLICY = ["Reject due to policy restrictions", "rejected because of local policy",
          "Message rejected due to policy", "Administrative prohibition",
          "refused for policy reasons", "Mailbox unavailable, blocked by policy",
          "Denied by policy", "Message rejected by policy",
          "the message was rejected by organization policy"]
# the destination server's own failure or full disk (Dovecot, Sendmail)
SYSTEM = [("451 4.3.0 <{a}> Temporary internal failure", "systemerror"),
          ("451 cannot access mailbox /var/mail/x for user x. unable to lock for exclusive "
           "access: Resource temporarily unavailable", "systemerror"),
          ("550 cannot append message to file /var/mail/x: Permission denied", "systemerror"),
          ("550 can't create user output file", "systemerror"),
          ("552 cannot update mailbox /var/mail/x for user x. error writing message: File too "
           "large", "mailboxfull"),
          ("451 Internal server error", "systemerror"),
          ("450 4.2.0 Mailbox busy", "systemerror"),
          ("550 5.1.1 Mailbox temporarily unavailable", "systemerror"),
          ("451 4.4.0 DNS temporary failure", "networkerror"),
          ("450 4.2.1 Mailbox unavailable", "onhold"),
          ("450 <{a}>: Requested mailbox is not available", "onhold"),
          ("450 4.1.1 <{a}>: Recipient address rejected: unverified address: Address "
           "verification in progress", "onhold"),
          ("451 4.3.0 Temporary system failure", "systemerror"),
          ("421 Service temporarily unavailable", "systemerror"),
          ("452 4.4.5 Insufficient disk space; try again later", "systemfull"),
          ("452 4.3.1 Insufficient system storage", "systemfull")]
# the recipient takes mail only from some senders (Exchange Online 5.7.12, 5.7.124, 5.7.133,
# 5.7.134; allow-lists)
ONLY_SOME_SENDERS = ["554 Indirizzo destinatario sconosciuto o non abilitato alla ricezione di "
                     "posta non certificata", "550 5.7.124 Sender not in allowed-senders list",
                     "550 5.7.12 The sender was not authenticated by the organization",
                     "550 5.7.134 RESOLVER.RST.SenderNotAuthenticatedForMailbox; authentication "
                     "required", "550 5.7.1 You are not on the recipient's approved senders list",
                     "550 This address only accepts mail from known senders",
                     "550 This user does not accept email from you",
                     "550 The group only accepts messages from people in its organization",
                     "550 Your message can't be delivered because delivery to this address is restricted."]
# a server too loaded to take mail now (Cyrus lmtpd, Gmail, Haraka's toobusy): systemerror
BUSY = ["Server busy, try again later", "Server is busy", "System is too busy",
        "Too busy; please try again later", "Service busy, try again later"]
# a local delivery program that failed (OpenSMTPD's mda, Postfix's pipe, Exim's pipe transport)
PROGRAM = ["exited abnormally", "command exited with status 1",
           "Command died with status 1: \"/usr/bin/procmail\"", "terminated by signal 9",
           "Child process of address_pipe transport returned 1 from command: /bin/false"]
# a HELO/EHLO argument the server found malformed, or too many commands that were not mail:
# our command, not our host, was refused
HELO_SYNTAX = ["554 Too many nonmail commands", "421 4.7.0 mx.example.net Error: too many errors",
               "501 5.5.4 Invalid command arguments: Invalid domain name", "501 Syntax: HELO hostname",
               "501 5.5.2 Invalid domain name", "504 5.5.2 Helo command rejected: need fully-qualified hostname"]
# what the reporting MTA itself says when it could not reach the domain (Postfix's texts
# around the resolver's: glibc getaddrinfo, c-ares), with the status it reports
RESOLVER = [
    ("connect to mx.example.net[192.0.2.1]:25: Connection refused", "4.4.1", "networkerror"),
    ("connect to mx.example.net[192.0.2.1]:25: No route to host", "4.4.1", "networkerror"),
    ("connect to mx.example.net[192.0.2.1]:25: Network is unreachable", "4.4.1", "networkerror"),
    ("lost connection with mx.example.net[192.0.2.1] while receiving the initial server "
     "greeting", "4.4.2", "networkerror"),
    ("Host or domain name not found. Name service error for name=example.net type=MX: Host "
     "not found, try again", "4.4.3", "networkerror"),
    ("Host or domain name not found. Name service error for name=example.net type=A: Host "
     "not found", "5.4.4", "hostunknown"),
    ("Temporary failure in name resolution", "4.4.3", "networkerror"),
    ("Name or service not known", "5.4.4", "hostunknown"),
    ("No address associated with hostname", "5.4.4", "hostunknown"),
    ("DNS server returned answer with no data", "5.4.4", "hostunknown"),
    ("Domain name not found", "5.4.4", "hostunknown"),
    ("Could not contact DNS servers", "4.4.3", "networkerror"),
    ("Timeout while contacting DNS servers", "4.4.3", "networkerror"),
    ("DNS server returned general failure", "4.4.3", "networkerror"),
    ("mail for example.net loops back to myself", "5.4.6", "networkerror"),
    ("lowest numbered MX record points to local host", "5.0.0", "networkerror"),
    ("Sorry, I couldn't find any host named example.net. (#5.1.2)", "5.1.2", "hostunknown"),
    ("Sorry, I couldn't find any host by that name. (#4.1.2)", "4.1.2", "networkerror"),
]
# a missing mailbox in the languages providers localize their replies in; letters outside
# ASCII inside the rules' alternatives must match as letters, not as bytes
LOCALIZED = ["Benutzer unbekannt", "Empfänger unbekannt", "Die Adresse {a} existiert nicht",
             "Postfach nicht vorhanden", "Utilisateur inconnu", "Destinataire inconnu",
             "Adresse inexistante", "Boîte aux lettres inexistante",
             "L'adresse {a} n'existe pas", "Usuario desconocido", "La dirección {a} no existe",
             "Buzón inexistente", "Utente sconosciuto", "L'indirizzo {a} non esiste",
             "Casella inesistente", "Usuário desconhecido", "Endereço inexistente",
             "A conta {a} não existe", "Gebruiker onbekend", "Het adres {a} bestaat niet",
             "Użytkownik nie istnieje", "Adresat nieznany", "Účet {a} neexistuje",
             "Odbiorca <{a}> nie istnieje", "Пользователь {a} не существует",
             "Почтовый ящик не найден", "Адрес {a} не существует",
             "Mottagaren finns inte", "Okänd mottagare", "Användaren {a} finns inte",
             "Mottakeren finnes ikke", "Ukjent bruker", "Modtageren findes ikke",
             "Ukendt bruger", "Käyttäjää ei ole olemassa", "Tuntematon vastaanottaja",
             "Kullanıcı bulunamadı", "Alıcı {a} mevcut değil", "Ismeretlen címzett",
             "A felhasználó nem létezik", "Utilizatorul nu există", "Destinatar necunoscut",
             "宛先のメールアドレスが見つかりません", "ユーザが存在しません", "用户不存在",
             "收件人不存在", "사용자가 존재하지 않습니다", "받는 사람을 찾을 수 없습니다",
             "ユーザー Neko (<{a}>) は Domino ディレクトリには見つかりません。",
             "Benutzer Neko ({a}) nicht im Domino-Verzeichnis aufgeführt"]
# the same words said of our sender: recorded, never a dead recipient
SENDER = ["Sender address <{s}> is invalid", "sender address is unknown",
          "Sender domain example.org does not exist", "Sender address rejected: Domain not found",
          "Domain of sender address {s} does not exist", "unknown sender",
          "Sender verify failed", "sender's address <{s}> not found",
          "5.1.8 Sender address domain does not exist", "The sender's domain does not exist",
          "5.1.1 Sender unknown",
          # our HELO name (Postfix checks it at RCPT TO: "Helo command rejected: Host not found")
          "5.7.1 <mx.example.org>: Helo command rejected: Host not found",
          "5.7.1 <mx.example.org>: Helo command rejected: Invalid name",
          "Your HELO/EHLO hostname does not exist", "HELO hostname not found",
          # the From address, "your" account, and RFC 3463's sender statuses X.1.7, X.1.8
          "From address does not exist", "Your account does not exist on this server",
          "Your domain does not exist", "Your domain name example.org is invalid",
          "The From domain has no MX record",
          "Message blocked - you weren't recognized as a valid sender",
          "Recipient rejected: sender blocked by recipient",
          "5.1.7 Invalid address: <{s}>", "5.1.8 Domain does not exist",
          "Requested action not taken: mailbox unavailable invalid DNS MX or A/AAAA resource "
          "record", "Requested action not taken: mailbox unavailable: sender blocked",
          "5.1.1 <{s}>: unauthorized sender", "Unauthorised sender"]

ADDR = "x@example.net"
SENDER_ADDR = "s@example.org"


def variants():
    """(reply, reason or None for 'not a dead address', hard[, SMTP command answered or "",
    status when it is ""])"""
    for noun, verdict in itertools.product(NOUNS, MISSING):
        yield f"550 The {noun} {verdict}", "userunknown", True
        yield f"550 {noun.capitalize()} <{ADDR}> {verdict}", "userunknown", True
    for noun, form in itertools.product(NOUNS, PREFIXED):
        yield "550 " + form.format(n=noun), "userunknown", True
    # the bare refusal of the recipient address (REASONS.md: "recipient address rejected")
    for text in ("Recipient address rejected", "<{a}>: Recipient address rejected",
                 "Recipient rejected", "5.0.1 <{a}>: Recipient rejected."):
        yield "550 " + text.format(a=ADDR), "userunknown", True
    # Mail.ru's directory, which answers after DATA too
    for stage in ("RCPT TO", "end of DATA"):
        yield ("550 Message was not accepted -- invalid mailbox.  Local mailbox {a} is "
               "unavailable: user not found".format(a=ADDR), "userunknown", True, stage)
    # Postfix access(5) REJECT of a recipient, Exchange Online's edge blocking: an answer to
    # RCPT TO even where a relaying MTA reports no stage and only its 5.7.1
    for stage in ("RCPT TO", ""):
        yield ("554 5.7.1 <{a}>: Recipient address rejected: Access denied".format(a=ADDR),
               "userunknown", True, stage, "5.7.1")
        yield ("550 5.7.1 <{a}>: Recipient address rejected: User unknown in virtual mailbox "
               "table".format(a=ADDR), "userunknown", True, stage, "5.7.1")
    # RFC 3463 X.1.4: the directory has several matches for the address
    for text in ("Recipient address is ambiguous", "User name jsmith (<{a}>) not unique",
                 "address <{a}> ambiguous"):
        yield "550 " + text.format(a=ADDR), "userunknown", True
    # an address its owner closed to mail
    for text in ("This address no longer accepts mail", "Mailbox <{a}> no longer receives email"):
        yield "550 " + text.format(a=ADDR), "userunknown", True
    # Yahoo/AOL "554 delivery error: dd Not a valid recipient - atlas..."
    yield "554 delivery error: dd Not a valid recipient - atlas1.example.net", "userunknown", True
    yield "554 delivery error: dd Requested mailbox is not available", "userunknown", True
    yield ("550 Your message to {a} couldn't be delivered. user wasn't found at "
           "example.net.".format(a=ADDR), "userunknown", True)
    yield ("550 The email address you entered couldn't be found. Please check the "
           "recipient's email address", "userunknown", True)
    # an ESP's own suppression list
    for text in ("550 5.1.1 Not delivering to previously bounced address",
                 "550 Not delivering to a user who marked your messages as spam",
                 "554 5.7.1 Recipient address was suppressed due to system policy"):
        yield text, "suppressed", False
    for text in DOMAINS:
        yield f"550 {text}", "hostunknown", True
    for text in FULL:
        yield "452 " + text.format(a=ADDR), "mailboxfull", False
        yield "552 " + text.format(a=ADDR), "mailboxfull", False
    for text in DISABLED:
        yield "550 " + text.format(a=ADDR), "suspend", False
    for text in RELAYING:
        yield "554 " + text, "norelaying", False
    for text in IP_BLOCKED:
        yield "554 " + text, "blocked", False
    for text in LOCALIZED:
        yield "550 " + text.format(a=ADDR), "userunknown", True
    # RFC 3463 X.2.3: over the recipient's own limit, not the server's
    for text in ("Message exceeds the recipient's limit", "Message exceeds the recipient's size limit",
                 "The message exceeds the maximum message size allowed by the recipient"):
        yield "552 " + text, "exceedlimit", False, "end of DATA"
    for texts, reply, reason, stage in ((SIZE, "552", "mesgtoobig", "end of DATA"),
                                        (SPAM, "550 5.7.1", "spamdetected", "end of DATA"),
                                        (HEADERS, "550", "notcompliantrfc", "end of DATA"),
                                        (VIRUS, "554 5.7.1", "virusdetected", "end of DATA"),
                                        (AUTH, "550 5.7.1", "authfailure", "end of DATA"),
                                        (PTR, "550 5.7.1", "requireptr", "RCPT TO"),
                                        (CONNECTIONS, "421 4.7.0", "toomanyconn", "MAIL FROM"),
                                        (RATE, "450 4.7.0", "speeding", "RCPT TO")):
        for text in texts:
            yield f"{reply} {text}", reason, False, stage
    for text in LOCALIZED_FULL:
        yield "550 " + text, "mailboxfull", False
    for text in LOCALIZED_DISABLED:
        yield "550 " + text, "suspend", False
    for text in PUNCTUATED:
        yield "550 " + text.format(a=ADDR), "userunknown", True
    # Postfix's default answer for a recipient domain that does not resolve is temporary
    # (unknown_address_reject_code = 450): the domain named, soft while the MTA retries
    yield ("450 4.1.2 <{a}>: Recipient address rejected: Domain not found".format(a=ADDR),
           "hostunknown", False, "RCPT TO")
    # relaying refused until we authenticate: the missing authentication is the cause
    for text in ("mx.example.org is not permitted to relay through this server without "
                 "authentication", "Please turn on SMTP Authentication in your mail client",
                 "relay not permitted without authentication"):
        yield "550 " + text, "securityerror", False, "RCPT TO"
    for text in ONLY_SOME_SENDERS:
        yield text, "filtered", False, "RCPT TO"
    for text in POLICY:
        yield "550 " + text, "policyviolation", False, "end of DATA"
    for text, reason in SYSTEM:
        yield text.format(a=ADDR), reason, False, "RCPT TO"
    for text in BUSY:
        yield "451 4.3.2 " + text, "systemerror", False, "RCPT TO"
    for text in PROGRAM:
        yield text, "mailererror", False, "", "5.3.0"
    for text in HELO_SYNTAX:
        yield text, "syntaxerror", False, "EHLO"
    # what Exim and Postfix say themselves of a local or remote delivery they could not make
    for text, code, reason in (
            ("missing MX, or all MXs point to missing A records, and defer_unresolvable set",
             "4.4.3", "networkerror"),
            ("internal configuration error", "4.3.0", "systemerror"),
            ("mail system configuration error", "5.0.0", "systemerror"),
            ("Connection refused", "5.0.0", "networkerror"),
            ("domain has no A or MX records", "5.0.0", "hostunknown"),
            ("malformed address: ; may not follow user", "5.0.0", "userunknown"),
            ("delivery temporarily suspended: unknown mail transport error", "4.0.0",
             "systemerror"),
            ("mail transport unavailable", "4.0.0", "systemerror"),
            ("maildir delivery failed: create maildir file /home/u/Maildir/tmp/1.P1: Permission "
             "denied", "5.0.0", "systemerror"),
            ("delivery to pipe forbidden", "5.0.0", "systemerror"),
            ("mailbox file format unrecognized", "4.0.0", "systemerror"),
            ("bad first read from TLS conn", "4.0.0", "failedstarttls"),
            ("TLS is required, but was not offered by host mx.example.net[192.0.2.1]", "4.7.4",
             "failedstarttls"),
            ("certificate verification failed for mx.example.net[192.0.2.1]:25: untrusted issuer",
             "4.7.5", "failedstarttls"),
            ("a TLS session is required, but the server did not offer TLS support", "5.0.0",
             "failedstarttls"),
            ("TLS error from 'mx.example.net': STARTTLS not advertised by host.", "5.0.0",
             "failedstarttls"),
            ("user does not exist, but will deliver to /home/vpopmail/domains/example.net/u/ "
             "can not open new email file errno=2 file=/home/vpopmail/domains/example.net/u/"
             "Maildir/tmp/1 system error", "5.0.0", "systemerror"),
            ("Message could not be delivered for 5 days", "5.0.0", "expired"),
            ("This domain does not accept email", "5.0.0", "notaccept"),
            # Exchange's NDR explanations
            ("The destination server for this recipient could not be found in Domain Name "
             "Service (DNS).", "5.0.0", "hostunknown"),
            ("The domain name in the e-mail address is incorrect. Check the address.", "5.0.0",
             "hostunknown"),
            ("The server has tried to deliver this message, without success, and has stopped "
             "trying.", "5.0.0", "expired"),
            ("utf8 support required but not offered for forwarding", "5.0.0", "contenterror"),
            ("SMTPUTF8 is required, but was not offered by host mx.example.net[192.0.2.1]",
             "5.6.7", "contenterror"),
            # OpenSMTPD mta.c
            ("No MX found for domain", "5.0.0", "hostunknown"),
            ("No valid route to remote MX", "4.0.0", "networkerror"),
            ("All routes to destination blocked", "4.0.0", "networkerror"),
            ("Address family mismatch on destination MXs", "4.0.0", "networkerror"),
            ("Connection closed unexpectedly", "4.0.0", "networkerror")):
        yield text, reason, reason in ("hostunknown", "notaccept", "userunknown"), "", code
    for text, code, reason in RESOLVER:
        yield text, reason, reason == "hostunknown", "", code
    # the reporting MTA could not reach the destination, or found no usable MX for it
    for text in ("554 could not connect and send the mail to 192.0.2.1",
                 "Unable to connect to the destination server", "Could not connect to "
                 "mx.example.net", "can't connect to remote host"):
        yield text, "networkerror", False, "", "5.0.0"
    yield "no valid MX hosts found", "hostunknown", True, "", "5.0.0"
    # an attachment refused for its kind: the content, never the mailbox (552 with a 5.7.0)
    for text in ("552-5.7.0 Our system detected an illegal attachment on your message. Please",
                 "554 5.7.1 Forbidden file type", "550 Blocked attachment"):
        yield text, "policyviolation", False, "end of DATA"
    for text in SENDER:
        yield "550 " + text.format(s=SENDER_ADDR), None, False


def status(reply):
    """The reply's enhanced status code, else the generic one of its class."""
    m = re.match(r"\d{3} ([245]\.\d{1,3}\.\d{1,3}) ", reply)
    return m.group(1) if m else reply[0] + ".0.0"


def dsn(local, reply, stage="RCPT TO", code=None):
    """A Postfix-style DSN: the remote's reply to `stage`, or with no stage ("") the
    reporting MTA's own text with status `code`."""
    if not stage:
        said, diag = reply, f"X-Postfix; {reply}"
    else:
        said, diag = f"""host mx.example.net[192.0.2.1] said: {reply} (in reply to {stage}
    command)""", f"smtp; {reply}"
        code = status(reply)
    return f"""From: MAILER-DAEMON@mta.example.org (Mail Delivery System)
To: sender@example.org
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain; charset=utf-8

This is the mail system at host mta.example.org.

<{local}@example.net>: {said}

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mta.example.org

Final-Recipient: rfc822; {local}@example.net
Action: {"delayed" if code.startswith("4") else "failed"}
Status: {code}
Diagnostic-Code: {diag}

--B--
"""


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: families.py BOUNCED_BIN")
    cases = [(c + ("RCPT TO", None))[:5] for c in variants()]
    with tempfile.TemporaryDirectory() as tmp:
        for i, (reply, _, _, stage, code) in enumerate(cases):
            with open(os.path.join(tmp, f"v{i:04d}.eml"), "w", encoding="utf-8") as fh:
                fh.write(dsn(f"v{i:04d}", reply, stage, code))
        out = subprocess.run([argv[1], "parse", tmp], capture_output=True, text=True, check=False)
    got = {}
    for line in out.stdout.splitlines():
        row = json.loads(line)
        got[row["recipient"].split("@")[0].lower()] = row
    failed = []
    for i, (reply, reason, hard, _, _) in enumerate(cases):
        row = got.get(f"v{i:04d}")
        if row is None:
            failed.append(f"no verdict: {reply}")
        elif reason is None and row.get("hard"):
            failed.append(f"sender-side wording suppresses the recipient ({row['reason']}, "
                          f"{row['decided_by']}): {reply}")
        elif reason is not None and (row["reason"] != reason or bool(row.get("hard")) != hard):
            failed.append(f"want {reason}/{'hard' if hard else 'soft'}, got {row['reason']}/"
                          f"{'hard' if row.get('hard') else 'soft'} ({row['decided_by']}): {reply}")
    print(f"families: {len(cases) - len(failed)}/{len(cases)} variants as their family says")
    for line in failed:
        print("  " + line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
