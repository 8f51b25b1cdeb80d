/*
 * reasons.h - the reason taxonomy beyond its public names (bounced.h declares
 * bnc_reason_name, bnc_reason_side, bnc_kind_name, bnc_strerror, ...; reasons.c defines
 * them): the pseudo status code of a reason. Pure lookups in static tables.
 */
#ifndef BNC_CORE_REASONS_H
#define BNC_CORE_REASONS_H

#include <stdbool.h>

#include "bounced.h"

/* The pseudo status ("5.0.911", "4.0.947") for a reason a bounce gave no code for, into out;
 * "" for the report reasons (delivered, feedback, vacation) and out-of-range values. */
void reason_pseudo_status(bnc_reason r, bool temporary, char out[16]);

#endif
