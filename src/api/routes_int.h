/*
 * routes_int.h - the handlers the route table (routes.c) names, one group per resource
 * file. Each takes a routed, authenticated request, writes its reply into it and returns
 * the HTTP status. Not for use outside src/api.
 */
#ifndef BNC_API_ROUTES_INT_H
#define BNC_API_ROUTES_INT_H

#include "api_int.h"

/* ops.c */
int h_healthz(struct api_req *r);
int h_metrics(struct api_req *r);
int h_openapi(struct api_req *r);
int h_index(struct api_req *r);
int h_static(struct api_req *r);
int h_webhook(struct api_req *r);
/* check.c */
int h_check_get(struct api_req *r);
int h_check_post(struct api_req *r);
/* contacts.c */
int h_contacts_list(struct api_req *r);
int h_contacts_create(struct api_req *r);
int h_contact_get(struct api_req *r);
int h_contact_put(struct api_req *r);
int h_contact_patch(struct api_req *r);
int h_contact_delete(struct api_req *r);
/* lists.c */
int h_lists(struct api_req *r);
int h_contact_lists_get(struct api_req *r);
int h_contact_lists_put(struct api_req *r);
/* verify.c */
int h_contact_reverify(struct api_req *r);
int h_verify(struct api_req *r);
/* suppressions.c */
int h_supp_list(struct api_req *r);
int h_supp_get(struct api_req *r);
int h_supp_add(struct api_req *r);
int h_supp_del(struct api_req *r);
int h_supp_csv(struct api_req *r);
/* bounces.c */
int h_bounces(struct api_req *r);
/* events.c */
int h_events(struct api_req *r);
int h_events_csv(struct api_req *r);
int h_event_get(struct api_req *r);
int h_event_raw(struct api_req *r);
/* The filter arguments of an event listing (since, until, recipient, domain, reason, kind)
 * into f: 0, or the 400 already written. */
struct model_event_filter;
int api_event_filter(struct api_req *r, struct model_event_filter *f);
/* overview.c */
int h_overview(struct api_req *r);
/* review.c */
int h_review_list(struct api_req *r);
int h_review_resolve(struct api_req *r);
int h_review_reopen(struct api_req *r);
/* rules.c */
int h_rules_list(struct api_req *r);
int h_rules_add(struct api_req *r);
int h_rules_delete(struct api_req *r);
/* rules_view.c */
int h_rules_loaded(struct api_req *r);
int h_rules_impact(struct api_req *r);
/* stats.c */
int h_stats(struct api_req *r);
/* settings.c */
int h_whoami(struct api_req *r);
int h_settings(struct api_req *r);
/* audit.c */
int h_audit_list(struct api_req *r);
int h_audit_revert(struct api_req *r);
/* outages.c */
int h_outages_list(struct api_req *r);
int h_outage_get(struct api_req *r);
int h_outage_apply(struct api_req *r);
int h_outage_release(struct api_req *r);
int h_alerts_list(struct api_req *r);
int h_sends(struct api_req *r);

#endif
