/*
 * sched: business hours, holidays and on-call rotations of one team, in
 * the team's time zone (docs/escalation.md, "Schedules"). Pure: no I/O,
 * no clock. Times are milliseconds since the epoch (UTC); the zone turns
 * them into the team's wall clock and back, daylight saving included.
 *
 * Time zones are the system's compiled tz database (TZif files, RFC
 * 8536, under /usr/share/zoneinfo): the caller reads the file and
 * sched_zone_parse decodes it, transitions plus the POSIX TZ rule at its
 * end for the years past them. A wall-clock time that does not exist
 * (02:30 on a spring-forward night) is taken with the offset in force
 * before the gap, which lands after it (03:30); one that happens twice
 * (01:30 on a fall-back night) is the first of the two.
 */
#ifndef INBOXD_SCHED_H
#define INBOXD_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* "Never", for the functions that look ahead (two years at most). */
#define SCHED_NEVER INT64_MAX

struct sched_zone;
struct sched;

/* ------------------------------------------------------------- zones */

/*
 * Decode a TZif file of len bytes (data borrowed) for zone name
 * (copied). Returns a new zone, or NULL with the reason in err.
 */
struct sched_zone *sched_zone_parse(const char *name, const void *data,
    size_t len, char *err, size_t errlen);

/*
 * A zone from a POSIX TZ string alone ("CET-1CEST,M3.5.0,M10.5.0/3",
 * "UTC0"), as the end of a TZif file carries it. NULL with err when it
 * does not parse.
 */
struct sched_zone *sched_zone_posix(const char *name, const char *tz,
    char *err, size_t errlen);

void sched_zone_free(struct sched_zone *z);
const char *sched_zone_name(const struct sched_zone *z);

/* Is name a plausible IANA zone name (safe to join to a directory)? */
bool sched_zone_name_ok(const char *name);

/* Seconds east of UTC in force at t (ms). */
int32_t sched_zone_offset(const struct sched_zone *z, int64_t t_ms);

/*
 * The instant (ms) of wall-clock time local_ms in z, local_ms being that
 * wall-clock time read as if it were UTC. Gaps and repeats as above.
 */
int64_t sched_zone_from_local(const struct sched_zone *z, int64_t local_ms);

/* ------------------------------------------------------- calendar days */

/* Days since 1970-01-01 of a civil date, and back. */
int32_t sched_days_from_civil(int y, int m, int d);
void sched_civil_from_days(int32_t days, int *y, int *m, int *d);
/* 0 Sunday .. 6 Saturday. */
int sched_weekday(int32_t days);
/* "2026-03-29" into days; -1 when it is not a valid date. */
int sched_parse_date(const char *s, int32_t *days);

/* ----------------------------------------------------------- schedules */

/* Called once per problem: where (a key path) and what. */
typedef void sched_err_fn(void *arg, const char *path, const char *msg);
/*
 * Find the zone named name (an IANA name): a new zone, or NULL with the
 * reason in err. The caller's, so that this module does no I/O.
 */
typedef struct sched_zone *sched_zone_fn(void *arg, const char *name,
    char *err, size_t errlen);

/*
 * One team's schedule from its config mapping (def: every scalar a
 * string, as the config hands it over; borrowed), named name (copied):
 *
 *   timezone: Europe/Berlin
 *   hours: {mon: "09:00-17:00", ..., sat: closed}   ranges comma separated
 *   holidays: [2026-12-25, ...]
 *   rotation: {members: [a, b], handover: weekly|daily, day: mon,
 *              at: "09:00", start: 2026-03-02}
 *   overrides: {2026-03-29: dave}
 *   backup: erin      (default: the next member of the rotation)
 *   lead: carol
 *
 * Problems are reported through err with path + ".<key>". Returns the
 * schedule, or NULL when anything was wrong (every problem reported).
 */
struct sched *sched_parse(const char *name, json_t *def, const char *path,
    sched_zone_fn *zone_fn, void *zone_arg, sched_err_fn *err,
    void *err_arg);

void sched_free(struct sched *s);

const char *sched_name(const struct sched *s);
const struct sched_zone *sched_zone(const struct sched *s);

/* Is t inside business hours (and not on a holiday)? */
bool sched_is_business(const struct sched *s, int64_t t);

/* The first instant after t where that answer changes; SCHED_NEVER. */
int64_t sched_next_business_change(const struct sched *s, int64_t t);

/* Business milliseconds in [a, b). */
int64_t sched_business_ms_between(const struct sched *s, int64_t a,
    int64_t b);

/*
 * The instant when ms business milliseconds have passed since a
 * (a itself when ms is 0 and a is business time); SCHED_NEVER.
 */
int64_t sched_business_add(const struct sched *s, int64_t a, int64_t ms);

/* Who covers an instant. Strings borrowed from the schedule; NULL: none. */
struct sched_oncall {
    const char *oncall;         /* the rotation's member, or an override */
    const char *backup;
    const char *lead;
    int64_t next_at;            /* the next change of oncall; SCHED_NEVER */
    const char *next;           /* who is on call from next_at */
};

void sched_oncall_at(const struct sched *s, int64_t t,
    struct sched_oncall *out);

/* The next rotation handover after t (overrides aside); SCHED_NEVER. */
int64_t sched_next_handover(const struct sched *s, int64_t t);

/* Does the schedule name person (member, override, backup or lead)? */
bool sched_names(const struct sched *s, const char *person);

#endif
