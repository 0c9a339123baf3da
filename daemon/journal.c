/*
 * journal: the spool's files (journal.h has the format). Appends go to the
 * last segment with pwritev at the size this module keeps, never
 * O_APPEND, so that undoing a failed append or sync is an ftruncate back
 * to a size known to be good; fdatasync makes them durable, and a new
 * segment's header and directory entry are synced before any record is
 * written to it. Reading goes through one buffered reader that never reads
 * past what is durable.
 *
 * The module does not log append or sync failures: the spool, which
 * answers the writers, logs them once per episode. It logs what it finds
 * when opening (torn tails, bad records) and bad records read later.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "alloc.h"
#include "journal.h"
#include "log.h"
#include "util.h"

#define JOURNAL_MAGIC       "IBXSPL01"      /* a segment's first 8 bytes */
#define JOURNAL_POS_MAGIC   "IBXPOS01"
#define JOURNAL_HDR         8u              /* segment header */
#define JOURNAL_REC_HDR     8u              /* length + crc */
#define JOURNAL_POS_LEN     32u
#define JOURNAL_READ_CHUNK  (256u << 10)
#define JOURNAL_NAME_MAX    48

/* CRC-32C (Castagnoli), reflected, polynomial 0x82f63b78. */
static const uint32_t journal_crc_table[256] = {
    0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4,
    0xc79a971f, 0x35f1141c, 0x26a1e7e8, 0xd4ca64eb,
    0x8ad958cf, 0x78b2dbcc, 0x6be22838, 0x9989ab3b,
    0x4d43cfd0, 0xbf284cd3, 0xac78bf27, 0x5e133c24,
    0x105ec76f, 0xe235446c, 0xf165b798, 0x030e349b,
    0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384,
    0x9a879fa0, 0x68ec1ca3, 0x7bbcef57, 0x89d76c54,
    0x5d1d08bf, 0xaf768bbc, 0xbc267848, 0x4e4dfb4b,
    0x20bd8ede, 0xd2d60ddd, 0xc186fe29, 0x33ed7d2a,
    0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35,
    0xaa64d611, 0x580f5512, 0x4b5fa6e6, 0xb93425e5,
    0x6dfe410e, 0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa,
    0x30e349b1, 0xc288cab2, 0xd1d83946, 0x23b3ba45,
    0xf779deae, 0x05125dad, 0x1642ae59, 0xe4292d5a,
    0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a,
    0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595,
    0x417b1dbc, 0xb3109ebf, 0xa0406d4b, 0x522bee48,
    0x86e18aa3, 0x748a09a0, 0x67dafa54, 0x95b17957,
    0xcba24573, 0x39c9c670, 0x2a993584, 0xd8f2b687,
    0x0c38d26c, 0xfe53516f, 0xed03a29b, 0x1f682198,
    0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927,
    0x96bf4dcc, 0x64d4cecf, 0x77843d3b, 0x85efbe38,
    0xdbfc821c, 0x2997011f, 0x3ac7f2eb, 0xc8ac71e8,
    0x1c661503, 0xee0d9600, 0xfd5d65f4, 0x0f36e6f7,
    0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096,
    0xa65c047d, 0x5437877e, 0x4767748a, 0xb50cf789,
    0xeb1fcbad, 0x197448ae, 0x0a24bb5a, 0xf84f3859,
    0x2c855cb2, 0xdeeedfb1, 0xcdbe2c45, 0x3fd5af46,
    0x7198540d, 0x83f3d70e, 0x90a324fa, 0x62c8a7f9,
    0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
    0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36,
    0x3cdb9bdd, 0xceb018de, 0xdde0eb2a, 0x2f8b6829,
    0x82f63b78, 0x709db87b, 0x63cd4b8f, 0x91a6c88c,
    0x456cac67, 0xb7072f64, 0xa457dc90, 0x563c5f93,
    0x082f63b7, 0xfa44e0b4, 0xe9141340, 0x1b7f9043,
    0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c,
    0x92a8fc17, 0x60c37f14, 0x73938ce0, 0x81f80fe3,
    0x55326b08, 0xa759e80b, 0xb4091bff, 0x466298fc,
    0x1871a4d8, 0xea1a27db, 0xf94ad42f, 0x0b21572c,
    0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033,
    0xa24bb5a6, 0x502036a5, 0x4370c551, 0xb11b4652,
    0x65d122b9, 0x97baa1ba, 0x84ea524e, 0x7681d14d,
    0x2892ed69, 0xdaf96e6a, 0xc9a99d9e, 0x3bc21e9d,
    0xef087a76, 0x1d63f975, 0x0e330a81, 0xfc588982,
    0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d,
    0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622,
    0x38cc2a06, 0xcaa7a905, 0xd9f75af1, 0x2b9cd9f2,
    0xff56bd19, 0x0d3d3e1a, 0x1e6dcdee, 0xec064eed,
    0xc38d26c4, 0x31e6a5c7, 0x22b65633, 0xd0ddd530,
    0x0417b1db, 0xf67c32d8, 0xe52cc12c, 0x1747422f,
    0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff,
    0x8ecee914, 0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0,
    0xd3d3e1ab, 0x21b862a8, 0x32e8915c, 0xc083125f,
    0x144976b4, 0xe622f5b7, 0xf5720643, 0x07198540,
    0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90,
    0x9e902e7b, 0x6cfbad78, 0x7fab5e8c, 0x8dc0dd8f,
    0xe330a81a, 0x115b2b19, 0x020bd8ed, 0xf0605bee,
    0x24aa3f05, 0xd6c1bc06, 0xc5914ff2, 0x37faccf1,
    0x69e9f0d5, 0x9b8273d6, 0x88d28022, 0x7ab90321,
    0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
    0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81,
    0x34f4f86a, 0xc69f7b69, 0xd5cf889d, 0x27a40b9e,
    0x79b737ba, 0x8bdcb4b9, 0x988c474d, 0x6ae7c44e,
    0xbe2da0a5, 0x4c4623a6, 0x5f16d052, 0xad7d5351,
};

/* One segment file. */
struct journal_seg {
    uint64_t seq;
    uint64_t size;              /* bytes in the file, as this module wrote or
                                   found them (after any truncation) */
    uint64_t end;               /* what may be read: the last segment's
                                   synced bytes; for the others, where the
                                   last good record ends */
};

/* A window of one segment's bytes, so reading costs few system calls. */
struct journal_reader {
    int fd;                     /* -1: none open */
    uint64_t seq;
    char *buf;
    size_t cap;
    uint64_t base;              /* file offset of buf[0] */
    size_t have;                /* bytes valid in buf */
};

struct journal {
    char *dir;
    int dirfd;
    int lockfd;
    int posfd;
    struct journal_limits lim;
    struct journal_seg *segs;   /* in seq order; the last takes appends */
    size_t nsegs;
    size_t capsegs;
    int tailfd;                 /* the last segment, read-write; -1: none */
    bool sealed;                /* the last segment takes no more appends */
    uint64_t next_seq;
    uint64_t unsynced;          /* records appended since the last sync */
    uint64_t bytes;             /* the segments' sizes together */
    uint64_t records;           /* records not done */
    struct journal_pos done;    /* everything before is done */
    struct journal_pos rd;      /* the next record to read */
    struct journal_reader r;
    journal_sync_fn *sync_fn;   /* fdatasync, or a test's stand-in */
};

uint32_t
journal_crc32c(uint32_t crc, const void *p, size_t len)
{
    const unsigned char *b = p;

    crc = ~crc;
    while (len-- > 0)
        crc = journal_crc_table[(crc ^ *b++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

const char *
journal_strstatus(enum journal_status st)
{
    switch (st) {
    case JOURNAL_OK:
        return "ok";
    case JOURNAL_FULL:
        return "full";
    case JOURNAL_NOSPACE:
        return "no space";
    case JOURNAL_IOERR:
        return "i/o error";
    }
    return "?";
}

static void
journal_put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t
journal_get32(const unsigned char *p)
{
    uint32_t v = 0;

    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void
journal_put64(unsigned char *p, uint64_t v)
{
    journal_put32(p, (uint32_t)v);
    journal_put32(p + 4, (uint32_t)(v >> 32));
}

static uint64_t
journal_get64(const unsigned char *p)
{
    return (uint64_t)journal_get32(p + 4) << 32 | journal_get32(p);
}

/* The crc of a record: over its length field and its payload. */
static uint32_t
journal_rec_crc(const unsigned char *lenfield, const void *p, size_t len)
{
    return journal_crc32c(journal_crc32c(0, lenfield, 4), p, len);
}

/* What a failed write or sync means to the writer. */
static enum journal_status
journal_errno_status(int e)
{
    return e == ENOSPC || e == EDQUOT || e == EFBIG ? JOURNAL_NOSPACE :
        JOURNAL_IOERR;
}

static void
journal_seg_name(uint64_t seq, char *out, size_t len)
{
    snprintf(out, len, "spool-%08llu.log", (unsigned long long)seq);
}

/* "spool-<digits>.log": its seq, or 0 for any other name. */
static uint64_t
journal_seg_seq(const char *name)
{
    const char *p = name + 6;
    char *end;
    unsigned long long v;

    if (strncmp(name, "spool-", 6) != 0 || *p < '0' || *p > '9')
        return 0;
    errno = 0;
    v = strtoull(p, &end, 10);
    if (errno != 0 || strcmp(end, ".log") != 0)
        return 0;
    return (uint64_t)v;
}

static int
journal_full_pread(int fd, void *p, size_t len, uint64_t off)
{
    char *b = p;
    ssize_t n;

    while (len > 0) {
        if ((n = pread(fd, b, len, (off_t)off)) == -1) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0) {
            errno = EIO;
            return -1;
        }
        b += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

/* ---------------------------------------------------------------------
 * The reader
 * ------------------------------------------------------------------ */

static void
journal_reader_close(struct journal_reader *r)
{
    if (r->fd != -1)
        close(r->fd);
    r->fd = -1;
    r->have = 0;
}

/* Point the reader at segment seq (opening it), keeping what it has. */
static int
journal_reader_use(struct journal *j, uint64_t seq)
{
    char name[JOURNAL_NAME_MAX];
    int fd;

    if (j->r.fd != -1 && j->r.seq == seq)
        return 0;
    journal_seg_name(seq, name, sizeof(name));
    if ((fd = openat(j->dirfd, name, O_RDONLY | O_CLOEXEC)) == -1) {
        log_warn("%s/%s: cannot open", j->dir, name);
        return -1;
    }
    journal_reader_close(&j->r);
    j->r.fd = fd;
    j->r.seq = seq;
    return 0;
}

/* Make [off, off + n) of the file be in the buffer, reading below limit. */
static int
journal_reader_fill(struct journal_reader *r, uint64_t off, size_t n,
    uint64_t limit)
{
    size_t want;
    char *nb;

    if (off >= r->base && off + n <= r->base + r->have)
        return 0;
    if (n > limit - off)
        return -1;
    want = limit - off < JOURNAL_READ_CHUNK ? (size_t)(limit - off) :
        JOURNAL_READ_CHUNK;
    if (want < n)
        want = n;
    if (want > r->cap) {
        if ((nb = xrealloc(r->buf, want)) == NULL)
            return -1;
        r->buf = nb;
        r->cap = want;
    }
    r->have = 0;
    if (journal_full_pread(r->fd, r->buf, want, off) == -1)
        return -1;
    r->base = off;
    r->have = want;
    return 0;
}

/*
 * The record at off, below limit: 1 with *p (in the reader's buffer,
 * valid until its next use) and *len; 0 when off is limit; -1 when the
 * bytes there are not a whole good record.
 */
static int
journal_reader_next(struct journal_reader *r, uint64_t off, uint64_t limit,
    const unsigned char **p, size_t *len)
{
    const unsigned char *h;
    uint32_t n;

    if (off == limit)
        return 0;
    if (journal_reader_fill(r, off, JOURNAL_REC_HDR, limit) == -1)
        return -1;
    h = (const unsigned char *)r->buf + (off - r->base);
    n = journal_get32(h);
    if (n > JOURNAL_RECORD_MAX ||
        journal_reader_fill(r, off, JOURNAL_REC_HDR + (size_t)n, limit) == -1)
        return -1;
    h = (const unsigned char *)r->buf + (off - r->base);
    if (journal_rec_crc(h, h + JOURNAL_REC_HDR, n) != journal_get32(h + 4))
        return -1;
    *p = h + JOURNAL_REC_HDR;
    *len = n;
    return 1;
}

/*
 * Walk segment seq's records from its header up to limit: *end is where
 * the good ones end, *n how many of them start at or after from. -1 only
 * when the segment cannot be opened or read.
 */
static int
journal_scan(struct journal *j, uint64_t seq, uint64_t limit, uint64_t from,
    uint64_t *end, uint64_t *n)
{
    const unsigned char *p;
    uint64_t off = JOURNAL_HDR;
    size_t len;

    *n = 0;
    if (journal_reader_use(j, seq) == -1)
        return -1;
    j->r.have = 0;
    while (journal_reader_next(&j->r, off, limit, &p, &len) == 1) {
        if (off >= from)
            (*n)++;
        off += JOURNAL_REC_HDR + len;
    }
    *end = off;
    /* It read up to limit, which may be past what stays (a torn tail). */
    j->r.have = 0;
    return 0;
}

/* ---------------------------------------------------------------------
 * Position
 * ------------------------------------------------------------------ */

static void
journal_pos_write(struct journal *j)
{
    unsigned char b[JOURNAL_POS_LEN];

    memset(b, 0, sizeof(b));
    memcpy(b, JOURNAL_POS_MAGIC, 8);
    journal_put64(b + 8, j->done.seq);
    journal_put64(b + 16, j->done.off);
    journal_put32(b + 24, journal_crc32c(0, b, 24));
    /* Not fsynced: a position lost to a crash only shows the caller
     * records it has done already. */
    if (pwrite(j->posfd, b, sizeof(b), 0) != (ssize_t)sizeof(b))
        log_warn("%s/position: cannot write", j->dir);
}

/* The saved position: 0, or -1 when there is none worth believing. */
static int
journal_pos_read(struct journal *j, struct journal_pos *pos)
{
    unsigned char b[JOURNAL_POS_LEN];

    if (pread(j->posfd, b, sizeof(b), 0) != (ssize_t)sizeof(b) ||
        memcmp(b, JOURNAL_POS_MAGIC, 8) != 0 ||
        journal_get32(b + 24) != journal_crc32c(0, b, 24))
        return -1;
    pos->seq = journal_get64(b + 8);
    pos->off = journal_get64(b + 16);
    return 0;
}

/* ---------------------------------------------------------------------
 * Open and close
 * ------------------------------------------------------------------ */

static int
journal_seg_add(struct journal *j, uint64_t seq, uint64_t size, uint64_t end)
{
    struct journal_seg *ns;
    size_t cap;

    if (j->nsegs == j->capsegs) {
        cap = j->capsegs ? j->capsegs * 2 : 8;
        if ((ns = xrealloc(j->segs, cap * sizeof(*ns))) == NULL)
            return -1;
        j->segs = ns;
        j->capsegs = cap;
    }
    j->segs[j->nsegs++] = (struct journal_seg){ seq, size, end };
    j->bytes += size;
    return 0;
}

static int
journal_cmp_seq(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* The segment seqs in the directory, sorted: a new array in *out. */
static int
journal_list(struct journal *j, uint64_t **out, size_t *n, char *err,
    size_t errlen)
{
    uint64_t *v = NULL, *nv, seq;
    size_t cap = 0;
    struct dirent *de;
    DIR *dp;
    int fd;

    *n = 0;
    if ((fd = dup(j->dirfd)) == -1 || (dp = fdopendir(fd)) == NULL) {
        snprintf(err, errlen, "%s: cannot list: %s", j->dir,
            strerror(errno));
        if (fd != -1)
            close(fd);
        return -1;
    }
    rewinddir(dp);
    while ((de = readdir(dp)) != NULL) {
        if ((seq = journal_seg_seq(de->d_name)) == 0)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            if ((nv = xrealloc(v, cap * sizeof(*v))) == NULL) {
                snprintf(err, errlen, "out of memory");
                xfree(v);
                closedir(dp);
                return -1;
            }
            v = nv;
        }
        v[(*n)++] = seq;
    }
    closedir(dp);
    if (*n > 0)
        qsort(v, *n, sizeof(*v), journal_cmp_seq);
    *out = v;
    return 0;
}

/*
 * Check segment seq (the last one when last) and add it. from: count the
 * records from this offset on. A torn tail of the last segment is cut
 * off; a bad record in another ends what can be read of it.
 */
static int
journal_load_seg(struct journal *j, uint64_t seq, bool last, uint64_t from,
    char *err, size_t errlen)
{
    char name[JOURNAL_NAME_MAX], magic[JOURNAL_HDR];
    uint64_t end, n;
    struct stat st;
    int fd;

    journal_seg_name(seq, name, sizeof(name));
    if ((fd = openat(j->dirfd, name, (last ? O_RDWR : O_RDONLY) |
        O_CLOEXEC)) == -1 || fstat(fd, &st) == -1) {
        snprintf(err, errlen, "%s/%s: %s", j->dir, name, strerror(errno));
        goto fail;
    }
    if ((uint64_t)st.st_size < JOURNAL_HDR) {
        /* Its header was never synced, so no record was ever in it. */
        log_warnx("%s/%s: an empty segment left by a crash; removed", j->dir,
            name);
        close(fd);
        return unlinkat(j->dirfd, name, 0) == -1 && errno != ENOENT ? -1 : 0;
    }
    if (journal_full_pread(fd, magic, sizeof(magic), 0) == -1 ||
        memcmp(magic, JOURNAL_MAGIC, JOURNAL_HDR) != 0) {
        snprintf(err, errlen, "%s/%s: not a spool segment; move it out of "
            "the spool directory", j->dir, name);
        goto fail;
    }
    if (journal_scan(j, seq, (uint64_t)st.st_size, from, &end, &n) == -1) {
        snprintf(err, errlen, "%s/%s: cannot read: %s", j->dir, name,
            strerror(errno));
        goto fail;
    }
    if (end < (uint64_t)st.st_size && last) {
        log_warnx("%s/%s: a torn record at offset %llu (%llu bytes, from a "
            "crash during a write; it was never acknowledged) removed",
            j->dir, name, (unsigned long long)end,
            (unsigned long long)((uint64_t)st.st_size - end));
        if (ftruncate(fd, (off_t)end) == -1 || fdatasync(fd) == -1) {
            snprintf(err, errlen, "%s/%s: cannot truncate: %s", j->dir, name,
                strerror(errno));
            goto fail;
        }
        st.st_size = (off_t)end;
    } else if (end < (uint64_t)st.st_size) {
        log_error("%s/%s: a bad record at offset %llu: the %llu bytes from "
            "there to the end of the segment cannot be read and are skipped",
            j->dir, name, (unsigned long long)end,
            (unsigned long long)((uint64_t)st.st_size - end));
    }
    if (journal_seg_add(j, seq, (uint64_t)st.st_size, end) == -1) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    j->records += n;
    if (last)
        j->tailfd = fd;
    else
        close(fd);
    return 0;
fail:
    if (fd != -1)
        close(fd);
    return -1;
}

/* Is off where a record starts (or the good records end) in segs[0]? */
static bool
journal_is_boundary(struct journal *j, uint64_t off)
{
    const unsigned char *p;
    uint64_t at = JOURNAL_HDR;
    size_t len;

    if (journal_reader_use(j, j->segs[0].seq) == -1)
        return false;
    while (at < off && journal_reader_next(&j->r, at, j->segs[0].end, &p,
        &len) == 1)
        at += JOURNAL_REC_HDR + len;
    return at == off;
}

/* Lock the directory, or say who holds it. */
static int
journal_lock(struct journal *j, char *err, size_t errlen)
{
    char pid[32];
    ssize_t n;
    int len;

    if ((j->lockfd = openat(j->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC,
        0600)) == -1) {
        snprintf(err, errlen, "%s/lock: %s", j->dir, strerror(errno));
        return -1;
    }
    if (flock(j->lockfd, LOCK_EX | LOCK_NB) == -1) {
        if (errno != EWOULDBLOCK) {
            snprintf(err, errlen, "%s/lock: %s", j->dir, strerror(errno));
            return -1;
        }
        n = pread(j->lockfd, pid, sizeof(pid) - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        snprintf(err, errlen, "%s is in use by another inboxd (pid %s); "
            "each process needs its own spool.dir", j->dir,
            pid[0] ? pid : "?");
        return -1;
    }
    len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(j->lockfd, 0) == -1 ||
        pwrite(j->lockfd, pid, (size_t)len, 0) != len)
        log_warn("%s/lock: cannot write the pid", j->dir);
    return 0;
}

/* The directory (made when missing), its lock and position file. */
static int
journal_open_dir(struct journal *j, char *err, size_t errlen)
{
    if (mkdir(j->dir, 0700) == -1 && errno != EEXIST) {
        snprintf(err, errlen, "%s: cannot create: %s", j->dir,
            strerror(errno));
        return -1;
    }
    if ((j->dirfd = open(j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
        -1) {
        snprintf(err, errlen, "%s: %s", j->dir, strerror(errno));
        return -1;
    }
    if (journal_lock(j, err, errlen) == -1)
        return -1;
    if ((j->posfd = openat(j->dirfd, "position", O_RDWR | O_CREAT |
        O_CLOEXEC, 0600)) == -1) {
        snprintf(err, errlen, "%s/position: %s", j->dir, strerror(errno));
        return -1;
    }
    return 0;
}

/*
 * Load the segments at or after the saved position; the older ones were
 * done before the last stop and go. Then decide where reading starts.
 */
static int
journal_load(struct journal *j, char *err, size_t errlen)
{
    struct journal_pos pos = { 0, 0 };
    bool have_pos = journal_pos_read(j, &pos) == 0;
    uint64_t *seqs = NULL, n, end, skipped;
    size_t nseqs, i;
    char name[JOURNAL_NAME_MAX];
    int rc = -1;

    if (journal_list(j, &seqs, &nseqs, err, errlen) == -1)
        return -1;
    for (i = 0; i < nseqs && have_pos && seqs[i] < pos.seq; i++) {
        journal_seg_name(seqs[i], name, sizeof(name));
        log_info("%s/%s: done before the last stop; removed", j->dir, name);
        if (unlinkat(j->dirfd, name, 0) == -1 && errno != ENOENT) {
            snprintf(err, errlen, "%s/%s: cannot remove: %s", j->dir, name,
                strerror(errno));
            goto out;
        }
    }
    for (; i < nseqs; i++) {
        if (journal_load_seg(j, seqs[i], i == nseqs - 1,
            have_pos && seqs[i] == pos.seq ? pos.off : 0, err, errlen) == -1)
            goto out;
    }
    j->next_seq = (nseqs > 0 ? seqs[nseqs - 1] : 0) + 1;
    if (have_pos && pos.seq >= j->next_seq)
        j->next_seq = pos.seq + 1;
    if (j->nsegs > 0) {
        j->done = (struct journal_pos){ j->segs[0].seq, JOURNAL_HDR };
        if (have_pos && pos.seq == j->segs[0].seq && pos.off > JOURNAL_HDR) {
            if (pos.off <= j->segs[0].end && journal_is_boundary(j, pos.off)) {
                j->done.off = pos.off;
            } else {
                /* The records were counted from pos.off, which is not
                 * where one starts: read all of segs[0] after all. */
                log_warnx("%s: the saved position is not a record; reading "
                    "from the oldest segment's start", j->dir);
                if (journal_scan(j, j->segs[0].seq, j->segs[0].end, 0, &end,
                    &n) == 0 && journal_scan(j, j->segs[0].seq,
                    j->segs[0].end, pos.off, &end, &skipped) == 0)
                    j->records += n - skipped;
            }
        }
        /* segs' last was opened read-only when an empty file after it
         * (a crash while it was created) was removed: appends start a
         * new segment. */
        j->sealed = j->tailfd == -1;
    }
    j->rd = j->done;
    rc = 0;
out:
    xfree(seqs);
    return rc;
}

struct journal *
journal_open(const char *dir, const struct journal_limits *lim, char *err,
    size_t errlen)
{
    struct journal *j;

    if ((j = xcalloc(1, sizeof(*j))) == NULL ||
        (j->dir = xstrdup(dir)) == NULL) {
        snprintf(err, errlen, "out of memory");
        xfree(j);
        return NULL;
    }
    j->dirfd = j->lockfd = j->posfd = j->tailfd = j->r.fd = -1;
    j->lim = *lim;
    j->sync_fn = fdatasync;
    if (journal_open_dir(j, err, errlen) == -1 ||
        journal_load(j, err, errlen) == -1) {
        journal_close(j);
        return NULL;
    }
    return j;
}

void
journal_close(struct journal *j)
{
    struct journal_seg *t;

    if (j == NULL)
        return;
    if (j->unsynced > 0 && j->nsegs > 0) {
        /* Never acknowledged: leave no trace of them. */
        t = &j->segs[j->nsegs - 1];
        if (ftruncate(j->tailfd, (off_t)t->end) == -1)
            log_warn("%s: cannot drop unsynced records", j->dir);
    }
    journal_reader_close(&j->r);
    xfree(j->r.buf);
    if (j->tailfd != -1)
        close(j->tailfd);
    if (j->posfd != -1)
        close(j->posfd);
    if (j->lockfd != -1)
        close(j->lockfd);       /* releases the flock */
    if (j->dirfd != -1)
        close(j->dirfd);
    xfree(j->segs);
    xfree(j->dir);
    xfree(j);
}

void
journal_set_limits(struct journal *j, const struct journal_limits *lim)
{
    j->lim = *lim;
}

void
journal_set_sync_fn(struct journal *j, journal_sync_fn *fn)
{
    j->sync_fn = fn != NULL ? fn : fdatasync;
}

/* ---------------------------------------------------------------------
 * Appending
 * ------------------------------------------------------------------ */

/*
 * Start segment next_seq: its header and its directory entry are durable
 * before it is used. The old last segment is closed (it is synced: a new
 * one starts only when nothing is unsynced).
 */
static int
journal_new_seg(struct journal *j)
{
    char name[JOURNAL_NAME_MAX];
    uint64_t seq = j->next_seq;
    int fd, e;

    journal_seg_name(seq, name, sizeof(name));
    if ((fd = openat(j->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
        0600)) == -1)
        return -1;
    errno = 0;          /* a short write sets none */
    if (pwrite(fd, JOURNAL_MAGIC, JOURNAL_HDR, 0) != (ssize_t)JOURNAL_HDR ||
        fdatasync(fd) == -1 || fsync(j->dirfd) == -1 ||
        journal_seg_add(j, seq, JOURNAL_HDR, JOURNAL_HDR) == -1) {
        e = errno != 0 ? errno : EIO;
        close(fd);
        (void)unlinkat(j->dirfd, name, 0);
        errno = e;
        return -1;
    }
    if (j->tailfd != -1)
        close(j->tailfd);
    j->tailfd = fd;
    j->sealed = false;
    j->next_seq++;
    if (j->nsegs == 1) {
        j->done = (struct journal_pos){ seq, JOURNAL_HDR };
        j->rd = j->done;
    }
    return 0;
}

enum journal_status
journal_append(struct journal *j, const void *p, size_t len)
{
    unsigned char h[JOURNAL_REC_HDR];
    struct journal_seg *t = j->nsegs > 0 ? &j->segs[j->nsegs - 1] : NULL;
    bool roll = t == NULL || ((j->sealed ||
        t->size >= j->lim.segment_bytes) && j->unsynced == 0);
    uint64_t need = JOURNAL_REC_HDR + (uint64_t)len + (roll ? JOURNAL_HDR : 0);
    struct iovec iov[2];
    uint64_t off, done = 0;
    ssize_t n;
    int e;

    if (len > JOURNAL_RECORD_MAX || j->bytes + need > j->lim.max_bytes)
        return JOURNAL_FULL;
    if (roll && journal_new_seg(j) == -1)
        return journal_errno_status(errno);
    t = &j->segs[j->nsegs - 1];
    journal_put32(h, (uint32_t)len);
    journal_put32(h + 4, journal_rec_crc(h, p, len));
    off = t->size;
    while (done < JOURNAL_REC_HDR + len) {
        size_t k = 0;

        if (done < JOURNAL_REC_HDR) {
            iov[k].iov_base = h + done;
            iov[k++].iov_len = JOURNAL_REC_HDR - (size_t)done;
            iov[k].iov_base = (void *)(uintptr_t)p;
            iov[k++].iov_len = len;
        } else {
            iov[k].iov_base = (char *)(uintptr_t)p + (done - JOURNAL_REC_HDR);
            iov[k++].iov_len = len - (size_t)(done - JOURNAL_REC_HDR);
        }
        if ((n = pwritev(j->tailfd, iov, (int)k, (off_t)(off + done))) ==
            -1 && errno == EINTR)
            continue;
        if (n <= 0) {
            e = n == 0 ? EIO : errno;
            /* Undo the part that made it; the size we keep is good. */
            if (ftruncate(j->tailfd, (off_t)off) == -1)
                log_warn("%s: cannot undo a partial append", j->dir);
            errno = e;
            return journal_errno_status(e);
        }
        done += (uint64_t)n;
    }
    t->size += JOURNAL_REC_HDR + len;
    j->bytes += JOURNAL_REC_HDR + len;
    j->unsynced++;
    j->records++;
    return JOURNAL_OK;
}

enum journal_status
journal_sync(struct journal *j)
{
    struct journal_seg *t;
    int e;

    if (j->unsynced == 0)
        return JOURNAL_OK;
    t = &j->segs[j->nsegs - 1];
    if (j->sync_fn(j->tailfd) == -1) {
        e = errno;
        /*
         * Whatever of them reached the disk is not trusted (after a failed
         * fsync the kernel may have dropped the pages): cut them off and
         * let their writers be told no. A later append writes over them
         * even if the truncate fails, and records sent again are
         * duplicates the reader's caller already handles.
         */
        if (ftruncate(j->tailfd, (off_t)t->end) == -1)
            log_warn("%s: cannot remove the records of a failed sync",
                j->dir);
        j->bytes -= t->size - t->end;
        t->size = t->end;
        j->records -= j->unsynced;
        j->unsynced = 0;
        errno = e;
        return journal_errno_status(e);
    }
    t->end = t->size;
    j->unsynced = 0;
    return JOURNAL_OK;
}

uint64_t
journal_unsynced(const struct journal *j)
{
    return j->unsynced;
}

/* ---------------------------------------------------------------------
 * Reading and releasing
 * ------------------------------------------------------------------ */

static ssize_t
journal_seg_index(const struct journal *j, uint64_t seq)
{
    for (size_t i = 0; i < j->nsegs; i++) {
        if (j->segs[i].seq >= seq)
            return (ssize_t)i;
    }
    return -1;
}

int
journal_read(struct journal *j, struct journal_rec *rec)
{
    const unsigned char *p;
    struct journal_seg *s;
    char name[JOURNAL_NAME_MAX];
    ssize_t i;
    size_t len;

    memset(rec, 0, sizeof(*rec));
    for (;;) {
        if ((i = journal_seg_index(j, j->rd.seq)) == -1)
            return 0;
        s = &j->segs[i];
        if (s->seq != j->rd.seq)
            j->rd = (struct journal_pos){ s->seq, JOURNAL_HDR };
        if (j->rd.off >= s->end) {
            if ((size_t)i + 1 == j->nsegs)
                return 0;
            j->rd = (struct journal_pos){ s[1].seq, JOURNAL_HDR };
            continue;
        }
        if (journal_reader_use(j, s->seq) == -1)
            return 0;
        if (journal_reader_next(&j->r, j->rd.off, s->end, &p, &len) == 1)
            break;
        /*
         * Checked when the journal was opened or appended by us, so the
         * disk changed under us. Its length cannot be trusted, so the
         * records after it in what is synced are lost; in the last
         * segment, records appended later start at the synced end.
         */
        journal_seg_name(s->seq, name, sizeof(name));
        log_error("%s/%s: a bad record at offset %llu: the %llu bytes from "
            "there to %llu cannot be read and are skipped", j->dir, name,
            (unsigned long long)j->rd.off,
            (unsigned long long)(s->end - j->rd.off),
            (unsigned long long)s->end);
        if ((size_t)i + 1 == j->nsegs)
            j->rd.off = s->end;
        else
            s->end = j->rd.off;
    }
    if ((rec->data = xmalloc(len > 0 ? len : 1)) == NULL)
        return 0;
    memcpy(rec->data, p, len);
    rec->len = len;
    rec->start = j->rd;
    j->rd.off += JOURNAL_REC_HDR + len;
    rec->end = j->rd;
    return 1;
}

void
journal_rewind(struct journal *j)
{
    j->rd = j->done;
}

bool
journal_is_empty(const struct journal *j)
{
    const struct journal_seg *t;

    if (j->nsegs == 0)
        return true;
    t = &j->segs[j->nsegs - 1];
    return j->unsynced == 0 && j->done.seq == t->seq && j->done.off >= t->end;
}

/* Remove segs[0] from the directory and the list. */
static void
journal_drop_first(struct journal *j)
{
    char name[JOURNAL_NAME_MAX];

    journal_seg_name(j->segs[0].seq, name, sizeof(name));
    if (j->r.fd != -1 && j->r.seq == j->segs[0].seq)
        journal_reader_close(&j->r);
    if (j->nsegs == 1 && j->tailfd != -1) {
        close(j->tailfd);
        j->tailfd = -1;
    }
    if (unlinkat(j->dirfd, name, 0) == -1 && errno != ENOENT)
        log_warn("%s/%s: cannot remove", j->dir, name);
    j->bytes -= j->segs[0].size;
    memmove(j->segs, j->segs + 1, (j->nsegs - 1) * sizeof(*j->segs));
    j->nsegs--;
}

void
journal_release(struct journal *j, const struct journal_pos *upto,
    uint64_t n)
{
    j->done = *upto;
    j->records -= n < j->records ? n : j->records;
    /* Segments wholly done go; the last one only with nothing unsynced,
     * and then the next append starts a fresh segment. */
    while (j->nsegs > 0 && (j->segs[0].seq < j->done.seq ||
        (j->segs[0].seq == j->done.seq && j->done.off >= j->segs[0].end))) {
        if (j->nsegs == 1 && j->unsynced > 0)
            break;
        journal_drop_first(j);
        if (j->nsegs == 0)
            j->done = (struct journal_pos){ j->next_seq, JOURNAL_HDR };
        else if (j->done.seq < j->segs[0].seq)
            j->done = (struct journal_pos){ j->segs[0].seq, JOURNAL_HDR };
    }
    if (journal_is_empty(j))
        j->records = 0;     /* a count a bad record put off heals here */
    if (j->rd.seq < j->done.seq || (j->rd.seq == j->done.seq &&
        j->rd.off < j->done.off))
        j->rd = j->done;
    journal_pos_write(j);
}

void
journal_get_stats(const struct journal *j, struct journal_stats *st)
{
    st->bytes = j->bytes;
    st->records = j->records;
    st->segments = j->nsegs;
}
