/*
 * reasons.c - the names of the library's codes: the reason taxonomy as one table
 * (REASONS.md: name, side, and the pseudo status code used when a bounce carries none,
 * Sisimai's X.0.9NN convention), the verdict kinds and actions, and the status codes.
 *
 * Here in core, not in classify, so that every layer (hygiene, store, the API) can name a
 * reason or a status without linking the classifier and Vectorscan.
 * Doesn't: decide a reason (classify/ does).
 */
#include "core/reasons.h"

#include <stdbool.h>
#include <string.h>

struct reason_info {
    const char *name;
    bnc_side side;
    const char *pseudo; /* "5.0.9NN" without class: ".0.9NN" */
};

/* clang-format off */
static const struct reason_info reasons[BNC_R__COUNT] = {
    [BNC_R_UNDEFINED]       = {"undefined",       BNC_SIDE_UNKNOWN, ".0.900"},
    [BNC_R_USERUNKNOWN]     = {"userunknown",     BNC_SIDE_DEAD,    ".0.911"},
    [BNC_R_HOSTUNKNOWN]     = {"hostunknown",     BNC_SIDE_DEAD,    ".0.912"},
    [BNC_R_HASMOVED]        = {"hasmoved",        BNC_SIDE_DEAD,    ".0.916"},
    [BNC_R_NOTACCEPT]       = {"notaccept",       BNC_SIDE_DEAD,    ".0.932"},
    [BNC_R_MAILBOXFULL]     = {"mailboxfull",     BNC_SIDE_ADDRESS, ".0.922"},
    [BNC_R_SUSPEND]         = {"suspend",         BNC_SIDE_ADDRESS, ".0.921"},
    [BNC_R_EXPIRED]         = {"expired",         BNC_SIDE_ADDRESS, ".0.947"},
    [BNC_R_NETWORKERROR]    = {"networkerror",    BNC_SIDE_ADDRESS, ".0.944"},
    [BNC_R_SYSTEMERROR]     = {"systemerror",     BNC_SIDE_ADDRESS, ".0.930"},
    [BNC_R_SYSTEMFULL]      = {"systemfull",      BNC_SIDE_ADDRESS, ".0.931"},
    [BNC_R_MAILERERROR]     = {"mailererror",     BNC_SIDE_ADDRESS, ".0.939"},
    [BNC_R_TOOMANYCONN]     = {"toomanyconn",     BNC_SIDE_SENDER,  ".0.976"},
    [BNC_R_EXCEEDLIMIT]     = {"exceedlimit",     BNC_SIDE_ADDRESS, ".0.923"},
    [BNC_R_MESGTOOBIG]      = {"mesgtoobig",      BNC_SIDE_SENDER,  ".0.934"},
    [BNC_R_FILTERED]        = {"filtered",        BNC_SIDE_ADDRESS, ".0.910"},
    [BNC_R_REJECTED]        = {"rejected",        BNC_SIDE_SENDER,  ".0.918"},
    [BNC_R_BLOCKED]         = {"blocked",         BNC_SIDE_SENDER,  ".0.971"},
    [BNC_R_SPAMDETECTED]    = {"spamdetected",    BNC_SIDE_SENDER,  ".0.980"},
    [BNC_R_VIRUSDETECTED]   = {"virusdetected",   BNC_SIDE_SENDER,  ".0.981"},
    [BNC_R_POLICYVIOLATION] = {"policyviolation", BNC_SIDE_SENDER,  ".0.972"},
    [BNC_R_AUTHFAILURE]     = {"authfailure",     BNC_SIDE_SENDER,  ".0.974"},
    [BNC_R_REQUIREPTR]      = {"requireptr",      BNC_SIDE_SENDER,  ".0.973"},
    [BNC_R_BADREPUTATION]   = {"badreputation",   BNC_SIDE_SENDER,  ".0.975"},
    [BNC_R_SECURITYERROR]   = {"securityerror",   BNC_SIDE_SENDER,  ".0.970"},
    [BNC_R_CONTENTERROR]    = {"contenterror",    BNC_SIDE_SENDER,  ".0.960"},
    [BNC_R_NORELAYING]      = {"norelaying",      BNC_SIDE_SENDER,  ".0.950"},
    [BNC_R_NOTCOMPLIANTRFC] = {"notcompliantrfc", BNC_SIDE_SENDER,  ".0.962"},
    [BNC_R_SYNTAXERROR]     = {"syntaxerror",     BNC_SIDE_SENDER,  ".0.902"},
    [BNC_R_SPEEDING]        = {"speeding",        BNC_SIDE_SENDER,  ".0.946"},
    [BNC_R_FAILEDSTARTTLS]  = {"failedstarttls",  BNC_SIDE_SENDER,  ".0.977"},
    [BNC_R_SUPPRESSED]      = {"suppressed",      BNC_SIDE_ADDRESS, ".0.917"},
    [BNC_R_ONHOLD]          = {"onhold",          BNC_SIDE_UNKNOWN, ".0.901"},
    [BNC_R_DELIVERED]       = {"delivered",       BNC_SIDE_REPORT,  ""},
    [BNC_R_FEEDBACK]        = {"feedback",        BNC_SIDE_REPORT,  ""},
    [BNC_R_VACATION]        = {"vacation",        BNC_SIDE_REPORT,  ""},
};
/* clang-format on */

const char *
bnc_reason_name(bnc_reason r)
{
    if ((unsigned)r >= BNC_R__COUNT) {
        return "undefined";
    }
    return reasons[r].name;
}

bool
bnc_reason_from_name(const char *name, bnc_reason *out)
{
    int i;
    for (i = 0; i < BNC_R__COUNT; i++) {
        if (strcmp(reasons[i].name, name) == 0) {
            *out = (bnc_reason)i;
            return true;
        }
    }
    return false;
}

bnc_side
bnc_reason_side(bnc_reason r)
{
    if ((unsigned)r >= BNC_R__COUNT) {
        return BNC_SIDE_UNKNOWN;
    }
    return reasons[r].side;
}

void
reason_pseudo_status(bnc_reason r, bool temporary, char out[16])
{
    out[0] = '\0';
    if ((unsigned)r >= BNC_R__COUNT || reasons[r].pseudo[0] == '\0') {
        return;
    }
    out[0] = temporary ? '4' : '5';
    memcpy(out + 1, reasons[r].pseudo, strlen(reasons[r].pseudo) + 1);
}

static const char *const kind_names[] = {"unknown",   "hard",      "soft",
                                         "complaint", "autoreply", "delivered"};
static const char *const action_names[] = {"",          "failed",  "delayed",
                                           "delivered", "relayed", "expanded"};

/* The index of name in names[0..n), or -1. */
static int
names_find(const char *const *names, size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(names[i], name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

const char *
bnc_kind_name(bnc_kind k)
{
    if ((unsigned)k >= sizeof(kind_names) / sizeof(kind_names[0])) {
        return "unknown";
    }
    return kind_names[k];
}

const char *
bnc_action_name(bnc_action a)
{
    if ((unsigned)a >= sizeof(action_names) / sizeof(action_names[0])) {
        return "";
    }
    return action_names[a];
}

bool
bnc_kind_from_name(const char *name, bnc_kind *out)
{
    int i = names_find(kind_names, sizeof(kind_names) / sizeof(kind_names[0]), name);

    if (i < 0) {
        return false;
    }
    *out = (bnc_kind)i;
    return true;
}

bool
bnc_action_from_name(const char *name, bnc_action *out)
{
    int i = names_find(action_names, sizeof(action_names) / sizeof(action_names[0]), name);

    if (i < 0) {
        return false;
    }
    *out = (bnc_action)i;
    return true;
}

const char *
bnc_strerror(bnc_status rc)
{
    static const char *msgs[] = {
        "success",       "invalid argument", "limit exceeded", "nothing usable could be parsed",
        "store failure", "store busy",       "I/O error",      "configuration error",
        "not found",     "internal error",   "conflict",
    };
    if ((unsigned)rc >= sizeof(msgs) / sizeof(msgs[0])) {
        return "unknown status";
    }
    return msgs[rc];
}
