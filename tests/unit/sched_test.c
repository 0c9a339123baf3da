/*
 * sched: time zones from the system's TZif files and from POSIX TZ
 * strings, business hours over a whole week across a daylight-saving
 * change (Europe/Berlin 2026-03-29, America/New_York 2026-11-01),
 * holidays, rotations with weekly and daily handovers, overrides, and
 * the config's complaints. No sockets; the zone files are read here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alloc.h"
#include "buf.h"
#include "check.h"
#include "sched.h"

#define ZONEINFO "/usr/share/zoneinfo"
#define H (3600 * 1000LL)
#define M (60 * 1000LL)

/* An instant: a UTC date and time, in ms. */
static int64_t
utc(int y, int mo, int d, int h, int mi)
{
    return (int64_t)sched_days_from_civil(y, mo, d) * 86400000LL +
        (int64_t)h * H + (int64_t)mi * M;
}

static struct sched_zone *
zone_load(void *arg, const char *name, char *err, size_t errlen)
{
    char path[512];
    struct sched_zone *z;
    unsigned char *data;
    long n;
    FILE *fp;

    (void)arg;
    snprintf(path, sizeof(path), "%s/%s", ZONEINFO, name);
    if ((fp = fopen(path, "rb")) == NULL) {
        snprintf(err, errlen, "no such time zone");
        return NULL;
    }
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    rewind(fp);
    if (n <= 0 || (data = xmalloc((size_t)n)) == NULL) {
        fclose(fp);
        snprintf(err, errlen, "cannot read");
        return NULL;
    }
    if (fread(data, 1, (size_t)n, fp) != (size_t)n) {
        fclose(fp);
        xfree(data);
        snprintf(err, errlen, "cannot read");
        return NULL;
    }
    fclose(fp);
    z = sched_zone_parse(name, data, (size_t)n, err, errlen);
    xfree(data);
    return z;
}

static struct buf errs;

static void
collect_err(void *arg, const char *path, const char *msg)
{
    (void)arg;
    buf_printf(&errs, "%s: %s\n", path, msg);
}

static struct sched *
sched_from(const char *json)
{
    json_error_t jerr;
    json_t *def = json_loads(json, 0, &jerr);
    struct sched *s;

    if (def == NULL) {
        fprintf(stderr, "  bad test JSON: %s\n", jerr.text);
        return NULL;
    }
    buf_reset(&errs);
    s = sched_parse("team", def, "escalation.teams.team", zone_load, NULL,
        collect_err, NULL);
    json_decref(def);
    if (s == NULL)
        fprintf(stderr, "  %s", errs.data ? errs.data : "(no error)\n");
    return s;
}

static int
test_dates(void)
{
    int rc = 0, y, m, d;
    int32_t days;

    CHECK(sched_days_from_civil(1970, 1, 1) == 0);
    CHECK(sched_weekday(0) == 4);       /* a Thursday */
    CHECK(sched_weekday(sched_days_from_civil(2026, 3, 29)) == 0);
    sched_civil_from_days(sched_days_from_civil(2028, 2, 29), &y, &m, &d);
    CHECK(y == 2028 && m == 2 && d == 29);
    CHECK(sched_parse_date("2026-02-29", &days) == -1);
    CHECK(sched_parse_date("2028-02-29", &days) == 0);
    CHECK(sched_parse_date("2026-13-01", &days) == -1);
    CHECK(sched_parse_date("26-01-01", &days) == -1);
    CHECK(sched_parse_date("2026-11-01", &days) == 0 &&
        days == sched_days_from_civil(2026, 11, 1));
out:
    return rc;
}

static int
test_zone_berlin(void)
{
    struct sched_zone *z;
    char err[128];
    int rc = 0;

    CHECK((z = zone_load(NULL, "Europe/Berlin", err, sizeof(err))) != NULL);
    CHECK_STR(sched_zone_name(z), "Europe/Berlin");
    /* Summer time starts 2026-03-29 01:00 UTC (02:00 CET -> 03:00). */
    CHECK(sched_zone_offset(z, utc(2026, 3, 29, 1, 0) - 1) == 3600);
    CHECK(sched_zone_offset(z, utc(2026, 3, 29, 1, 0)) == 7200);
    CHECK(sched_zone_offset(z, utc(2026, 10, 25, 1, 0) - 1) == 7200);
    CHECK(sched_zone_offset(z, utc(2026, 10, 25, 1, 0)) == 3600);
    /* Past the file's last transition the POSIX rule at its end rules. */
    CHECK(sched_zone_offset(z, utc(2040, 3, 25, 1, 0) - 1) == 3600);
    CHECK(sched_zone_offset(z, utc(2040, 3, 25, 1, 0)) == 7200);
    CHECK(sched_zone_offset(z, utc(2040, 12, 1, 12, 0)) == 3600);
    /* 02:30 on 2026-03-29 does not exist: the offset before the gap
     * makes it 01:30 UTC, which is 03:30 summer time. */
    CHECK(sched_zone_from_local(z, utc(2026, 3, 29, 2, 30)) ==
        utc(2026, 3, 29, 1, 30));
    CHECK(sched_zone_from_local(z, utc(2026, 3, 29, 1, 59)) ==
        utc(2026, 3, 29, 0, 59));
    CHECK(sched_zone_from_local(z, utc(2026, 3, 29, 3, 0)) ==
        utc(2026, 3, 29, 1, 0));
    /* 02:30 on 2026-10-25 happens twice: the first, in summer time. */
    CHECK(sched_zone_from_local(z, utc(2026, 10, 25, 2, 30)) ==
        utc(2026, 10, 25, 0, 30));
out:
    sched_zone_free(z);
    return rc;
}

static int
test_zone_new_york(void)
{
    struct sched_zone *z;
    char err[128];
    int rc = 0;

    CHECK((z = zone_load(NULL, "America/New_York", err, sizeof(err))) !=
        NULL);
    CHECK(sched_zone_offset(z, utc(2026, 3, 8, 7, 0) - 1) == -18000);
    CHECK(sched_zone_offset(z, utc(2026, 3, 8, 7, 0)) == -14400);
    /* Standard time returns 2026-11-01 06:00 UTC (02:00 EDT -> 01:00). */
    CHECK(sched_zone_offset(z, utc(2026, 11, 1, 6, 0) - 1) == -14400);
    CHECK(sched_zone_offset(z, utc(2026, 11, 1, 6, 0)) == -18000);
    /* 01:30 that night happens twice: the first is 05:30 UTC. */
    CHECK(sched_zone_from_local(z, utc(2026, 11, 1, 1, 30)) ==
        utc(2026, 11, 1, 5, 30));
    CHECK(sched_zone_from_local(z, utc(2026, 11, 1, 0, 30)) ==
        utc(2026, 11, 1, 4, 30));
    CHECK(sched_zone_from_local(z, utc(2026, 11, 1, 2, 30)) ==
        utc(2026, 11, 1, 7, 30));
out:
    sched_zone_free(z);
    return rc;
}

static int
test_zone_posix(void)
{
    struct sched_zone *z = NULL, *ny = NULL;
    char err[128];
    int rc = 0;

    CHECK((z = sched_zone_posix("x", "EST5EDT,M3.2.0,M11.1.0", err,
        sizeof(err))) != NULL);
    CHECK((ny = zone_load(NULL, "America/New_York", err, sizeof(err))) !=
        NULL);
    for (int64_t t = utc(2026, 1, 1, 0, 0); t < utc(2027, 1, 1, 0, 0);
        t += 3 * H + 17 * M)
        CHECK(sched_zone_offset(z, t) == sched_zone_offset(ny, t));
    sched_zone_free(z);
    CHECK((z = sched_zone_posix("x", "UTC0", err, sizeof(err))) != NULL);
    CHECK(sched_zone_offset(z, utc(2026, 7, 1, 0, 0)) == 0);
    sched_zone_free(z);
    CHECK((z = sched_zone_posix("x", "<+03>-3", err, sizeof(err))) != NULL);
    CHECK(sched_zone_offset(z, utc(2026, 7, 1, 0, 0)) == 10800);
    sched_zone_free(z);
    /* The southern hemisphere: summer time spans the new year. */
    CHECK((z = sched_zone_posix("x", "AEST-10AEDT,M10.1.0,M4.1.0/3", err,
        sizeof(err))) != NULL);
    CHECK(sched_zone_offset(z, utc(2026, 1, 15, 0, 0)) == 39600);
    CHECK(sched_zone_offset(z, utc(2026, 7, 1, 0, 0)) == 36000);
    sched_zone_free(z);
    z = NULL;
    CHECK(sched_zone_posix("x", "EST", err, sizeof(err)) == NULL);
    CHECK(sched_zone_posix("x", "EST5EDT,M13.1.0,M11.1.0", err,
        sizeof(err)) == NULL);
    CHECK(sched_zone_parse("x", "TZif", 4, err, sizeof(err)) == NULL);
    CHECK_CONTAINS(err, "not a TZif file");
    CHECK(!sched_zone_name_ok("../etc/passwd"));
    CHECK(!sched_zone_name_ok("/etc/passwd"));
    CHECK(sched_zone_name_ok("America/Argentina/Buenos_Aires"));
    CHECK(sched_zone_name_ok("Etc/GMT+5"));
out:
    sched_zone_free(z);
    sched_zone_free(ny);
    return rc;
}

/*
 * A week in Berlin, Monday 2026-03-23 to Monday 2026-03-30, with summer
 * time starting on the Sunday: every change of business time in order,
 * the business milliseconds, and SLA clocks that run over the weekend.
 */
static int
test_week_berlin(void)
{
    struct sched *s;
    int rc = 0;
    const int64_t want[] = {
        utc(2026, 3, 23, 8, 0), utc(2026, 3, 23, 16, 0),
        utc(2026, 3, 24, 8, 0), utc(2026, 3, 24, 16, 0),
        utc(2026, 3, 25, 8, 0), utc(2026, 3, 25, 16, 0),
        utc(2026, 3, 26, 8, 0), utc(2026, 3, 26, 16, 0),
        /* Friday 27 is a holiday; Sunday 01:00 CET to 04:00 CEST is two
         * hours of real time. */
        utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 2, 0),
        /* Monday 09:00 is now 07:00 UTC. */
        utc(2026, 3, 30, 7, 0), utc(2026, 3, 30, 15, 0),
    };
    int64_t t = utc(2026, 3, 22, 23, 0);    /* Monday 00:00 CET */

    s = sched_from("{\"timezone\":\"Europe/Berlin\",\"hours\":{"
        "\"weekdays\":\"09:00-17:00\",\"sun\":\"01:00-04:00\"},"
        "\"holidays\":[\"2026-03-27\"]}");
    CHECK(s != NULL);
    CHECK(!sched_is_business(s, t));
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        int64_t c = sched_next_business_change(s, t);

        if (c != want[i])
            fprintf(stderr, "  change %zu: %lld, want %lld\n", i,
                (long long)c, (long long)want[i]);
        CHECK(c == want[i]);
        CHECK(sched_is_business(s, c) == (i % 2 == 0));
        CHECK(sched_is_business(s, c - 1) == (i % 2 == 1));
        t = c;
    }
    CHECK(sched_business_ms_between(s, utc(2026, 3, 22, 23, 0),
        utc(2026, 3, 29, 22, 0)) == 34 * H);
    CHECK(sched_business_ms_between(s, utc(2026, 3, 23, 12, 0),
        utc(2026, 3, 23, 12, 30)) == 30 * M);
    CHECK(sched_business_ms_between(s, utc(2026, 3, 27, 0, 0),
        utc(2026, 3, 28, 0, 0)) == 0);
    CHECK(sched_is_business(s, utc(2026, 3, 29, 1, 30)));   /* 03:30 */
    CHECK(!sched_is_business(s, utc(2026, 3, 27, 10, 0)));  /* holiday */
    /* An hour of business time from Thursday 16:30: half an hour on
     * Thursday, then Sunday night's first half hour. */
    CHECK(sched_business_add(s, utc(2026, 3, 26, 15, 30), 1 * H) ==
        utc(2026, 3, 29, 0, 30));
    /* Three hours: the rest is Monday morning, in summer time. */
    CHECK(sched_business_add(s, utc(2026, 3, 26, 15, 30), 3 * H) ==
        utc(2026, 3, 30, 7, 30));
    CHECK(sched_business_add(s, utc(2026, 3, 23, 12, 0), 0) ==
        utc(2026, 3, 23, 12, 0));
    CHECK(sched_business_add(s, utc(2026, 3, 23, 20, 0), 0) ==
        utc(2026, 3, 24, 8, 0));
out:
    sched_free(s);
    return rc;
}

static int
test_fall_back_new_york(void)
{
    struct sched *s;
    int rc = 0;

    s = sched_from("{\"timezone\":\"America/New_York\",\"hours\":{"
        "\"sun\":\"00:00-03:00\",\"weekdays\":\"09:00-17:00\"}}");
    CHECK(s != NULL);
    /* Sunday 2026-11-01 00:00 EDT to 03:00 EST: four hours. */
    CHECK(sched_next_business_change(s, utc(2026, 10, 31, 22, 0)) ==
        utc(2026, 11, 1, 4, 0));
    CHECK(sched_next_business_change(s, utc(2026, 11, 1, 4, 0)) ==
        utc(2026, 11, 1, 8, 0));
    CHECK(sched_business_ms_between(s, utc(2026, 10, 31, 0, 0),
        utc(2026, 11, 2, 0, 0)) == 4 * H);
    /* 09:00 is 13:00 UTC on Friday and 14:00 UTC on Monday. */
    CHECK(sched_is_business(s, utc(2026, 10, 30, 13, 0)));
    CHECK(!sched_is_business(s, utc(2026, 11, 2, 13, 30)));
    CHECK(sched_is_business(s, utc(2026, 11, 2, 14, 0)));
    /* Ten weekdays, the long Sunday and the next one's three hours. */
    CHECK(sched_business_ms_between(s, utc(2026, 10, 26, 0, 0),
        utc(2026, 11, 9, 0, 0)) == 10 * 8 * H + 4 * H + 3 * H);
out:
    sched_free(s);
    return rc;
}

static int
test_no_hours(void)
{
    struct sched *s;
    int rc = 0;

    s = sched_from("{\"timezone\":\"UTC\",\"hours\":{\"weekdays\":"
        "\"closed\"}}");
    CHECK(s != NULL);
    CHECK(!sched_is_business(s, utc(2026, 3, 23, 12, 0)));
    CHECK(sched_next_business_change(s, utc(2026, 3, 23, 12, 0)) ==
        SCHED_NEVER);
    CHECK(sched_business_add(s, utc(2026, 3, 23, 12, 0), H) == SCHED_NEVER);
    sched_free(s);
    /* Around the clock: one interval, never a change within two years. */
    s = sched_from("{\"timezone\":\"Europe/Berlin\",\"hours\":{"
        "\"weekdays\":\"00:00-24:00\",\"weekend\":\"00:00-24:00\"}}");
    CHECK(s != NULL);
    CHECK(sched_is_business(s, utc(2026, 3, 29, 1, 30)));
    CHECK(sched_next_business_change(s, utc(2026, 3, 29, 1, 30)) ==
        SCHED_NEVER);
    CHECK(sched_business_ms_between(s, utc(2026, 3, 28, 23, 0),
        utc(2026, 3, 29, 22, 0)) == 23 * H);
out:
    sched_free(s);
    return rc;
}

/* Weekly rotation, Monday 09:00 Berlin, with an override on Wednesday. */
static int
test_rotation_weekly(void)
{
    struct sched_oncall oc;
    struct sched *s;
    int rc = 0;

    s = sched_from("{\"timezone\":\"Europe/Berlin\",\"rotation\":{"
        "\"members\":[\"alice\",\"bob\",\"carol\"],\"handover\":\"weekly\","
        "\"day\":\"mon\",\"at\":\"09:00\",\"start\":\"2026-03-02\"},"
        "\"overrides\":{\"2026-03-25\":\"dave\"},\"lead\":\"erin\"}");
    CHECK(s != NULL);
    /* Week 3 from the start: alice, from 09:00 CET (08:00 UTC). */
    sched_oncall_at(s, utc(2026, 3, 23, 7, 59), &oc);
    CHECK_STR(oc.oncall, "carol");
    CHECK(oc.next_at == utc(2026, 3, 23, 8, 0));
    CHECK_STR(oc.next, "alice");
    sched_oncall_at(s, utc(2026, 3, 23, 8, 0), &oc);
    CHECK_STR(oc.oncall, "alice");
    CHECK_STR(oc.backup, "bob");
    CHECK_STR(oc.lead, "erin");
    /* The override covers Wednesday, local midnight to midnight. */
    CHECK(oc.next_at == utc(2026, 3, 24, 23, 0));
    CHECK_STR(oc.next, "dave");
    sched_oncall_at(s, utc(2026, 3, 25, 12, 0), &oc);
    CHECK_STR(oc.oncall, "dave");
    CHECK_STR(oc.backup, "bob");
    CHECK(oc.next_at == utc(2026, 3, 25, 23, 0));
    CHECK_STR(oc.next, "alice");
    /* The next handover is Monday 09:00 summer time: 07:00 UTC. */
    CHECK(sched_next_handover(s, utc(2026, 3, 26, 12, 0)) ==
        utc(2026, 3, 30, 7, 0));
    sched_oncall_at(s, utc(2026, 3, 28, 12, 0), &oc);
    CHECK(oc.next_at == utc(2026, 3, 30, 7, 0));
    CHECK_STR(oc.next, "bob");
    sched_oncall_at(s, utc(2026, 3, 30, 7, 0), &oc);
    CHECK_STR(oc.oncall, "bob");
    CHECK_STR(oc.backup, "carol");
    /* Before the start the rotation runs backwards the same way. */
    sched_oncall_at(s, utc(2026, 2, 24, 12, 0), &oc);
    CHECK_STR(oc.oncall, "carol");
    CHECK(sched_names(s, "dave") && sched_names(s, "erin") &&
        !sched_names(s, "zoe"));
out:
    sched_free(s);
    return rc;
}

/* Daily handovers at times a DST change skips or repeats. */
static int
test_rotation_daily_dst(void)
{
    struct sched_oncall oc;
    struct sched *s;
    int rc = 0;

    s = sched_from("{\"timezone\":\"Europe/Berlin\",\"rotation\":{"
        "\"members\":[\"a\",\"b\"],\"handover\":\"daily\",\"at\":\"02:30\","
        "\"start\":\"2026-03-27\"}}");
    CHECK(s != NULL);
    CHECK(sched_next_handover(s, utc(2026, 3, 27, 12, 0)) ==
        utc(2026, 3, 28, 1, 30));
    /* 02:30 does not exist on the 29th: the handover is at 03:30. */
    CHECK(sched_next_handover(s, utc(2026, 3, 28, 12, 0)) ==
        utc(2026, 3, 29, 1, 30));
    CHECK(sched_next_handover(s, utc(2026, 3, 29, 1, 30)) ==
        utc(2026, 3, 30, 0, 30));
    sched_oncall_at(s, utc(2026, 3, 29, 1, 29), &oc);
    CHECK_STR(oc.oncall, "b");
    CHECK_STR(oc.backup, "a");
    sched_oncall_at(s, utc(2026, 3, 29, 1, 30), &oc);
    CHECK_STR(oc.oncall, "a");
    CHECK(oc.next_at == utc(2026, 3, 30, 0, 30));
    sched_free(s);

    /* 01:30 happens twice in New York on 2026-11-01: the first. */
    s = sched_from("{\"timezone\":\"America/New_York\",\"rotation\":{"
        "\"members\":[\"x\",\"y\",\"z\"],\"handover\":\"daily\","
        "\"at\":\"01:30\"},\"backup\":\"w\"}");
    CHECK(s != NULL);
    CHECK(sched_next_handover(s, utc(2026, 10, 31, 12, 0)) ==
        utc(2026, 11, 1, 5, 30));
    CHECK(sched_next_handover(s, utc(2026, 11, 1, 5, 30)) ==
        utc(2026, 11, 2, 6, 30));
    sched_oncall_at(s, utc(2026, 11, 1, 6, 0), &oc);
    CHECK_STR(oc.backup, "w");
    CHECK(oc.next_at == utc(2026, 11, 2, 6, 30));
out:
    sched_free(s);
    return rc;
}

static int
test_parse_errors(void)
{
    json_t *def = NULL;
    struct sched *s = NULL;
    int rc = 0;

    def = json_pack("{s:s,s:{s:s,s:s,s:s},s:[s],s:{s:[s],s:s,s:s},s:s,"
        "s:s}", "timezone", "Mars/Olympus", "hours", "mon", "17:00-09:00",
        "tue", "9-17", "funday", "10:00-11:00", "holidays", "2026-02-30",
        "rotation", "members", "a b", "day", "mon", "start", "2026-03-03",
        "lead", "", "colour", "red");
    CHECK(def != NULL);
    buf_reset(&errs);
    s = sched_parse("team", def, "escalation.teams.team", zone_load, NULL,
        collect_err, NULL);
    CHECK(s == NULL);
    CHECK_CONTAINS(errs.data, "escalation.teams.team.timezone: no such "
        "time zone");
    CHECK_CONTAINS(errs.data, "escalation.teams.team.hours.mon: a range "
        "must end after it starts");
    CHECK_CONTAINS(errs.data, "escalation.teams.team.hours.tue: expected "
        "\"HH:MM-HH:MM\"");
    CHECK_CONTAINS(errs.data, "hours.funday: unknown key");
    CHECK_CONTAINS(errs.data, "escalation.teams.team.holidays: [0]: "
        "expected a date");
    CHECK_CONTAINS(errs.data, "rotation.members: expected a person's name");
    CHECK_CONTAINS(errs.data, "rotation.start: must be a mon");
    CHECK_CONTAINS(errs.data, "escalation.teams.team.lead: expected a "
        "person's name");
    CHECK_CONTAINS(errs.data, "escalation.teams.team.colour: unknown key");
    json_decref(def);
    def = json_pack("{s:s}", "timezone", "../../etc/passwd");
    buf_reset(&errs);
    CHECK(sched_parse("t", def, "p", zone_load, NULL, collect_err, NULL) ==
        NULL);
    CHECK_CONTAINS(errs.data, "p.timezone: expected an IANA time zone");
out:
    json_decref(def);
    sched_free(s);
    return rc;
}

static const struct check_case cases[] = {
    { "dates", test_dates },
    { "zone_berlin", test_zone_berlin },
    { "zone_new_york", test_zone_new_york },
    { "zone_posix", test_zone_posix },
    { "week_berlin", test_week_berlin },
    { "fall_back_new_york", test_fall_back_new_york },
    { "no_hours", test_no_hours },
    { "rotation_weekly", test_rotation_weekly },
    { "rotation_daily_dst", test_rotation_daily_dst },
    { "parse_errors", test_parse_errors },
};

int
main(void)
{
    int rc;

    alloc_init();
    buf_init(&errs, 1u << 20);
    rc = check_run(cases, sizeof(cases) / sizeof(cases[0]));
    buf_free(&errs);
    return rc;
}
