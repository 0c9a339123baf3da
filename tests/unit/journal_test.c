/*
 * journal_test: the spool's files without a loop or Redis. Records
 * appended and read back in order, the unsynced ones invisible, a torn
 * tail cut off on open, a bad crc ending its segment, segments rolled and
 * deleted, the position file (good, stale and garbage), the max_bytes
 * cap, a write the file system refuses (RLIMIT_FSIZE gives EFBIG) and a
 * failing fdatasync, both undone, and the directory lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "check.h"
#include "journal.h"
#include "util.h"

static char tdir[64];

static const struct journal_limits big = {
    .max_bytes = 64u << 20, .segment_bytes = 4u << 20,
};

/* A fresh, empty directory for one test (the journal creates it). */
static const char *
fresh_dir(const char *name)
{
    static char d[128];

    snprintf(d, sizeof(d), "%s/%s", tdir, name);
    return d;
}

static char *
path_in(const char *dir, const char *name)
{
    static char p[256];

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return p;
}

static long
file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Write len bytes at off of path (off -1: at its end), creating it. */
static int
write_at(const char *path, const void *p, size_t len, long off)
{
    int fd = open(path, O_WRONLY | O_CREAT | (off < 0 ? O_APPEND : 0), 0600);
    ssize_t n;

    if (fd == -1)
        return -1;
    n = off < 0 ? write(fd, p, len) : pwrite(fd, p, len, off);
    close(fd);
    return n == (ssize_t)len ? 0 : -1;
}

/* Flip the bits of mask in the byte at off of path: a corrupted disk. */
static int
flip_byte(const char *path, long off, unsigned char mask)
{
    unsigned char c;
    int fd = open(path, O_RDWR);
    int rc = -1;

    if (fd == -1)
        return -1;
    if (pread(fd, &c, 1, off) == 1) {
        c ^= mask;
        rc = pwrite(fd, &c, 1, off) == 1 ? 0 : -1;
    }
    close(fd);
    return rc;
}

/* Record i's payload: "rec-<i>-" and i bytes of filler, so sizes vary. */
static size_t
payload(int i, char *out, size_t len)
{
    int n = snprintf(out, len, "rec-%d-", i);

    for (int k = 0; k < i % 200 && (size_t)n + 1 < len; k++)
        out[n++] = (char)('a' + k % 26);
    out[n] = '\0';
    return (size_t)n;
}

static int
append_n(struct journal *j, int from, int n)
{
    char p[512];

    for (int i = from; i < from + n; i++) {
        size_t len = payload(i, p, sizeof(p));

        if (journal_append(j, p, len) != JOURNAL_OK)
            return -1;
    }
    return 0;
}

/* Read one record and check it is record i; returns its end in *end. */
static int
read_is(struct journal *j, int i, struct journal_pos *end)
{
    struct journal_rec rec;
    char p[512];
    size_t len = payload(i, p, sizeof(p));
    int ok;

    if (journal_read(j, &rec) != 1)
        return -1;
    ok = rec.len == len && memcmp(rec.data, p, len) == 0;
    if (end != NULL)
        *end = rec.end;
    xfree(rec.data);
    return ok ? 0 : -1;
}

static struct journal *
open_at(const char *dir, const struct journal_limits *lim)
{
    char err[512];
    struct journal *j = journal_open(dir, lim, err, sizeof(err));

    if (j == NULL)
        fprintf(stderr, "  journal_open: %s\n", err);
    return j;
}

static uint64_t
nrecords(const struct journal *j)
{
    struct journal_stats st;

    journal_get_stats(j, &st);
    return st.records;
}

static uint64_t
nsegments(const struct journal *j)
{
    struct journal_stats st;

    journal_get_stats(j, &st);
    return st.segments;
}

/* ------------------------------------------------------------------ */

static int
test_crc32c(void)
{
    int rc = 0;

    /* The check value of CRC-32C (RFC 3720, B.4). */
    CHECK(journal_crc32c(0, "123456789", 9) == 0xe3069283u);
    CHECK(journal_crc32c(journal_crc32c(0, "1234", 4), "56789", 5) ==
        0xe3069283u);
out:
    return rc;
}

static int
test_append_read_back(void)
{
    const char *dir = fresh_dir("basic");
    struct journal *j = NULL;
    struct journal_rec rec;
    struct journal_pos end = { 0, 0 };
    struct stat st;
    int rc = 0;

    CHECK((j = open_at(dir, &big)) != NULL);
    CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
    CHECK(journal_is_empty(j));
    CHECK(append_n(j, 0, 100) == 0);
    CHECK(!journal_is_empty(j));
    CHECK(nrecords(j) == 100);
    /* Not synced: not readable. */
    CHECK(journal_read(j, &rec) == 0);
    CHECK(journal_unsynced(j) == 100);
    CHECK(journal_sync(j) == JOURNAL_OK);
    CHECK(journal_unsynced(j) == 0);
    for (int i = 0; i < 100; i++)
        CHECK(read_is(j, i, &end) == 0);
    CHECK(journal_read(j, &rec) == 0);
    CHECK(stat(path_in(dir, "spool-00000001.log"), &st) == 0 &&
        (st.st_mode & 0777) == 0600);
    /* Rewind: from the (unmoved) position again. */
    journal_rewind(j);
    CHECK(read_is(j, 0, NULL) == 0);
    /* All done: the segment goes, the next append starts a new one. */
    journal_release(j, &end, 100);
    CHECK(journal_is_empty(j));
    CHECK(nrecords(j) == 0 && nsegments(j) == 0);
    CHECK(file_size(path_in(dir, "spool-00000001.log")) == -1);
    CHECK(append_n(j, 7, 1) == 0 && journal_sync(j) == JOURNAL_OK);
    CHECK(file_size(path_in(dir, "spool-00000002.log")) > 0);
    CHECK(read_is(j, 7, NULL) == 0);
out:
    journal_close(j);
    return rc;
}

static int
test_reopen_and_position(void)
{
    const char *dir = fresh_dir("reopen");
    struct journal *j = NULL;
    struct journal_pos end = { 0, 0 };
    int rc = 0;

    CHECK((j = open_at(dir, &big)) != NULL);
    CHECK(append_n(j, 0, 10) == 0 && journal_sync(j) == JOURNAL_OK);
    /* Unsynced records at close are never acknowledged: dropped. */
    CHECK(append_n(j, 10, 3) == 0);
    journal_close(j);
    CHECK((j = open_at(dir, &big)) != NULL);
    CHECK(nrecords(j) == 10);
    for (int i = 0; i < 4; i++)
        CHECK(read_is(j, i, &end) == 0);
    journal_release(j, &end, 4);
    CHECK(nrecords(j) == 6);
    journal_close(j);

    /* The position says where the next start reads. */
    CHECK((j = open_at(dir, &big)) != NULL);
    CHECK(nrecords(j) == 6);
    CHECK(read_is(j, 4, NULL) == 0);
    journal_close(j);

    /* A position file that is garbage: everything is read again. */
    CHECK(write_at(path_in(dir, "position"), "garbage!", 8, 12) == 0);
    CHECK((j = open_at(dir, &big)) != NULL);
    CHECK(nrecords(j) == 10);
    CHECK(read_is(j, 0, NULL) == 0);
out:
    journal_close(j);
    return rc;
}

static int
test_torn_tail(void)
{
    const char *dir = fresh_dir("torn");
    const char *seg = NULL;
    struct journal *j = NULL;
    struct journal_rec rec;
    unsigned char torn[12] = { 100, 0, 0, 0, 1, 2, 3, 4, 'x', 'y' };
    long good;
    int rc = 0;

    CHECK((j = open_at(dir, &big)) != NULL);
    CHECK(append_n(j, 0, 5) == 0 && journal_sync(j) == JOURNAL_OK);
    journal_close(j);
    j = NULL;
    seg = path_in(dir, "spool-00000001.log");
    good = file_size(seg);
    /* A crash mid-write: a header promising 100 bytes, 2 of them there. */
    CHECK(write_at(seg, torn, 10, -1) == 0);
    CHECK((j = open_at(dir, &big)) != NULL);
    CHECK(file_size(path_in(dir, "spool-00000001.log")) == good);
    CHECK(nrecords(j) == 5);
    for (int i = 0; i < 5; i++)
        CHECK(read_is(j, i, NULL) == 0);
    CHECK(journal_read(j, &rec) == 0);
    /* Appends go on where the good records end. */
    CHECK(append_n(j, 5, 1) == 0 && journal_sync(j) == JOURNAL_OK);
    CHECK(read_is(j, 5, NULL) == 0);
out:
    journal_close(j);
    return rc;
}

static int
test_bad_crc(void)
{
    const char *dir = fresh_dir("crc");
    const struct journal_limits small = { .max_bytes = 1u << 20,
        .segment_bytes = 60 };
    struct journal *j = NULL;
    struct journal_rec rec;
    char seg[256];
    int rc = 0, n1 = 0;

    CHECK((j = open_at(dir, &small)) != NULL);
    /* Synced one by one, so segments roll at 60 bytes. */
    for (int i = 0; i < 12; i++)
        CHECK(append_n(j, i, 1) == 0 && journal_sync(j) == JOURNAL_OK);
    CHECK(nsegments(j) >= 3);
    journal_close(j);
    j = NULL;
    snprintf(seg, sizeof(seg), "%s", path_in(dir, "spool-00000001.log"));
    /* How many records the first segment holds. */
    CHECK((j = open_at(dir, &small)) != NULL);
    while (journal_read(j, &rec) == 1) {
        int more = rec.start.seq == 1;

        xfree(rec.data);
        if (!more)
            break;
        n1++;
    }
    journal_close(j);
    j = NULL;
    CHECK(n1 >= 2);
    /*
     * Flip a byte in the first segment's second record: after the magic
     * (8), record 0 ("rec-0-": 8 + 6 bytes) and record 1's header (8).
     */
    CHECK(flip_byte(seg, 8 + 14 + 8 + 3, 0x5a) == 0);
    CHECK((j = open_at(dir, &small)) != NULL);
    CHECK(read_is(j, 0, NULL) == 0);
    /* The rest of segment 1 is skipped, segment 2 is read. */
    CHECK(journal_read(j, &rec) == 1);
    CHECK(rec.start.seq == 2);
    xfree(rec.data);
    CHECK(nrecords(j) == (uint64_t)(12 - n1 + 1));
out:
    journal_close(j);
    return rc;
}

static int
test_bad_crc_in_tail(void)
{
    const char *dir = fresh_dir("crctail");
    struct journal *j = NULL;
    long size;
    int rc = 0;

    CHECK((j = open_at(dir, &big)) != NULL);
    CHECK(append_n(j, 0, 3) == 0 && journal_sync(j) == JOURNAL_OK);
    journal_close(j);
    j = NULL;
    size = file_size(path_in(dir, "spool-00000001.log"));
    /* The last byte of the last record: its crc fails, a torn tail. */
    CHECK(flip_byte(path_in(dir, "spool-00000001.log"), size - 1, 1) == 0);
    CHECK((j = open_at(dir, &big)) != NULL);
    CHECK(nrecords(j) == 2);
    CHECK(file_size(path_in(dir, "spool-00000001.log")) < size);
    CHECK(read_is(j, 0, NULL) == 0);
    CHECK(read_is(j, 1, NULL) == 0);
out:
    journal_close(j);
    return rc;
}

static int
test_rollover_and_delete(void)
{
    const char *dir = fresh_dir("roll");
    const struct journal_limits small = { .max_bytes = 1u << 20,
        .segment_bytes = 1024 };
    struct journal *j = NULL;
    struct journal_pos end = { 0, 0 };
    uint64_t segs;
    int rc = 0, i = 0;

    CHECK((j = open_at(dir, &small)) != NULL);
    /* One sync's records share a segment, however many. */
    CHECK(append_n(j, 0, 50) == 0 && journal_sync(j) == JOURNAL_OK);
    CHECK(nsegments(j) == 1);
    for (i = 50; i < 120; i++)
        CHECK(append_n(j, i, 1) == 0 && journal_sync(j) == JOURNAL_OK);
    segs = nsegments(j);
    CHECK(segs >= 4);
    /* Read the first 60 and release them: wholly done segments go. */
    for (i = 0; i < 60; i++)
        CHECK(read_is(j, i, &end) == 0);
    journal_release(j, &end, 60);
    CHECK(nsegments(j) < segs);
    CHECK(file_size(path_in(dir, "spool-00000001.log")) == -1);
    CHECK(nrecords(j) == 60);
    journal_close(j);
    /* The next start skips nothing and repeats nothing. */
    CHECK((j = open_at(dir, &small)) != NULL);
    CHECK(nrecords(j) == 60);
    for (i = 60; i < 120; i++)
        CHECK(read_is(j, i, &end) == 0);
    journal_release(j, &end, 60);
    CHECK(journal_is_empty(j) && nsegments(j) == 0);
out:
    if (rc != 0)
        fprintf(stderr, "  at record %d\n", i);
    journal_close(j);
    return rc;
}

static int
test_full(void)
{
    const char *dir = fresh_dir("full");
    const struct journal_limits lim = { .max_bytes = 2048,
        .segment_bytes = 1024 };
    struct journal *j = NULL;
    struct journal_stats st;
    struct journal_pos end = { 0, 0 };
    char p[512];
    int rc = 0, n = 0, i;

    CHECK((j = open_at(dir, &lim)) != NULL);
    for (i = 0; i < 1000; i++) {
        size_t len = payload(i, p, sizeof(p));
        enum journal_status s = journal_append(j, p, len);

        if (s == JOURNAL_FULL)
            break;
        CHECK(s == JOURNAL_OK);
        CHECK(journal_sync(j) == JOURNAL_OK);
        n++;
    }
    CHECK(i < 1000 && n > 3);
    journal_get_stats(j, &st);
    CHECK(st.bytes <= lim.max_bytes);
    CHECK(st.records == (uint64_t)n);
    /* Refused with nothing written: the same record is refused again. */
    CHECK(journal_append(j, p, payload(i, p, sizeof(p))) == JOURNAL_FULL);
    /* Room comes back as segments are done. */
    for (int k = 0; k < n; k++)
        CHECK(read_is(j, k, &end) == 0);
    journal_release(j, &end, (uint64_t)n);
    CHECK(journal_append(j, p, payload(i, p, sizeof(p))) == JOURNAL_OK);
    CHECK(journal_sync(j) == JOURNAL_OK);
    CHECK(read_is(j, i, NULL) == 0);
out:
    journal_close(j);
    return rc;
}

/*
 * RLIMIT_FSIZE: a write past it fails with EFBIG (SIGXFSZ ignored, as
 * inboxd does). The partial record is undone, the good ones stay.
 */
static int
test_write_fails(void)
{
    const char *dir = fresh_dir("efbig");
    struct journal *j = NULL;
    struct rlimit old, lim;
    struct journal_rec rec;
    enum journal_status s = JOURNAL_OK;
    long before = 0;
    char p[512];
    int rc = 0, n = 0, limited = 0;

    CHECK(signal(SIGXFSZ, SIG_IGN) != SIG_ERR);
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    CHECK((j = open_at(dir, &big)) != NULL);
    CHECK(append_n(j, 0, 1) == 0 && journal_sync(j) == JOURNAL_OK);
    n = 1;
    lim = old;
    lim.rlim_cur = 4096;
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    limited = 1;
    for (int i = 1; i < 1000; i++) {
        before = file_size(path_in(dir, "spool-00000001.log"));
        if ((s = journal_append(j, p, payload(i, p, sizeof(p)))) !=
            JOURNAL_OK)
            break;
        CHECK(journal_sync(j) == JOURNAL_OK);
        n++;
    }
    CHECK(s == JOURNAL_NOSPACE && errno == EFBIG);
    /* Undone: the file is as it was before the refused append. */
    CHECK(file_size(path_in(dir, "spool-00000001.log")) == before);
    CHECK(nrecords(j) == (uint64_t)n);
    CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    limited = 0;
    for (int i = 0; i < n; i++)
        CHECK(read_is(j, i, NULL) == 0);
    CHECK(journal_read(j, &rec) == 0);
    /* With room again, appends go on. */
    CHECK(append_n(j, n, 1) == 0 && journal_sync(j) == JOURNAL_OK);
    CHECK(read_is(j, n, NULL) == 0);
    journal_close(j);
    /* And the next start sees exactly those. */
    CHECK((j = open_at(dir, &big)) != NULL);
    CHECK(nrecords(j) == (uint64_t)n + 1);
out:
    if (limited)
        (void)setrlimit(RLIMIT_FSIZE, &old);
    journal_close(j);
    return rc;
}

static int
failing_sync(int fd)
{
    (void)fd;
    errno = EIO;
    return -1;
}

static int
test_sync_fails(void)
{
    const char *dir = fresh_dir("syncfail");
    struct journal *j = NULL;
    struct journal_rec rec;
    long good;
    int rc = 0;

    CHECK((j = open_at(dir, &big)) != NULL);
    CHECK(append_n(j, 0, 3) == 0 && journal_sync(j) == JOURNAL_OK);
    good = file_size(path_in(dir, "spool-00000001.log"));
    CHECK(append_n(j, 3, 4) == 0);
    journal_set_sync_fn(j, failing_sync);
    CHECK(journal_sync(j) == JOURNAL_IOERR);
    journal_set_sync_fn(j, NULL);
    /* The four never synced are gone from the file and the count. */
    CHECK(file_size(path_in(dir, "spool-00000001.log")) == good);
    CHECK(nrecords(j) == 3 && journal_unsynced(j) == 0);
    for (int i = 0; i < 3; i++)
        CHECK(read_is(j, i, NULL) == 0);
    CHECK(journal_read(j, &rec) == 0);
    CHECK(append_n(j, 9, 1) == 0 && journal_sync(j) == JOURNAL_OK);
    CHECK(read_is(j, 9, NULL) == 0);
out:
    journal_close(j);
    return rc;
}

static int
test_lock(void)
{
    const char *dir = fresh_dir("lock");
    struct journal *a = NULL, *b = NULL;
    char err[512], pid[32];
    int rc = 0;

    CHECK((a = open_at(dir, &big)) != NULL);
    b = journal_open(dir, &big, err, sizeof(err));
    CHECK(b == NULL);
    snprintf(pid, sizeof(pid), "pid %ld", (long)getpid());
    CHECK_CONTAINS(err, "in use by another inboxd");
    CHECK_CONTAINS(err, pid);
    journal_close(a);
    a = NULL;
    CHECK((b = open_at(dir, &big)) != NULL);
out:
    journal_close(a);
    journal_close(b);
    return rc;
}

static int
test_foreign_file(void)
{
    const char *dir = fresh_dir("foreign");
    struct journal *j = NULL;
    char err[512];
    int rc = 0;

    CHECK(mkdir(dir, 0700) == 0);
    CHECK(write_at(path_in(dir, "spool-00000003.log"), "not a spool segment",
        19, 0) == 0);
    j = journal_open(dir, &big, err, sizeof(err));
    CHECK(j == NULL);
    CHECK_CONTAINS(err, "spool-00000003.log: not a spool segment");
    /* An empty last segment (a crash while it was created) goes. */
    CHECK(unlink(path_in(dir, "spool-00000003.log")) == 0);
    CHECK(write_at(path_in(dir, "spool-00000004.log"), "", 0, 0) == 0);
    CHECK((j = open_at(dir, &big)) != NULL);
    CHECK(nsegments(j) == 0);
    CHECK(file_size(path_in(dir, "spool-00000004.log")) == -1);
    CHECK(append_n(j, 0, 1) == 0 && journal_sync(j) == JOURNAL_OK);
    CHECK(file_size(path_in(dir, "spool-00000005.log")) > 0);
out:
    journal_close(j);
    return rc;
}

/* Open dir, read every record, close: how many, or -1 when open failed. */
static int
read_all(const char *dir, const struct journal_limits *lim)
{
    struct journal_rec rec;
    struct journal *j;
    char err[512];
    int n = 0;

    if ((j = journal_open(dir, lim, err, sizeof(err))) == NULL)
        return -1;
    while (journal_read(j, &rec) == 1) {
        xfree(rec.data);
        n++;
    }
    journal_close(j);
    return n;
}

/*
 * Fail each allocation of an open, a read-through and an append in turn:
 * never a crash or a leak, and the journal on disk stays whole.
 */
static int
test_alloc_failures(void)
{
    const char *dir = fresh_dir("oom");
    const struct journal_limits small = { .max_bytes = 1u << 20,
        .segment_bytes = 256 };
    struct journal *j = NULL;
    unsigned long total;
    char err[512];
    int rc = 0, n;

    CHECK((j = open_at(dir, &small)) != NULL);
    for (int i = 0; i < 30; i++)
        CHECK(append_n(j, i, 1) == 0 && journal_sync(j) == JOURNAL_OK);
    journal_close(j);
    j = NULL;
    alloc_fail_after(0);
    CHECK(read_all(dir, &small) == 30);
    total = alloc_fail_after(0);
    CHECK(total > 5);
    for (unsigned long k = 1; k <= total; k++) {
        alloc_fail_after(k);
        n = read_all(dir, &small);
        alloc_fail_after(0);
        CHECK(n <= 30);
    }
    /* Appends that need a new segment (its slot in the list) fail whole. */
    for (unsigned long k = 1; k <= 4; k++) {
        CHECK((j = journal_open(dir, &small, err, sizeof(err))) != NULL);
        alloc_fail_after(k);
        (void)append_n(j, 30, 40);
        alloc_fail_after(0);
        CHECK(journal_sync(j) == JOURNAL_OK);
        journal_close(j);
        j = NULL;
        CHECK((n = read_all(dir, &small)) >= 30);
        CHECK(read_all(dir, &small) == n);
    }
out:
    alloc_fail_after(0);
    journal_close(j);
    return rc;
}

static const struct check_case cases[] = {
    { "crc32c", test_crc32c },
    { "append_read_back", test_append_read_back },
    { "reopen_and_position", test_reopen_and_position },
    { "torn_tail", test_torn_tail },
    { "bad_crc", test_bad_crc },
    { "bad_crc_in_tail", test_bad_crc_in_tail },
    { "rollover_and_delete", test_rollover_and_delete },
    { "full", test_full },
    { "write_fails", test_write_fails },
    { "sync_fails", test_sync_fails },
    { "lock", test_lock },
    { "foreign_file", test_foreign_file },
    { "alloc_failures", test_alloc_failures },
};

int
main(void)
{
    char cmd[128];
    int rc;

    alloc_init();
    snprintf(tdir, sizeof(tdir), "/tmp/journal_test.XXXXXX");
    if (mkdtemp(tdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    rc = check_run(cases, nitems(cases));
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tdir);
    return rc;
}
