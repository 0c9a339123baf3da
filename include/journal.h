/*
 * journal: an append-only, checksummed log of records in one directory,
 * the on-disk half of the spool (spool.h). No event loop and no JSON: it
 * appends opaque records, makes them durable with fdatasync, reads them
 * back in order, and forgets them once the caller says they are done.
 *
 * Files in the directory (created 0700; files 0600):
 *
 *   lock                  flock'ed for as long as the journal is open, so
 *                         two processes never share a directory; holds
 *                         the owner's pid for the error message
 *   spool-<seq>.log       segments, in seq order: an 8-byte magic, then
 *                         records [u32 length][u32 crc32c][payload], the
 *                         crc over the length's four bytes and the payload,
 *                         integers little-endian
 *   position              where the oldest record not yet done starts
 *                         (segment seq and offset, with a crc); written
 *                         with pwrite and never fsynced: a stale position
 *                         only makes the caller see records again
 *
 * A new segment starts when an append finds the last one at or past
 * segment_bytes with nothing of it unsynced, so one sync's records always
 * share a segment. Segments wholly before the position are deleted.
 * Opening checks every record; a bad one (a torn write from a crash) ends
 * the last segment, which is truncated there, while in an earlier segment
 * it ends what can be read of that segment (logged as an error; the file
 * is left for a person to look at until the segment is done).
 */
#ifndef INBOXD_JOURNAL_H
#define INBOXD_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct journal;

struct journal_limits {
    uint64_t max_bytes;         /* every segment's bytes together */
    uint64_t segment_bytes;     /* where a new segment starts */
};

enum journal_status {
    JOURNAL_OK = 0,
    JOURNAL_FULL,               /* max_bytes would be passed; nothing written */
    JOURNAL_NOSPACE,            /* the file system said ENOSPC, EDQUOT or
                                   EFBIG; what was written is undone */
    JOURNAL_IOERR,              /* any other failure (EIO...); undone */
};

const char *journal_strstatus(enum journal_status st);

/* A place in the journal: a segment and a byte offset in it. */
struct journal_pos {
    uint64_t seq;
    uint64_t off;
};

/* One record read back. */
struct journal_rec {
    void *data;                 /* new: the caller xfrees it */
    size_t len;
    struct journal_pos start;   /* where the record starts */
    struct journal_pos end;     /* where the next one starts */
};

/* The largest record: a length past it is taken for a torn one. */
#define JOURNAL_RECORD_MAX  (256u << 20)

/*
 * Open the journal in dir, creating dir (mode 0700, not its parents) when
 * it is missing, lock it, check every segment and truncate a torn tail.
 * lim is copied. Returns the journal, or NULL with the reason in err
 * (another process holds the lock, a file that is not a segment, a system
 * error).
 */
struct journal *journal_open(const char *dir, const struct journal_limits *lim,
    char *err, size_t errlen);

/* Close (records appended and not synced are dropped first). NULL is fine. */
void journal_close(struct journal *j);

/* New limits for the appends to come (a reload). */
void journal_set_limits(struct journal *j, const struct journal_limits *lim);

/*
 * Append one record of len bytes (copied). Written to the file but not
 * durable until journal_sync. Anything but JOURNAL_OK leaves the journal
 * as it was, with errno telling why for NOSPACE and IOERR.
 */
enum journal_status journal_append(struct journal *j, const void *p,
    size_t len);

/*
 * Make every record appended so far durable (fdatasync). On failure the
 * records appended since the last good sync are removed (errno tells
 * why): their writers were never told they were kept. JOURNAL_OK when
 * there was nothing to do.
 */
enum journal_status journal_sync(struct journal *j);

/* Records appended since the last sync. */
uint64_t journal_unsynced(const struct journal *j);

/*
 * Read the next durable record (never one still unsynced) into rec.
 * Returns 1, or 0 when there is none now. A record that fails its check
 * here (the disk changed under us) ends its segment: logged, and reading
 * goes on with the next segment.
 */
int journal_read(struct journal *j, struct journal_rec *rec);

/* Read again from the position: the records after it were not all done. */
void journal_rewind(struct journal *j);

/*
 * Everything before upto is done; n is how many records that is beyond
 * the previous position. Writes the position file and deletes the
 * segments wholly before it; when nothing at all is left (and nothing is
 * unsynced), every segment goes and the next append starts a fresh one.
 */
void journal_release(struct journal *j, const struct journal_pos *upto,
    uint64_t n);

/* Records not done yet, synced or not. */
bool journal_is_empty(const struct journal *j);

struct journal_stats {
    uint64_t bytes;             /* on disk, headers and done records of the
                                   first segment included */
    uint64_t records;           /* not done yet, synced or not */
    uint64_t segments;
};

void journal_get_stats(const struct journal *j, struct journal_stats *st);

/*
 * Tests: what journal_sync calls instead of fdatasync(fd) (NULL puts
 * fdatasync back), so that a failing sync can be staged.
 */
typedef int journal_sync_fn(int fd);
void journal_set_sync_fn(struct journal *j, journal_sync_fn *fn);

/* CRC-32C (Castagnoli) of len bytes, continuing from crc (0 to start). */
uint32_t journal_crc32c(uint32_t crc, const void *p, size_t len);

#endif
