/*
 * routes_int.h - handlers shared between routes.c (the table) and routes_data.c, and the
 * small argument helpers every list handler uses. Not for use outside src/api.
 * Ownership: helpers write into the request's reply buffer only.
 */
#ifndef BNC_API_ROUTES_INT_H
#define BNC_API_ROUTES_INT_H

#include <stddef.h>
#include <stdint.h>

#include "api_int.h"

int h_verify(struct api_req *r);
int h_contacts_list(struct api_req *r);
int h_contacts_create(struct api_req *r);
int h_contact_get(struct api_req *r);
int h_contact_put(struct api_req *r);
int h_contact_patch(struct api_req *r);
int h_contact_delete(struct api_req *r);
int h_contact_reverify(struct api_req *r);
int h_bounces(struct api_req *r);
int h_events(struct api_req *r);
int h_review_list(struct api_req *r);
int h_review_resolve(struct api_req *r);
int h_rules_list(struct api_req *r);
int h_rules_add(struct api_req *r);
int h_rules_delete(struct api_req *r);
int h_stats(struct api_req *r);
int h_audit_list(struct api_req *r);
int h_audit_revert(struct api_req *r);

/* ?after=ID&limit=N: 0 on success, else the error status already written into r. */
int api_page_args(struct api_req *r, int64_t *after_out, size_t *limit_out);
/* "next": the cursor (id) when a full page was returned, else null. */
void api_next_cursor(struct buf *b, int64_t last_id);
/* "token:<id>": who did it, for the audit log. */
void api_actor(const struct api_req *r, char *out, size_t outlen);
/* Parse Unix seconds, "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ" (UTC); false when not one. */
bool api_parse_time(const char *s, int64_t *out);

#endif
