/*
 * routes.c - the route table of the API (DESIGN §8): method, path template, scope and
 * handler of every route, and nothing else. dispatch.c walks it; the handlers live one
 * file per resource (routes_int.h lists them).
 *
 * Order matters only among entries whose paths overlap: the first match serves.
 * Ownership: a static table.
 */
#include "api_int.h"

#include "auth.h"
#include "routes_int.h"

#define R_CR AUTH_S_CONTACT_READ
#define R_CW AUTH_S_CONTACT_WRITE
#define R_BW AUTH_S_BOUNCE_WRITE
#define R_AD AUTH_S_ADMIN

/* Order matters only among entries whose paths overlap: the first match serves. */
static const struct api_route api_route_table[] = {
    {API_GET, "/healthz", 0, h_healthz, "/healthz"},
    {API_GET, "/metrics", 0, h_metrics, "/metrics"},
    {API_GET, "/api/v1/openapi.yaml", 0, h_openapi, "/api/v1/openapi.yaml"},
    {API_GET, "/", 0, h_index, "/"},
    {API_GET, "/static/{}", 0, h_static, "/static/{name}"},
    {API_GET, "/verify/{}", 0, h_verify, "/verify/{token}"},
    {API_GET, "/api/v1/check/{}", R_CR, h_check_get, "/api/v1/check/{address}"},
    {API_POST, "/api/v1/check", R_CR, h_check_post, "/api/v1/check"},
    {API_GET, "/api/v1/contacts", R_CR, h_contacts_list, "/api/v1/contacts"},
    {API_POST, "/api/v1/contacts", R_CW, h_contacts_create, "/api/v1/contacts"},
    {API_GET, "/api/v1/contacts/{}", R_CR, h_contact_get, "/api/v1/contacts/{id}"},
    {API_PUT, "/api/v1/contacts/{}", R_CW, h_contact_put, "/api/v1/contacts/{id}"},
    {API_PATCH, "/api/v1/contacts/{}", R_CW, h_contact_patch, "/api/v1/contacts/{id}"},
    {API_DELETE, "/api/v1/contacts/{}", R_CW, h_contact_delete, "/api/v1/contacts/{id}"},
    {API_POST, "/api/v1/contacts/{}/reverify", R_CW, h_contact_reverify,
     "/api/v1/contacts/{id}/reverify"},
    {API_GET, "/api/v1/contacts/{}/lists", R_CR, h_contact_lists_get,
     "/api/v1/contacts/{id}/lists"},
    {API_PUT, "/api/v1/contacts/{}/lists", R_CW, h_contact_lists_put,
     "/api/v1/contacts/{id}/lists"},
    {API_GET, "/api/v1/lists", R_CR, h_lists, "/api/v1/lists"},
    {API_GET, "/api/v1/suppressions", R_AD, h_supp_list, "/api/v1/suppressions"},
    {API_GET, "/api/v1/suppressions.csv", R_AD, h_supp_csv, "/api/v1/suppressions.csv"},
    {API_POST, "/api/v1/suppressions", R_AD, h_supp_add, "/api/v1/suppressions"},
    {API_GET, "/api/v1/suppressions/{}", R_AD, h_supp_get, "/api/v1/suppressions/{address}"},
    {API_DELETE, "/api/v1/suppressions/{}", R_AD, h_supp_del, "/api/v1/suppressions/{address}"},
    {API_POST, "/api/v1/bounces", R_BW, h_bounces, "/api/v1/bounces"},
    {API_GET, "/api/v1/events", R_CR, h_events, "/api/v1/events"},
    {API_GET, "/api/v1/events.csv", R_CR, h_events_csv, "/api/v1/events.csv"},
    {API_GET, "/api/v1/events/{}", R_CR, h_event_get, "/api/v1/events/{id}"},
    {API_GET, "/api/v1/events/{}/raw", R_AD, h_event_raw, "/api/v1/events/{id}/raw"},
    {API_GET, "/api/v1/overview", R_CR, h_overview, "/api/v1/overview"},
    {API_GET, "/api/v1/review", R_CR, h_review_list, "/api/v1/review"},
    {API_POST, "/api/v1/review/{}", R_AD, h_review_resolve, "/api/v1/review/{id}"},
    {API_POST, "/api/v1/review/{}/reopen", R_AD, h_review_reopen, "/api/v1/review/{id}/reopen"},
    {API_GET, "/api/v1/rules", R_AD, h_rules_list, "/api/v1/rules"},
    {API_POST, "/api/v1/rules", R_AD, h_rules_add, "/api/v1/rules"},
    {API_GET, "/api/v1/rules/loaded", R_CR, h_rules_loaded, "/api/v1/rules/loaded"},
    {API_POST, "/api/v1/rules/impact", R_AD, h_rules_impact, "/api/v1/rules/impact"},
    {API_DELETE, "/api/v1/rules/{}", R_AD, h_rules_delete, "/api/v1/rules/{id}"},
    {API_GET, "/api/v1/stats", R_CR, h_stats, "/api/v1/stats"},
    {API_GET, "/api/v1/whoami", R_CR, h_whoami, "/api/v1/whoami"},
    {API_GET, "/api/v1/settings", R_AD, h_settings, "/api/v1/settings"},
    {API_GET, "/api/v1/audit", R_AD, h_audit_list, "/api/v1/audit"},
    {API_POST, "/api/v1/audit/{}/revert", R_AD, h_audit_revert, "/api/v1/audit/{id}/revert"},
    {API_GET, "/api/v1/outages", R_AD, h_outages_list, "/api/v1/outages"},
    {API_GET, "/api/v1/outages/{}", R_AD, h_outage_get, "/api/v1/outages/{id}"},
    {API_POST, "/api/v1/outages/{}/apply", R_AD, h_outage_apply, "/api/v1/outages/{id}/apply"},
    {API_POST, "/api/v1/outages/{}/release", R_AD, h_outage_release,
     "/api/v1/outages/{id}/release"},
    {API_GET, "/api/v1/alerts", R_AD, h_alerts_list, "/api/v1/alerts"},
    {API_POST, "/api/v1/sends", R_BW, h_sends, "/api/v1/sends"},
    {API_POST, "/webhooks/{}", 0, h_webhook, "/webhooks/{esp}"},
};

const struct api_route *
api_routes(size_t *n_out)
{
    *n_out = sizeof(api_route_table) / sizeof(api_route_table[0]);
    return api_route_table;
}
