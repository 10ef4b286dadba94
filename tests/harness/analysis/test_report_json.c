/*
 * test_report_json.c — harness/analysis/report_json.c: the server's document
 * names its request counter for what it counts (stats.requests_parsed: every
 * request parsed, 4xx/5xx included, beside responses by class), and the
 * client's document carries the end-of-window accounting (in flight at the
 * end, late responses, unsent, the drain bound, unanswered errors).
 */
#include "harness/analysis/report_json.h"

#include <criterion/criterion.h>
#include <string.h>

static struct netio *open_kernel(void)
{
    char err[256];
    struct netio_config nc = {.cpu = -1};
    struct netio *io = netio_open("kernel", &nc, err, sizeof(err));
    cr_assert(io, "netio_open(kernel): %s", err);
    return io;
}

static json_int_t jint(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    cr_assert(json_is_integer(v), "no integer '%s'", k);
    return json_integer_value(v);
}

Test(report_json, server_counts_requests_parsed)
{
    struct srv_stats st;
    memset(&st, 0, sizeof(st));
    st.requests_parsed = 5;
    st.responses[2] = 3, st.responses[4] = 1, st.responses[5] = 1;
    struct netio *io = open_kernel();
    json_t *j = report_server_json("kernel", &st, io, 1);
    json_t *ss = json_object_get(j, "stats");
    cr_expect_eq(jint(ss, "requests_parsed"), 5);
    cr_expect_null(json_object_get(ss, "requests"), "the old name, which read as 'served'");
    json_t *rc = json_object_get(ss, "responses");
    cr_expect_eq(jint(rc, "2xx") + jint(rc, "4xx") + jint(rc, "5xx"), 5);
    json_decref(j);
    netio_destroy(io);
}

Test(report_json, client_end_of_window_fields)
{
    struct wl_spec s;
    wl_spec_defaults(&s);
    static struct lg_result r; /* the histogram is large */
    memset(&r, 0, sizeof(r));
    hist_init(&r.latency);
    r.requests = 100, r.requests_total = 103, r.sent_total = 104;
    r.inflight_at_end = 4, r.late_responses = 3, r.unsent_at_end = 7, r.drain_ns = 1000000000;
    r.errors[LG_ERR_UNANSWERED] = 1, r.errors_total = 1;
    r.measured_ns = 1000000000;
    struct netio *io = open_kernel();
    json_t *j = report_client_json(&s, "kernel", "http://127.0.0.1/", &r, io, 1, NULL);
    cr_expect_eq(jint(j, "inflight_at_end"), 4);
    cr_expect_eq(jint(j, "late_responses"), 3);
    cr_expect_eq(jint(j, "unsent_at_end"), 7);
    cr_expect_eq(jint(j, "drain_ns"), 1000000000);
    cr_expect_eq(jint(json_object_get(j, "errors"), "unanswered"), 1);
    cr_expect_eq(jint(j, "errors_total"), 1);
    json_decref(j);
    netio_destroy(io);
}
