/*
 * ratelimit: the per-source table behind http_guard (connection caps,
 * stream caps and request rate per client address). ratelimit.h says
 * what a source is and how the table stays bounded.
 *
 * Layout: one array of entries, allocated once; a power-of-two array of
 * hash chains over it, linked by index; and one doubly linked list, by
 * index too, holding every entry that is in use but has nothing open
 * (the idle list, oldest first). Free entries are chained on the same
 * links. An entry is on the idle list exactly when it is in use and
 * unpinned, so the oldest idle one is always at hand for reuse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "alloc.h"
#include "ratelimit.h"

#define RATELIMIT_MIN_CAPACITY  16u
#define RATELIMIT_MAX_CAPACITY  (1u << 24)

/* Bucket levels are in millionths of a token: whole-number arithmetic
 * with rates up to 10^6 a second and a refill per millisecond. */
#define RATELIMIT_TOKEN         1000000ULL
/* Longer than any bucket takes to fill (burst <= 10^7 at rate >= 1). */
#define RATELIMIT_MAX_GAP_MS    (10000000LL * 1000)

struct ratelimit_bucket {
    uint64_t level;         /* millionths of a token */
    int64_t at_ms;          /* when level was right */
    bool primed;            /* false: never used, so full */
};

struct ratelimit_entry {
    struct ratelimit_key key;
    uint32_t hash;          /* of key: its chain, without hashing again */
    uint32_t chain;         /* next in the hash chain */
    uint32_t prev, next;    /* the idle list, or the free list (next) */
    uint32_t conns[RATELIMIT_NLISTENER];
    uint32_t streams;
    bool used;
    int64_t used_ms;        /* last ratelimit_get or release */
    struct ratelimit_bucket bucket[RATELIMIT_NLISTENER];
    struct ratelimit_note note;
};

struct ratelimit {
    struct ratelimit_entry *e;
    uint32_t capacity;
    uint32_t *chains;       /* nchains heads, RATELIMIT_NONE: empty */
    uint32_t mask;          /* nchains - 1 */
    uint32_t free;          /* the free list's head */
    uint32_t idle_head, idle_tail;
    uint32_t used, pinned;
    uint64_t evicted, expired;
    uint64_t k0, k1;        /* SipHash key */
};

/* ------------------------------------------------------------- siphash */

#define RATELIMIT_ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

#define RATELIMIT_SIPROUND do {                                          \
        v0 += v1; v1 = RATELIMIT_ROTL(v1, 13); v1 ^= v0;                 \
        v0 = RATELIMIT_ROTL(v0, 32);                                     \
        v2 += v3; v3 = RATELIMIT_ROTL(v3, 16); v3 ^= v2;                 \
        v0 += v3; v3 = RATELIMIT_ROTL(v3, 21); v3 ^= v0;                 \
        v2 += v1; v1 = RATELIMIT_ROTL(v1, 17); v1 ^= v2;                 \
        v2 = RATELIMIT_ROTL(v2, 32);                                     \
    } while (0)

/*
 * SipHash-1-3 of the 16 key bytes: a keyed function whose outputs an
 * outsider cannot predict, so no choice of addresses piles onto one
 * chain. The 1-3 rounds (as Python's and Rust's hash tables use) are
 * half the cost of 2-4 and ample against flooding. Words are read in
 * host order; only consistency matters here.
 */
static uint32_t
ratelimit_hash(const struct ratelimit *rl, const struct ratelimit_key *k)
{
    uint64_t v0 = rl->k0 ^ 0x736f6d6570736575ULL;
    uint64_t v1 = rl->k1 ^ 0x646f72616e646f6dULL;
    uint64_t v2 = rl->k0 ^ 0x6c7967656e657261ULL;
    uint64_t v3 = rl->k1 ^ 0x7465646279746573ULL;
    uint64_t m[3];

    memcpy(&m[0], k->b, 8);
    memcpy(&m[1], k->b + 8, 8);
    m[2] = (uint64_t)16 << 56;
    for (int i = 0; i < 3; i++) {
        v3 ^= m[i];
        RATELIMIT_SIPROUND;
        v0 ^= m[i];
    }
    v2 ^= 0xff;
    RATELIMIT_SIPROUND;
    RATELIMIT_SIPROUND;
    RATELIMIT_SIPROUND;
    return (uint32_t)(v0 ^ v1 ^ v2 ^ v3);
}

/* ----------------------------------------------------------- addresses */

static const unsigned char ratelimit_v4_prefix[12] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
};

bool
ratelimit_key_is_v4(const struct ratelimit_key *k)
{
    return memcmp(k->b, ratelimit_v4_prefix, 12) == 0;
}

static void
ratelimit_key_v4(const void *in4, struct ratelimit_key *out)
{
    memcpy(out->b, ratelimit_v4_prefix, 12);
    memcpy(out->b + 12, in4, 4);
}

int
ratelimit_key_from_sockaddr(const struct sockaddr *sa,
    struct ratelimit_key *out)
{
    const struct sockaddr_in *sin;
    const struct sockaddr_in6 *sin6;

    if (sa == NULL)
        return -1;
    switch (sa->sa_family) {
    case AF_INET:
        sin = (const struct sockaddr_in *)(const void *)sa;
        ratelimit_key_v4(&sin->sin_addr, out);
        return 0;
    case AF_INET6:
        sin6 = (const struct sockaddr_in6 *)(const void *)sa;
        memcpy(out->b, &sin6->sin6_addr, 16);
        return 0;
    default:
        return -1;
    }
}

int
ratelimit_key_parse(const char *s, size_t len, struct ratelimit_key *out)
{
    char tmp[INET6_ADDRSTRLEN];
    const char *end = s + len, *colon;
    unsigned char a[16];
    size_t n;

    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (s < end && *s == '[') {
        /* "[v6]" or "[v6]:port" */
        const char *close = memchr(s, ']', (size_t)(end - s));

        if (close == NULL || (close + 1 != end && close[1] != ':'))
            return -1;
        s++;
        end = close;
    } else if ((colon = memchr(s, ':', (size_t)(end - s))) != NULL &&
        memchr(colon + 1, ':', (size_t)(end - colon - 1)) == NULL) {
        /* One colon: "v4:port". Two or more: a bare IPv6 address. */
        end = colon;
    }
    n = (size_t)(end - s);
    if (n == 0 || n >= sizeof(tmp))
        return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (inet_pton(AF_INET, tmp, a) == 1) {
        ratelimit_key_v4(a, out);
        return 0;
    }
    if (inet_pton(AF_INET6, tmp, a) == 1) {
        memcpy(out->b, a, 16);
        return 0;
    }
    return -1;
}

/* Clear every bit of k past the first bits. */
static void
ratelimit_key_mask(struct ratelimit_key *k, unsigned bits)
{
    unsigned byte = bits / 8;

    if (bits >= 128)
        return;
    if (bits % 8 != 0)
        k->b[byte++] &= (unsigned char)(0xff00u >> (bits % 8));
    memset(k->b + byte, 0, 16 - byte);
}

void
ratelimit_key_cut(struct ratelimit_key *k, unsigned v6_prefix)
{
    if (!ratelimit_key_is_v4(k))
        ratelimit_key_mask(k, v6_prefix);
}

void
ratelimit_key_format(const struct ratelimit_key *k, unsigned v6_prefix,
    char *out, size_t outlen)
{
    char a[INET6_ADDRSTRLEN];

    if (ratelimit_key_is_v4(k)) {
        if (inet_ntop(AF_INET, k->b + 12, a, sizeof(a)) == NULL)
            a[0] = '\0';
        snprintf(out, outlen, "%s", a);
        return;
    }
    if (inet_ntop(AF_INET6, k->b, a, sizeof(a)) == NULL)
        a[0] = '\0';
    if (v6_prefix < 128)
        snprintf(out, outlen, "%s/%u", a, v6_prefix);
    else
        snprintf(out, outlen, "%s", a);
}

int
ratelimit_cidr_parse(const char *s, struct ratelimit_cidr *out)
{
    const char *slash = strchr(s, '/');
    size_t n = slash != NULL ? (size_t)(slash - s) : strlen(s);
    struct ratelimit_key masked;
    char tmp[INET6_ADDRSTRLEN];
    unsigned long bits, max;
    unsigned char a[16];
    char *end;

    if (n == 0 || n >= sizeof(tmp))
        return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (inet_pton(AF_INET, tmp, a) == 1) {
        ratelimit_key_v4(a, &out->net);
        max = 32;
    } else if (inet_pton(AF_INET6, tmp, a) == 1) {
        memcpy(out->net.b, a, 16);
        max = 128;
    } else {
        return -1;
    }
    bits = max;
    if (slash != NULL) {
        if (slash[1] < '0' || slash[1] > '9')
            return -1;
        bits = strtoul(slash + 1, &end, 10);
        if (*end != '\0' || bits > max)
            return -1;
    }
    out->bits = (unsigned)(max == 32 ? bits + 96 : bits);
    masked = out->net;
    ratelimit_key_mask(&masked, out->bits);
    /* "10.0.0.1/8" is a typo more often than a network. */
    return memcmp(&masked, &out->net, sizeof(masked)) == 0 ? 0 : -1;
}

bool
ratelimit_cidr_match(const struct ratelimit_cidr *v, size_t n,
    const struct ratelimit_key *k)
{
    for (size_t i = 0; i < n; i++) {
        unsigned whole = v[i].bits / 8, rest = v[i].bits % 8;

        if (memcmp(v[i].net.b, k->b, whole) != 0)
            continue;
        if (rest == 0 || ((v[i].net.b[whole] ^ k->b[whole]) &
            (0xff00u >> rest) & 0xff) == 0)
            return true;
    }
    return false;
}

/* ----------------------------------------------------------- forwarding */

/* Elements kept while reading one header value: the walk needs the last. */
#define RATELIMIT_FWD_RING  32

/*
 * One pair [s, end) of a Forwarded element: token "=" (token |
 * quoted-string). For a for= pair, 1 with *rc what its value parses to
 * (-1 when it is no address); 0 for any other pair.
 */
static int
ratelimit_fwd_pair(const char *s, const char *end, struct ratelimit_key *out,
    int *rc)
{
    const char *eq, *v, *ve;

    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    eq = memchr(s, '=', (size_t)(end - s));
    if (eq == NULL || eq - s != 3 || strncasecmp(s, "for", 3) != 0)
        return 0;
    v = eq + 1;
    ve = end;
    while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
        ve--;
    if (ve - v >= 2 && *v == '"' && ve[-1] == '"') {
        v++;
        ve--;
    }
    /* An escape or a stray quote has no place in an address. */
    if (memchr(v, '\\', (size_t)(ve - v)) != NULL ||
        memchr(v, '"', (size_t)(ve - v)) != NULL)
        *rc = -1;
    else
        *rc = ratelimit_key_parse(v, (size_t)(ve - v), out);
    return 1;
}

/* The address in one Forwarded element [s, end): its for= pair's. */
static int
ratelimit_fwd_for(const char *s, const char *end, struct ratelimit_key *out)
{
    const char *pair = s;
    bool quoted = false;
    int rc;

    for (const char *p = s;; p++) {
        if (p < end && *p == '"')
            quoted = !quoted;
        if (p < end && (quoted || *p != ';'))
            continue;
        if (ratelimit_fwd_pair(pair, p, out, &rc))
            return rc;
        if (p >= end)
            return -1;
        pair = p + 1;
    }
}

int
ratelimit_forwarded(enum ratelimit_fwd kind, const char *const *vals,
    size_t n, const struct ratelimit_cidr *trusted, size_t ntrusted,
    unsigned max_hops, struct ratelimit_key *out)
{
    const char *starts[RATELIMIT_FWD_RING], *ends[RATELIMIT_FWD_RING];
    struct ratelimit_key k;
    unsigned hops = 0;
    bool have = false;

    if (max_hops >= RATELIMIT_FWD_RING)
        max_hops = RATELIMIT_FWD_RING - 1;
    for (size_t i = n; i-- > 0;) {
        const char *p = vals[i], *s = p;
        size_t count = 0, first;
        bool quoted = false;

        if (p[strspn(p, " \t")] == '\0')
            continue;       /* a blank line names no one */
        /* Split on commas outside quotes, keeping the last elements. */
        for (;; p++) {
            if (*p == '"' && kind == RATELIMIT_FWD_FORWARDED)
                quoted = !quoted;
            else if (*p == '\0' || (*p == ',' && !quoted)) {
                starts[count % RATELIMIT_FWD_RING] = s;
                ends[count % RATELIMIT_FWD_RING] = p;
                count++;
                s = p + 1;
                if (*p == '\0')
                    break;
            }
        }
        first = count > RATELIMIT_FWD_RING ? count - RATELIMIT_FWD_RING : 0;
        for (size_t e = count; e-- > first;) {
            const char *es = starts[e % RATELIMIT_FWD_RING];
            const char *ee = ends[e % RATELIMIT_FWD_RING];
            int r = kind == RATELIMIT_FWD_FORWARDED ?
                ratelimit_fwd_for(es, ee, &k) :
                ratelimit_key_parse(es, (size_t)(ee - es), &k);

            if (++hops > max_hops || r == -1)
                return have ? 0 : -1;
            *out = k;
            have = true;
            if (!ratelimit_cidr_match(trusted, ntrusted, &k))
                return 0;
        }
    }
    return have ? 0 : -1;
}

/* --------------------------------------------------------------- lists */

static void
ratelimit_idle_unlink(struct ratelimit *rl, uint32_t id)
{
    struct ratelimit_entry *e = &rl->e[id];

    if (e->prev != RATELIMIT_NONE)
        rl->e[e->prev].next = e->next;
    else
        rl->idle_head = e->next;
    if (e->next != RATELIMIT_NONE)
        rl->e[e->next].prev = e->prev;
    else
        rl->idle_tail = e->prev;
    e->prev = e->next = RATELIMIT_NONE;
}

static void
ratelimit_idle_append(struct ratelimit *rl, uint32_t id)
{
    struct ratelimit_entry *e = &rl->e[id];

    e->prev = rl->idle_tail;
    e->next = RATELIMIT_NONE;
    if (rl->idle_tail != RATELIMIT_NONE)
        rl->e[rl->idle_tail].next = id;
    else
        rl->idle_head = id;
    rl->idle_tail = id;
}

static bool
ratelimit_is_pinned(const struct ratelimit_entry *e)
{
    if (e->streams > 0)
        return true;
    for (int l = 0; l < RATELIMIT_NLISTENER; l++)
        if (e->conns[l] > 0)
            return true;
    return false;
}

/* Take entry id, idle and in use, out of the table. */
static void
ratelimit_drop(struct ratelimit *rl, uint32_t id)
{
    struct ratelimit_entry *e = &rl->e[id];
    uint32_t *link = &rl->chains[e->hash & rl->mask];

    while (*link != id)
        link = &rl->e[*link].chain;
    *link = e->chain;
    ratelimit_idle_unlink(rl, id);
    e->used = false;
    rl->used--;
}

/* ---------------------------------------------------------------- table */

struct ratelimit *
ratelimit_new(uint32_t capacity, const unsigned char seed[16])
{
    struct ratelimit *rl;
    uint32_t nchains = 1;

    if (capacity < RATELIMIT_MIN_CAPACITY)
        capacity = RATELIMIT_MIN_CAPACITY;
    if (capacity > RATELIMIT_MAX_CAPACITY)
        capacity = RATELIMIT_MAX_CAPACITY;
    while (nchains < capacity)
        nchains <<= 1;
    if ((rl = xcalloc(1, sizeof(*rl))) == NULL)
        return NULL;
    rl->e = xcalloc(capacity, sizeof(*rl->e));
    rl->chains = xmalloc(nchains * sizeof(*rl->chains));
    if (rl->e == NULL || rl->chains == NULL) {
        ratelimit_free(rl);
        return NULL;
    }
    memset(rl->chains, 0xff, nchains * sizeof(*rl->chains));
    rl->capacity = capacity;
    rl->mask = nchains - 1;
    for (uint32_t i = 0; i < capacity; i++) {
        rl->e[i].prev = RATELIMIT_NONE;
        rl->e[i].next = i + 1 < capacity ? i + 1 : RATELIMIT_NONE;
    }
    rl->free = 0;
    rl->idle_head = rl->idle_tail = RATELIMIT_NONE;
    memcpy(&rl->k0, seed, 8);
    memcpy(&rl->k1, seed + 8, 8);
    return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
    if (rl == NULL)
        return;
    xfree(rl->e);
    xfree(rl->chains);
    xfree(rl);
}

uint32_t
ratelimit_get(struct ratelimit *rl, const struct ratelimit_key *k,
    int64_t now_ms)
{
    uint32_t hash = ratelimit_hash(rl, k), h = hash & rl->mask, id;
    struct ratelimit_entry *e;

    for (id = rl->chains[h]; id != RATELIMIT_NONE; id = rl->e[id].chain) {
        e = &rl->e[id];
        if (memcmp(&e->key, k, sizeof(*k)) != 0)
            continue;
        e->used_ms = now_ms;
        if (!ratelimit_is_pinned(e)) {
            /* Idle: it moves to the young end. */
            ratelimit_idle_unlink(rl, id);
            ratelimit_idle_append(rl, id);
        }
        return id;
    }
    /* Expire a little on every miss: the work stays O(1) per call and
     * the table sheds what nobody uses any more. */
    for (int i = 0; i < 2 && rl->idle_head != RATELIMIT_NONE &&
        now_ms - rl->e[rl->idle_head].used_ms > RATELIMIT_IDLE_MS; i++) {
        id = rl->idle_head;
        ratelimit_drop(rl, id);
        rl->e[id].next = rl->free;
        rl->free = id;
        rl->expired++;
    }
    if (rl->free != RATELIMIT_NONE) {
        id = rl->free;
        rl->free = rl->e[id].next;
    } else if (rl->idle_head != RATELIMIT_NONE) {
        id = rl->idle_head;
        ratelimit_drop(rl, id);
        rl->evicted++;
    } else {
        return RATELIMIT_NONE;
    }
    e = &rl->e[id];
    memset(e, 0, sizeof(*e));
    e->key = *k;
    e->hash = hash;
    e->used = true;
    e->used_ms = now_ms;
    e->chain = rl->chains[h];
    rl->chains[h] = id;
    ratelimit_idle_append(rl, id);
    rl->used++;
    return id;
}

struct ratelimit_note *
ratelimit_note(struct ratelimit *rl, uint32_t id)
{
    return &rl->e[id].note;
}

int64_t
ratelimit_take(struct ratelimit *rl, uint32_t id, enum ratelimit_listener l,
    uint32_t rate, uint32_t burst, int64_t now_ms)
{
    struct ratelimit_bucket *b = &rl->e[id].bucket[l];
    uint64_t cap = (uint64_t)(burst > 0 ? burst : 1) * RATELIMIT_TOKEN;
    uint64_t per_ms = (uint64_t)rate * 1000;   /* millionths a ms */
    int64_t gap = now_ms - b->at_ms;

    if (rate == 0)
        return 0;
    if (!b->primed || gap >= RATELIMIT_MAX_GAP_MS) {
        b->level = cap;
        b->primed = true;
        b->at_ms = now_ms;
    } else if (gap > 0) {
        b->level += (uint64_t)gap * per_ms;
        b->at_ms = now_ms;
    }
    /* Also when a reload lowered the burst. */
    if (b->level > cap)
        b->level = cap;
    if (b->level >= RATELIMIT_TOKEN) {
        b->level -= RATELIMIT_TOKEN;
        return 0;
    }
    return (int64_t)((RATELIMIT_TOKEN - b->level + per_ms - 1) / per_ms);
}

/* Something was opened on entry id: pin it. */
static void
ratelimit_pin(struct ratelimit *rl, uint32_t id, bool was_pinned)
{
    if (!was_pinned) {
        ratelimit_idle_unlink(rl, id);
        rl->pinned++;
    }
}

/* Something was closed on entry id: back to the idle list when empty. */
static void
ratelimit_unpin(struct ratelimit *rl, uint32_t id, int64_t now_ms)
{
    struct ratelimit_entry *e = &rl->e[id];

    if (ratelimit_is_pinned(e))
        return;
    e->used_ms = now_ms;
    ratelimit_idle_append(rl, id);
    rl->pinned--;
}

bool
ratelimit_conn_open(struct ratelimit *rl, uint32_t id,
    enum ratelimit_listener l, uint32_t max)
{
    struct ratelimit_entry *e = &rl->e[id];
    bool pinned = ratelimit_is_pinned(e);

    if (max > 0 && e->conns[l] >= max)
        return false;
    e->conns[l]++;
    ratelimit_pin(rl, id, pinned);
    return true;
}

void
ratelimit_conn_close(struct ratelimit *rl, uint32_t id,
    enum ratelimit_listener l, int64_t now_ms)
{
    struct ratelimit_entry *e = &rl->e[id];

    if (e->conns[l] == 0)
        return;
    e->conns[l]--;
    ratelimit_unpin(rl, id, now_ms);
}

bool
ratelimit_stream_open(struct ratelimit *rl, uint32_t id, uint32_t max)
{
    struct ratelimit_entry *e = &rl->e[id];
    bool pinned = ratelimit_is_pinned(e);

    if (max > 0 && e->streams >= max)
        return false;
    e->streams++;
    ratelimit_pin(rl, id, pinned);
    return true;
}

void
ratelimit_stream_close(struct ratelimit *rl, uint32_t id, int64_t now_ms)
{
    struct ratelimit_entry *e = &rl->e[id];

    if (e->streams == 0)
        return;
    e->streams--;
    ratelimit_unpin(rl, id, now_ms);
}

void
ratelimit_stats(const struct ratelimit *rl, struct ratelimit_stats *st)
{
    st->capacity = rl->capacity;
    st->used = rl->used;
    st->pinned = rl->pinned;
    st->evicted = rl->evicted;
    st->expired = rl->expired;
}
