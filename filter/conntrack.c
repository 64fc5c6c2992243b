/* SPDX-License-Identifier: MIT */
#include "filter/conntrack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define NONE UINT32_MAX
#define EVICT_SCAN 8	/* entries looked at from the LRU end for a better victim */

enum ct_state {
	CT_TCP_SYN_SENT,
	CT_TCP_ESTABLISHED,
	CT_TCP_FIN_WAIT,
	CT_TCP_CLOSED,
	CT_UDP,
	CT_ICMP,
};

enum {
	F_REPLIED = 1,
	F_FIN_OUT = 2,
	F_FIN_IN = 4,
};

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The 128-bit product folded: every input bit reaches the output, keyed by the seed words. */
static inline uint64_t mix(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t hash_key(const uint64_t seed[6], const uint64_t k[5])
{
	uint64_t h = mix(k[0] ^ seed[0], k[1] ^ seed[1]) ^ mix(k[2] ^ seed[2], k[3] ^ seed[3]);

	return mix(h ^ seed[4], k[4] ^ seed[5]);
}

/* Loads, not partial stores into a zeroed key: reading those back defeats store forwarding. */
static inline uint64_t load64(const uint8_t *a)
{
	uint64_t v;

	memcpy(&v, a, 8);
	return v;
}

static inline uint32_t load32(const uint8_t *a)
{
	uint32_t v;

	memcpy(&v, a, 4);
	return v;
}

static inline void key_set(uint64_t k[5], int family, const uint8_t *local, const uint8_t *remote,
			   uint16_t lport, uint16_t rport, uint8_t proto)
{
	if (family == AF_INET) {
		k[0] = load32(local);
		k[1] = 0;
		k[2] = load32(remote);
		k[3] = 0;
	} else {
		k[0] = load64(local);
		k[1] = load64(local + 8);
		k[2] = load64(remote);
		k[3] = load64(remote + 8);
	}
	k[4] = (uint64_t)lport | (uint64_t)rport << 16 | (uint64_t)proto << 32 |
	       (uint64_t)family << 40;
}

static inline bool key_eq(const uint64_t a[5], const uint64_t b[5])
{
	return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4])) == 0;
}

/* The flow key of p as this node sends it (sent) or as it receives it; false: not trackable. */
static bool flow_key(uint64_t k[5], const struct wm_pkt *p, bool sent)
{
	const uint8_t *local = sent ? p->src : p->dst, *remote = sent ? p->dst : p->src;

	if (p->frag == WM_PKT_FRAG_LATER)
		return false;
	if (p->icmp) {
		uint8_t want = p->family == AF_INET ? (sent ? WM_ICMP4_ECHO : WM_ICMP4_ECHO_REPLY)
						    : (sent ? WM_ICMP6_ECHO : WM_ICMP6_ECHO_REPLY);

		if (p->icmp_type != want)
			return false;
		key_set(k, p->family, local, remote, p->icmp_id, 0, p->proto);
		return true;
	}
	if (p->proto != WM_IPPROTO_TCP && p->proto != WM_IPPROTO_UDP)
		return false;
	key_set(k, p->family, local, remote, sent ? p->sport : p->dport, sent ? p->dport : p->sport,
		p->proto);
	return true;
}

static uint64_t timeout(const struct wm_conntrack_entry *e)
{
	switch (e->state) {
	case CT_TCP_SYN_SENT:
		return WM_CT_TCP_SYN_SENT_TIMEOUT;
	case CT_TCP_ESTABLISHED:
		return WM_CT_TCP_ESTABLISHED_TIMEOUT;
	case CT_TCP_FIN_WAIT:
		return WM_CT_TCP_FIN_WAIT_TIMEOUT;
	case CT_UDP:
		return e->flags & F_REPLIED ? WM_CT_UDP_REPLIED_TIMEOUT : WM_CT_UDP_TIMEOUT;
	default:
		return WM_CT_ICMP_TIMEOUT;
	}
}

/* ---- LRU list and hash chains ---------------------------------------------------------------- */

static void lru_unlink(struct wm_conntrack *ct, uint32_t i)
{
	struct wm_conntrack_entry *e = &ct->entries[i];

	if (e->prev != NONE)
		ct->entries[e->prev].next = e->next;
	else
		ct->lru_head = e->next;
	if (e->next != NONE)
		ct->entries[e->next].prev = e->prev;
	else
		ct->lru_tail = e->prev;
}

static void lru_push(struct wm_conntrack *ct, uint32_t i)
{
	struct wm_conntrack_entry *e = &ct->entries[i];

	e->prev = NONE;
	e->next = ct->lru_head;
	if (ct->lru_head != NONE)
		ct->entries[ct->lru_head].prev = i;
	else
		ct->lru_tail = i;
	ct->lru_head = i;
}

static void touch(struct wm_conntrack *ct, uint32_t i)
{
	if (ct->lru_head != i) {
		lru_unlink(ct, i);
		lru_push(ct, i);
	}
}

static void remove_entry(struct wm_conntrack *ct, uint32_t i)
{
	uint32_t *link = &ct->buckets[hash_key(ct->seed, ct->entries[i].key) & ct->mask];

	while (*link != i)
		link = &ct->entries[*link].hnext;
	*link = ct->entries[i].hnext;
	lru_unlink(ct, i);
	ct->entries[i].hnext = ct->free_head;
	ct->free_head = i;
	ct->count--;
}

/* The live entry with key k (h its hash), or NONE; an expired one met on the way is dropped. */
static uint32_t lookup(struct wm_conntrack *ct, const uint64_t k[5], uint64_t h, uint64_t now)
{
	uint32_t i;

	for (i = ct->buckets[h & ct->mask]; i != NONE; i = ct->entries[i].hnext) {
		if (key_eq(ct->entries[i].key, k)) {
			if (ct->entries[i].expires > now)
				return i;
			remove_entry(ct, i);
			return NONE;
		}
	}
	return NONE;
}

static uint32_t insert(struct wm_conntrack *ct, const uint64_t k[5], uint64_t h, uint8_t state,
		       uint64_t now)
{
	struct wm_conntrack_entry *e;
	uint32_t i;

	if (ct->free_head == NONE) {
		uint32_t victim = ct->lru_tail, j = ct->lru_tail;

		for (int n = 0; n < EVICT_SCAN && j != NONE; n++, j = ct->entries[j].prev) {
			if (ct->entries[j].expires <= now || !(ct->entries[j].flags & F_REPLIED)) {
				victim = j;
				break;
			}
		}
		if (ct->entries[victim].expires > now)
			ct->evictions++;
		remove_entry(ct, victim);
	}
	i = ct->free_head;
	e = &ct->entries[i];
	ct->free_head = e->hnext;
	memcpy(e->key, k, sizeof(e->key));
	e->state = state;
	e->flags = 0;
	e->expires = now + timeout(e);
	e->hnext = ct->buckets[h & ct->mask];
	ct->buckets[h & ct->mask] = i;
	lru_push(ct, i);
	ct->count++;
	return i;
}

/* ---- Setup ----------------------------------------------------------------------------------- */

int wm_conntrack_init(struct wm_conntrack *ct, size_t capacity, uint64_t seed)
{
	size_t nb = 1;

	memset(ct, 0, sizeof(*ct));
	if (!capacity)
		capacity = WM_CONNTRACK_DEFAULT_CAPACITY;
	if (capacity > WM_CONNTRACK_MAX_CAPACITY)
		return -EINVAL;
	while (nb < capacity)
		nb <<= 1;
	ct->entries = calloc(capacity, sizeof(*ct->entries));
	ct->buckets = malloc(nb * sizeof(*ct->buckets));
	ct->frags = calloc(WM_CT_FRAG_SETS * WM_CT_FRAG_WAYS, sizeof(*ct->frags));
	if (!ct->entries || !ct->buckets || !ct->frags) {
		wm_conntrack_free(ct);
		return -ENOMEM;
	}
	for (int i = 0; i < 6; i++)
		ct->seed[i] = splitmix(&seed) | 1;
	memset(ct->buckets, 0xff, nb * sizeof(*ct->buckets));
	ct->capacity = (uint32_t)capacity;
	ct->mask = (uint32_t)(nb - 1);
	for (uint32_t i = 0; i < ct->capacity; i++)
		ct->entries[i].hnext = i + 1 < ct->capacity ? i + 1 : NONE;
	ct->free_head = 0;
	ct->lru_head = ct->lru_tail = NONE;
	return 0;
}

void wm_conntrack_free(struct wm_conntrack *ct)
{
	free(ct->entries);
	free(ct->buckets);
	free(ct->frags);
	memset(ct, 0, sizeof(*ct));
}

size_t wm_conntrack_count(const struct wm_conntrack *ct)
{
	return ct->count;
}

size_t wm_conntrack_expire(struct wm_conntrack *ct, uint64_t now)
{
	size_t n = 0;
	uint32_t i = ct->lru_head, next;

	for (; i != NONE; i = next) {
		next = ct->entries[i].next;
		if (ct->entries[i].expires <= now) {
			remove_entry(ct, i);
			n++;
		}
	}
	return n;
}

/* ---- Flows ----------------------------------------------------------------------------------- */

static void tcp_close(struct wm_conntrack_entry *e, uint64_t linger, uint64_t now)
{
	if (e->state != CT_TCP_CLOSED || now + linger < e->expires) {
		e->state = CT_TCP_CLOSED;
		e->expires = now + linger;
	}
}

/* The flags of a segment either way, after the direction-specific part. */
static void tcp_advance(struct wm_conntrack_entry *e, uint8_t flags, uint8_t fin_this_way,
			uint64_t now)
{
	if (flags & WM_TCP_RST) {
		tcp_close(e, WM_CT_TCP_RESET_LINGER, now);
		return;
	}
	if (e->state == CT_TCP_CLOSED)
		return;		/* the linger runs from the close */
	if (flags & WM_TCP_FIN) {
		e->flags |= fin_this_way;
		if ((e->flags & (F_FIN_OUT | F_FIN_IN)) == (F_FIN_OUT | F_FIN_IN)) {
			tcp_close(e, WM_CT_TCP_CLOSE_LINGER, now);
			return;
		}
		e->state = CT_TCP_FIN_WAIT;
	}
	e->expires = now + timeout(e);
}

void wm_conntrack_outbound(struct wm_conntrack *ct, const uint8_t *pkt, size_t len, uint64_t now)
{
	struct wm_conntrack_entry *e;
	struct wm_pkt p;
	uint64_t k[5], h;
	uint32_t i;
	uint8_t syn;

	if (!wm_pkt_parse(&p, pkt, len, false) || !flow_key(k, &p, true))
		return;
	h = hash_key(ct->seed, k);
	i = lookup(ct, k, h, now);
	if (p.proto != WM_IPPROTO_TCP) {
		if (i == NONE) {
			insert(ct, k, h, p.proto == WM_IPPROTO_UDP ? CT_UDP : CT_ICMP, now);
			return;
		}
		ct->entries[i].expires = now + timeout(&ct->entries[i]);
		touch(ct, i);
		return;
	}
	syn = (p.tcp_flags & (WM_TCP_SYN | WM_TCP_ACK | WM_TCP_RST)) == WM_TCP_SYN;
	if (i == NONE) {
		if (syn)
			insert(ct, k, h, CT_TCP_SYN_SENT, now);
		return;
	}
	e = &ct->entries[i];
	if (syn && e->state == CT_TCP_CLOSED) {
		/* The port pair reused for a new connection. */
		e->state = CT_TCP_SYN_SENT;
		e->flags = 0;
	}
	tcp_advance(e, p.tcp_flags, F_FIN_OUT, now);
	touch(ct, i);
}

bool wm_conntrack_inbound(struct wm_conntrack *ct, const struct wm_pkt *p, uint64_t now)
{
	struct wm_conntrack_entry *e;
	uint64_t k[5];
	uint32_t i;

	if (!flow_key(k, p, false))
		return false;
	i = lookup(ct, k, hash_key(ct->seed, k), now);
	if (i == NONE)
		return false;
	e = &ct->entries[i];
	if (p->proto == WM_IPPROTO_TCP) {
		uint8_t f = p->tcp_flags & (WM_TCP_SYN | WM_TCP_ACK);

		/* A new connection from the peer on this port pair is for the rules to judge. */
		if (f == WM_TCP_SYN && e->state != CT_TCP_SYN_SENT)
			return false;
		if (f == (WM_TCP_SYN | WM_TCP_ACK) && e->state == CT_TCP_SYN_SENT)
			e->state = CT_TCP_ESTABLISHED;
		e->flags |= F_REPLIED;
		tcp_advance(e, p->tcp_flags, F_FIN_IN, now);
	} else {
		e->flags |= F_REPLIED;
		e->expires = now + timeout(e);
	}
	touch(ct, i);
	return true;
}

bool wm_conntrack_sent(struct wm_conntrack *ct, const struct wm_pkt *q, uint64_t now)
{
	uint64_t k[5];

	return flow_key(k, q, true) && lookup(ct, k, hash_key(ct->seed, k), now) != NONE;
}

/* ---- Fragments ------------------------------------------------------------------------------- */

static struct wm_conntrack_frag *frag_set(const struct wm_conntrack *ct, const struct wm_pkt *p,
					  uint64_t k[5])
{
	key_set(k, p->family, p->src, p->dst, 0, 0, p->proto);
	k[4] |= (uint64_t)p->frag_id << 48 | (uint64_t)(p->frag_id >> 16);
	return &ct->frags[(hash_key(ct->seed, k) % WM_CT_FRAG_SETS) * WM_CT_FRAG_WAYS];
}

void wm_conntrack_frag_note(struct wm_conntrack *ct, const struct wm_pkt *p, uint64_t now)
{
	struct wm_conntrack_frag *set, *slot;
	uint64_t k[5];

	set = frag_set(ct, p, k);
	slot = &set[0];
	for (int w = 0; w < WM_CT_FRAG_WAYS; w++) {
		if (set[w].expires > now && key_eq(set[w].key, k)) {
			slot = &set[w];
			break;
		}
		if (set[w].expires < slot->expires)
			slot = &set[w];		/* free, expired or oldest */
	}
	memcpy(slot->key, k, sizeof(slot->key));
	slot->expires = now + WM_CT_FRAG_TIMEOUT;
}

bool wm_conntrack_frag_known(const struct wm_conntrack *ct, const struct wm_pkt *p, uint64_t now)
{
	const struct wm_conntrack_frag *set;
	uint64_t k[5];

	set = frag_set(ct, p, k);
	for (int w = 0; w < WM_CT_FRAG_WAYS; w++)
		if (set[w].expires > now && key_eq(set[w].key, k))
			return true;
	return false;
}
