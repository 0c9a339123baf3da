/*
 * main: options, the -n check, the classify tool, startup order, signal
 * events, the loop, draining and exit.
 *
 *   inboxd -c FILE          run in the foreground
 *   inboxd -n -c FILE       check config and rules, print the verdict, exit
 *   inboxd classify -c FILE JSON Lines items on stdin -> one result per line
 *
 * Startup may call fatalx(); once the loop runs nothing exits the process
 * but the loop's own end.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "actions.h"
#include "alloc.h"
#include "buf.h"
#include "classify.h"
#include "config.h"
#include "curlev.h"
#include "daemon.h"
#include "desk.h"
#include "escalate.h"
#include "events.h"
#include "http.h"
#include "item.h"
#include "log.h"
#include "metrics.h"
#include "pipeline.h"
#include "poller.h"
#include "queue.h"
#include "rules.h"
#include "spool.h"
#include "util.h"
#include "web.h"

#define MAIN_DRAIN_POLL_MS 20
/*
 * Once no item is in flight, how long a drain still waits for replies to
 * be written out. libevent does not report a reply whose connection died
 * mid-write, so this wait is bounded on its own.
 */
#define MAIN_DRAIN_FLUSH_MS 1000

static void
main_usage(void)
{
    fprintf(stderr,
        "usage: inboxd [-n] [-d subsystems] -c config.yml\n"
        "       inboxd classify -c config.yml < items.jsonl\n"
        "  -c FILE   configuration file\n"
        "  -n        check the configuration and rules, then exit\n"
        "  -d LIST   debug lines for subsystems (queue,http,pipeline or all)\n"
        "  -V        print the version\n");
    exit(2);
}

/* Print each collected error line with a prefix; used at startup. */
static void
main_print_errors(const char *prefix, const struct buf *errors)
{
    const char *p = errors->data ? errors->data : "";

    while (*p) {
        const char *nl = strchr(p, '\n');
        int n = nl ? (int)(nl - p) : (int)strlen(p);

        fprintf(stderr, "%s%.*s\n", prefix, n, p);
        p += n + (nl != NULL);
    }
}

static struct config *
main_load(const char *path)
{
    struct config *cfg;
    struct buf errors;

    buf_init(&errors, 64 * 1024);
    cfg = config_load(path, &errors);
    if (cfg == NULL) {
        main_print_errors("inboxd: ", &errors);
        if (errors.len == 0)
            fprintf(stderr, "inboxd: %s: cannot load\n", path);
    }
    buf_free(&errors);
    return cfg;
}

/*
 * The rules part of -n: figures on stdout, then rules_check's warnings
 * and notes on stderr. They do not fail the check (docs/rules.md); only
 * running out of memory does.
 */
static int
main_check_rules(const char *conf, struct rules *rules)
{
    struct rules_info info;
    struct buf report;
    int warnings;

    rules_get_info(rules, &info);
    printf("%s: rules: %zu enabled (%zu meta, %zu shadow), %zu examples "
        "passed, %zu patterns prefiltered, %zu run on every item, loaded "
        "in %.0f ms\n", conf, info.rules, info.meta, info.shadow,
        info.examples, info.prefiltered, info.always_run,
        (double)info.load_ns / 1e6);
    /* The verdict first: the report can be long. */
    fflush(stdout);
    buf_init(&report, 1024 * 1024);
    warnings = rules_check(rules, &report);
    if (warnings >= 0) {
        main_print_errors("inboxd: ", &report);
        if (warnings > 0)
            fprintf(stderr, "inboxd: %d rule warning%s (not fatal)\n",
                warnings, warnings == 1 ? "" : "s");
    } else {
        fprintf(stderr, "inboxd: rules check: out of memory\n");
    }
    buf_free(&report);
    return warnings >= 0 ? 0 : 1;
}

/* The spool part of -n: an unusable spool.dir fails the check. */
static int
main_check_spool(const char *conf, const struct config *cfg)
{
    char msg[PATH_MAX + 256];
    int rc = spool_check(cfg, msg, sizeof(msg));

    if (rc == -1)
        fprintf(stderr, "%s: %s\n", conf, msg);
    else if (rc == 1)
        fprintf(stderr, "%s: warning: %s\n", conf, msg);
    return rc == -1 ? -1 : 0;
}

static void
main_apply_log(const struct config *cfg, const char *debug_opt)
{
    log_set_level(cfg->log.level);
    log_set_debug(debug_opt ? debug_opt : cfg->log.debug);
}

/* ------------------------------------------------------- signals, drain */

int
daemon_reload(struct daemon *d)
{
    struct config *cfg;
    struct buf errors;
    char diff[256];
    const char *p;

    buf_init(&errors, 64 * 1024);
    cfg = config_load(d->config_path, &errors);
    if (cfg == NULL) {
        for (p = errors.data ? errors.data : ""; *p;) {
            const char *nl = strchr(p, '\n');
            int n = nl ? (int)(nl - p) : (int)strlen(p);

            log_error("%.*s", n, p);
            p += n + (nl != NULL);
        }
        log_error("reload failed; keeping the running configuration");
        metrics_add(d->metrics, "inboxd_reloads_total", "result", "failed",
            1);
        buf_free(&errors);
        return -1;
    }
    buf_free(&errors);
    config_diff_immutable(d->cfg, cfg, diff, sizeof(diff));
    if (diff[0] != '\0')
        log_warnx("reload cannot change %s; restart inboxd to apply", diff);
    config_unref(d->cfg);
    d->cfg = cfg;
    main_apply_log(cfg, NULL);
    http_apply_config(d->http);
    spool_apply_config(d->spool);
    queue_apply_config(d->queue, cfg);
    queue_ensure_groups(d->queue, cfg->queue.names, cfg->queue.nnames,
        cfg->queue.group);
    poller_reload(d->poller);   /* polling: new, changed, removed */
    metrics_add(d->metrics, "inboxd_reloads_total", "result", "ok", 1);
    log_info("reloaded %s: %zu rules, %zu routes", d->config_path,
        rules_count(cfg->ruleset), cfg->routes.nrules);
    return 0;
}

static void
main_drain_cb(evutil_socket_t fd, short what, void *arg)
{
    struct daemon *d = arg;
    int64_t now = util_now_ms();

    (void)fd;
    (void)what;
    if (d->inflight == 0 && actions_busy(d->actions) == 0 &&
        d->drain_flush_ms == 0)
        d->drain_flush_ms = now;
    if (d->inflight == 0 && actions_busy(d->actions) == 0 &&
        (http_unsent(d->http) == 0 ||
        now - d->drain_flush_ms >= MAIN_DRAIN_FLUSH_MS)) {
        log_info("drained; exiting");
        event_base_loopexit(d->base, NULL);
    } else if (now >= d->drain_deadline_ms) {
        log_warnx("drain deadline passed with %u items unanswered, %u "
            "replies unsent and %u actions in flight; senders will retry, "
            "actions are taken over", d->inflight, http_unsent(d->http),
            actions_busy(d->actions));
        event_base_loopexit(d->base, NULL);
    }
}

void
daemon_shutdown(struct daemon *d)
{
    struct timeval tv = {0, MAIN_DRAIN_POLL_MS * 1000};

    d->draining = true;
    d->drain_deadline_ms = util_now_ms() + d->cfg->shutdown.drain_timeout_ms;
    http_stop_accepting(d->http);
    events_stop(d->events);     /* end the event streams: nothing to wait */
    poller_stop(d->poller);     /* polling: finish batches, give leases */
    actions_stop(d->actions);   /* take no more; in-flight ones finish */
    log_info("shutting down: %u items in flight, deadline %lld ms",
        d->inflight, (long long)d->cfg->shutdown.drain_timeout_ms);
    d->ev_drain = event_new(d->base, -1, EV_PERSIST, main_drain_cb, d);
    if (d->ev_drain == NULL || event_add(d->ev_drain, &tv) == -1)
        event_base_loopexit(d->base, NULL);
    main_drain_cb(-1, 0, d);
}

static void
main_signal_cb(evutil_socket_t sig, short what, void *arg)
{
    struct daemon *d = arg;

    (void)what;
    switch (sig) {
    case SIGHUP:
        log_info("SIGHUP: reloading %s", d->config_path);
        daemon_reload(d);
        break;
    case SIGTERM:
    case SIGINT:
        if (d->draining) {
            log_warnx("second signal: exiting now with %u items unanswered",
                d->inflight);
            event_base_loopbreak(d->base);
            return;
        }
        log_info("%s received", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        daemon_shutdown(d);
        break;
    }
}

/*
 * Become user (and its groups) once the listening socket is bound, like
 * the OpenBSD daemons: nothing after this needs root. Fatal when it
 * cannot be done, so a daemon meant to drop root never runs as root.
 */
static void
main_drop_privileges(const char *user)
{
    struct passwd *pw;

    if ((pw = getpwnam(user)) == NULL)
        fatalx("user %s: no such user", user);
    if (getuid() == pw->pw_uid && geteuid() == pw->pw_uid)
        return;
    if (geteuid() != 0)
        fatalx("user %s: only root can switch to another user", user);
    /* As root, setgid and setuid set the real, effective and saved ids. */
    if (setgroups(0, NULL) == -1 || initgroups(pw->pw_name, pw->pw_gid) ==
        -1 || setgid(pw->pw_gid) == -1 || setuid(pw->pw_uid) == -1)
        fatalx("cannot drop privileges to %s: %s", user, strerror(errno));
    if (setuid(0) != -1)
        fatalx("dropped privileges to %s but could become root again",
            user);
    log_info("running as %s (uid %ld)", user, (long)pw->pw_uid);
}

static const struct metrics_family_decl main_metrics[] = {
    {"inboxd_reloads_total", METRICS_COUNTER,
        "Configuration reloads by result."},
    {"inboxd_redis_up", METRICS_GAUGE,
        "1 when connected to Redis with the store script loaded."},
    {"inboxd_redis_latency_seconds", METRICS_HISTOGRAM,
        "Round trip of item stores to Redis."},
    {"inboxd_redis_errors_total", METRICS_COUNTER,
        "Redis failures by kind (timeout, disconnect, error, noscript)."},
    {"inboxd_redis_reconnects_total", METRICS_COUNTER,
        "Connection attempts to Redis after the first."},
};

static void
main_declare_metrics(struct metrics *m)
{
    pipeline_declare_metrics(m);
    spool_declare_metrics(m);
    poller_declare_metrics(m);
    metrics_declare_all(m, main_metrics, nitems(main_metrics));
}

static int
main_run(struct daemon *d)
{
    struct event_config *ecfg;
    char err[512];
    int rc = 1;

    signal(SIGPIPE, SIG_IGN);
    /* A spool write past RLIMIT_FSIZE then fails with EFBIG, answered
     * like a full disk, instead of killing the process. */
    signal(SIGXFSZ, SIG_IGN);
    if ((ecfg = event_config_new()) == NULL)
        fatalx("out of memory");
    /*
     * evhttp turns a connection's read and write interest on and off
     * several times per request; with the changelist epoll is told only
     * the net change once per loop turn. Its one caveat, descriptors
     * shared through dup(), does not arise here (docs/performance.md).
     */
    event_config_set_flag(ecfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    d->base = event_base_new_with_config(ecfg);
    event_config_free(ecfg);
    if (d->base == NULL)
        fatalx("cannot create the event loop");
    if ((d->metrics = metrics_new()) == NULL)
        fatalx("out of memory");
    main_declare_metrics(d->metrics);
    d->started_ms = util_now_ms();

    if ((d->queue = queue_new(d->base, d->cfg, d->metrics)) == NULL)
        fatalx("cannot set up the Redis client");
    queue_ensure_groups(d->queue, d->cfg->queue.names, d->cfg->queue.nnames,
        d->cfg->queue.group);
    if (queue_start(d->queue) == -1)
        fatalx("cannot start the Redis client");
    /* The responders' desk (desk.c): freed after the queue, whose
     * pending callbacks still answer its requests. */
    if ((d->desk = desk_new(d)) == NULL || desk_start(d->desk) == -1)
        fatalx("cannot set up the responders' desk");
    /* The live event stream: freed after http, whose connections leave
     * it as they close. */
    if ((d->events = events_new(d)) == NULL)
        fatalx("cannot set up the event stream");
    if ((d->http = http_new(d)) == NULL || web_start(d) == -1)
        goto out;
    if (d->cfg->user != NULL)
        main_drop_privileges(d->cfg->user);
    /* The spool's files belong to the user inboxd runs as. Opened before
     * the loop runs, so no write can come before it. */
    if (d->cfg->spool.dir != NULL && (d->spool = spool_new(d, err,
        sizeof(err))) == NULL)
        fatalx("spool: %s", err);
    /* Polling (docs/connectors.md, "Polling"). */
    if ((d->curlev = curlev_new(d->base)) == NULL ||
        (d->poller = poller_new(d)) == NULL)
        fatalx("cannot set up polling");
    poller_start(d->poller);
    /* Outbound actions (docs/connectors.md, "Outbound actions"). */
    if ((d->actions = actions_new(d)) == NULL)
        fatalx("cannot set up the actions executor");
    actions_start(d->actions);
    /* Escalation (docs/escalation.md): timers, incidents, alerts. */
    if ((d->escalate = escalate_new(d)) == NULL)
        fatalx("cannot set up escalation");
    escalate_start(d->escalate);

    d->ev_term = evsignal_new(d->base, SIGTERM, main_signal_cb, d);
    d->ev_int = evsignal_new(d->base, SIGINT, main_signal_cb, d);
    d->ev_hup = evsignal_new(d->base, SIGHUP, main_signal_cb, d);
    if (!d->ev_term || !d->ev_int || !d->ev_hup ||
        event_add(d->ev_term, NULL) || event_add(d->ev_int, NULL) ||
        event_add(d->ev_hup, NULL))
        fatalx("cannot install signal events");

    log_info("inboxd %s started: %zu rules, %zu queues, pid %ld",
        INBOXD_VERSION, rules_count(d->cfg->ruleset), d->cfg->queue.nnames,
        (long)getpid());
    event_base_dispatch(d->base);
    /* A drain, even one cut by its deadline, is a clean exit; a second
     * signal (loopbreak) is not. */
    rc = event_base_got_break(d->base) ? 1 : 0;
out:
    /* Pollers stop before the queue, which answers their last writes,
     * and are freed after it, before the HTTP client they use. */
    poller_stop(d->poller);
    actions_stop(d->actions);
    /* The spool's last sync answers its writers while Redis may still be
     * written to (a poller's cursor); later writes are refused. */
    spool_stop(d->spool);
    /* queue first: its pending callbacks still answer their requests. */
    queue_free(d->queue);
    spool_free(d->spool);
    poller_free(d->poller);
    /* Cancels the actions in flight; their leases run out in Redis. */
    curlev_free(d->curlev);
    actions_free(d->actions);
    escalate_free(d->escalate);
    http_free(d->http);
    events_free(d->events);
    desk_free(d->desk);
    if (d->ev_drain)
        event_free(d->ev_drain);
    if (d->ev_term)
        event_free(d->ev_term);
    if (d->ev_int)
        event_free(d->ev_int);
    if (d->ev_hup)
        event_free(d->ev_hup);
    metrics_free(d->metrics);
    event_base_free(d->base);
    libevent_global_shutdown();
    return rc;
}

int
main(int argc, char *argv[])
{
    struct daemon d;
    const char *conf = NULL, *debug = NULL;
    bool check = false, classify = false;
    int ch, rc;

    alloc_init();
    if (argc > 1 && strcmp(argv[1], "classify") == 0) {
        classify = true;
        argv++;
        argc--;
    }
    while ((ch = getopt(argc, argv, "c:d:nVh")) != -1) {
        switch (ch) {
        case 'c':
            conf = optarg;
            break;
        case 'd':
            debug = optarg;
            break;
        case 'n':
            check = true;
            break;
        case 'V':
            printf("inboxd %s\n", INBOXD_VERSION);
            return 0;
        default:
            main_usage();
        }
    }
    if (conf == NULL || optind != argc)
        main_usage();

    memset(&d, 0, sizeof(d));
    if ((d.config_path = xstrdup(conf)) == NULL)
        fatalx("out of memory");
    if ((d.cfg = main_load(conf)) == NULL) {
        xfree(d.config_path);
        return 1;
    }
    if (check) {
        printf("%s: ok: %zu rules, %zu queues, %zu routes, %zu tokens\n",
            conf, rules_count(d.cfg->ruleset), d.cfg->queue.nnames,
            d.cfg->routes.nrules, d.cfg->ntokens);
        /* Before the rules' report, which can be long. */
        rc = main_check_spool(conf, d.cfg) == -1;
        if (main_check_rules(conf, d.cfg->ruleset) != 0)
            rc = 1;
    } else if (classify) {
        /* classify.c; its output is in docs/rules.md. */
        rc = classify_stream(d.cfg, stdin, stdout, stderr) == 0 ? 0 : 1;
    } else {
        main_apply_log(d.cfg, debug);
        rc = main_run(&d);
    }
    config_unref(d.cfg);
    xfree(d.config_path);
    return rc;
}
