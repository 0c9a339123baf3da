/*
 * ratelimit: what inboxd remembers about each source of HTTP traffic, in
 * a table of fixed size. A source is a client address: an IPv4 address,
 * or an IPv6 address cut to a prefix (a /64 by default: one subscriber's
 * network is one source). Per source the table keeps the connections
 * open to each listener, the event streams open, and one token bucket
 * per listener for the request rate.
 *
 * The table never grows: ratelimit_new sizes it once. A source with
 * something open is pinned; the others sit on a least-recently-used list
 * and are reused, oldest first, when a new source needs a place, or
 * dropped after RATELIMIT_IDLE_MS without use. A flood from many
 * addresses therefore costs a bounded table and forgets only idle
 * sources (whose buckets would be full again anyway).
 *
 * Lookups hash the address with SipHash under a per-process random key,
 * so no one can aim many addresses at one chain. Nothing here allocates
 * after ratelimit_new, and every call is O(1) (the CIDR list match is
 * O(length of the list), a constant of the config). Pure: no
 * sockets, no event loop; time comes in as a monotonic now_ms.
 */
#ifndef INBOXD_RATELIMIT_H
#define INBOXD_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;

/* No entry: the table is full of pinned sources (see ratelimit_get). */
#define RATELIMIT_NONE          UINT32_MAX

/* An unpinned entry unused this long is dropped (lazily). */
#define RATELIMIT_IDLE_MS       (10 * 60 * 1000)

/* Enough for "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128". */
#define RATELIMIT_ADDRSTRLEN    56

/* The listeners, each with its own connection count and bucket. */
enum ratelimit_listener {
    RATELIMIT_API,          /* listen: the API and the webhooks */
    RATELIMIT_WEB,          /* web.listen: the web inbox */
    RATELIMIT_NLISTENER,
};

/*
 * A source: 16 bytes, IPv6 order. IPv4 addresses (and IPv4-mapped IPv6
 * ones, as a dual-stack socket reports IPv4 peers) are stored mapped,
 * ::ffff:a.b.c.d, and never cut; IPv6 ones are cut to the prefix.
 */
struct ratelimit_key {
    unsigned char b[16];
};

/* A network: the key's first bits bits (IPv4 /n is bits 96 + n). */
struct ratelimit_cidr {
    struct ratelimit_key net;
    unsigned bits;
};

/* The caller's notes on a source, zeroed when the entry is reused. */
struct ratelimit_note {
    int64_t logged_ms;      /* last log line about this source; 0: none */
    uint32_t unlogged;      /* refusals since then, not logged */
};

struct ratelimit_stats {
    uint32_t capacity;
    uint32_t used;          /* entries in use, pinned or idle */
    uint32_t pinned;        /* entries with something open */
    uint64_t evicted;       /* idle entries reused for a new source */
    uint64_t expired;       /* idle entries dropped after RATELIMIT_IDLE_MS */
};

struct ratelimit;

/* ------------------------------------------------------------ addresses */

/*
 * A peer's whole address (AF_INET or AF_INET6), not cut yet: networks
 * (ratelimit_cidr_match) are matched against it. -1 for another family.
 */
int ratelimit_key_from_sockaddr(const struct sockaddr *sa,
    struct ratelimit_key *out);

/*
 * The address named by text of len bytes, as an X-Forwarded-For element
 * carries it: "192.0.2.1", "2001:db8::1", optionally with a port
 * ("192.0.2.1:443", "[2001:db8::1]:443") and surrounding blanks; not cut.
 * -1 when it is not an address (a name, "unknown", junk).
 */
int ratelimit_key_parse(const char *s, size_t len, struct ratelimit_key *out);

/* Cut an address to its source: IPv6 to v6_prefix bits (1..128); IPv4
 * stays whole. */
void ratelimit_key_cut(struct ratelimit_key *k, unsigned v6_prefix);

/* Is it an IPv4 address (stored mapped)? */
bool ratelimit_key_is_v4(const struct ratelimit_key *k);

/* "192.0.2.1", "2001:db8:1:2::/64" (the cut prefix shown); out holds
 * RATELIMIT_ADDRSTRLEN bytes. */
void ratelimit_key_format(const struct ratelimit_key *k, unsigned v6_prefix,
    char *out, size_t outlen);

/*
 * "192.0.2.0/24", "2001:db8::/32", or one address ("192.0.2.7": a /32,
 * "::1": a /128). Bits past the prefix must be zero. -1 when malformed.
 */
int ratelimit_cidr_parse(const char *s, struct ratelimit_cidr *out);

/* Does k lie in any of the n networks? */
bool ratelimit_cidr_match(const struct ratelimit_cidr *v, size_t n,
    const struct ratelimit_key *k);

/* Which header a trusted proxy names its client in (http.forwarded_header). */
enum ratelimit_fwd {
    RATELIMIT_FWD_XFF = 0,      /* X-Forwarded-For: 192.0.2.1, 10.0.0.5 */
    RATELIMIT_FWD_FORWARDED,    /* Forwarded: for=192.0.2.1;proto=https,
                                   for="[2001:db8::1]:443" (RFC 7239) */
};

/*
 * The client behind trusted proxies, from the n values of the header
 * (vals, in the order the lines came; each a list of elements): walking
 * the elements from the right (the hop nearest to us), the first address
 * that is not in trusted. Only what our own proxies appended can be
 * believed, so the walk stops at the first element that is not an
 * address (a name, "unknown", an obfuscated "_id", an element without
 * for=) or after max_hops, and the last address seen is the client.
 * 0 with it in *out; -1 when the nearest element is no address.
 */
int ratelimit_forwarded(enum ratelimit_fwd kind, const char *const *vals,
    size_t n, const struct ratelimit_cidr *trusted, size_t ntrusted,
    unsigned max_hops, struct ratelimit_key *out);

/* ---------------------------------------------------------------- table */

/*
 * A table of capacity entries (16..2^24), hashed under the 16-byte seed
 * (random in the daemon; fixed in tests). Returns new, or NULL when out
 * of memory. Free with ratelimit_free.
 */
struct ratelimit *ratelimit_new(uint32_t capacity,
    const unsigned char seed[16]);
void ratelimit_free(struct ratelimit *rl);

/*
 * The entry of source k, found or added: an id valid until the entry is
 * unpinned and reused (a caller keeps an id only while it holds a
 * connection or a stream on it). A new entry takes a free slot, else the
 * least recently used idle one. RATELIMIT_NONE only when every entry is
 * pinned. O(1).
 */
uint32_t ratelimit_get(struct ratelimit *rl, const struct ratelimit_key *k,
    int64_t now_ms);

/* The caller's notes on entry id (see struct ratelimit_note). */
struct ratelimit_note *ratelimit_note(struct ratelimit *rl, uint32_t id);

/*
 * Take one request from the source's bucket for listener l: rate tokens
 * a second, at most burst banked (a new source starts full). Returns 0
 * when the request may go, else the milliseconds until a token will be
 * there (at least 1). rate 0 means no limit. O(1).
 */
int64_t ratelimit_take(struct ratelimit *rl, uint32_t id,
    enum ratelimit_listener l, uint32_t rate, uint32_t burst,
    int64_t now_ms);

/*
 * One more connection from the source to listener l, unless it already
 * has max open (0: no cap). true when counted; the entry stays pinned
 * until every connection and stream is closed.
 */
bool ratelimit_conn_open(struct ratelimit *rl, uint32_t id,
    enum ratelimit_listener l, uint32_t max);
void ratelimit_conn_close(struct ratelimit *rl, uint32_t id,
    enum ratelimit_listener l, int64_t now_ms);

/* The same for event streams, one count over both listeners. */
bool ratelimit_stream_open(struct ratelimit *rl, uint32_t id, uint32_t max);
void ratelimit_stream_close(struct ratelimit *rl, uint32_t id,
    int64_t now_ms);

void ratelimit_stats(const struct ratelimit *rl, struct ratelimit_stats *st);

#endif
