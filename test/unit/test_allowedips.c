/* SPDX-License-Identifier: MIT */
#include "engine/allowedips.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Fake peers: the trie only compares the pointers. */
#define NPEERS 8
static char peer_objs[NPEERS];
#define PEER(i) ((struct wm_peer *)&peer_objs[i])

/*
 * Check records a location on every passing ck_assert (a write to a pipe), which dominates
 * the loops below; these only call into Check when the comparison fails.
 */
#define fast_assert(expr) do { if (!(expr)) ck_assert(expr); } while (0)
#define fast_assert_msg(expr, ...) do { if (!(expr)) ck_assert_msg(expr, __VA_ARGS__); } while (0)

static int family_of(const char *text)
{
	return strchr(text, ':') ? AF_INET6 : AF_INET;
}

static void parse(const char *text, int *family, uint8_t addr[16])
{
	*family = family_of(text);
	fast_assert_msg(inet_pton(*family, text, addr) == 1, "bad address %s", text);
}

static int insert(struct wm_allowedips *t, const char *text, uint8_t cidr, struct wm_peer *peer)
{
	uint8_t addr[16];
	int family;

	parse(text, &family, addr);
	return wm_allowedips_insert(t, family, addr, cidr, peer);
}

static int remove_prefix(struct wm_allowedips *t, const char *text, uint8_t cidr,
			 struct wm_peer *peer)
{
	uint8_t addr[16];
	int family;

	parse(text, &family, addr);
	return wm_allowedips_remove(t, family, addr, cidr, peer);
}

static struct wm_peer *lookup(const struct wm_allowedips *t, const char *text)
{
	uint8_t addr[16];
	int family;

	parse(text, &family, addr);
	return wm_allowedips_lookup(t, family, addr);
}

/* Top-down check of every structural promise the trie makes; returns the nodes with a peer. */
static bool key_bit(const uint64_t key[2], unsigned int n)
{
	return (key[n / 64] >> (63 - n % 64)) & 1;
}

static size_t check_subtree(const struct wm_allowedips_node *node,
			    const struct wm_allowedips_node *parent, unsigned int bits, int depth)
{
	size_t owned = node->peer != NULL;
	unsigned int i, b;

	fast_assert(depth <= 129);
	fast_assert(node->parent == parent);
	fast_assert(node->cidr <= bits);
	for (i = node->cidr; i < 128; i++)
		fast_assert_msg(!key_bit(node->key, i), "host bit %u set in /%u", i, node->cidr);
	if (!node->peer)
		fast_assert_msg(node->bit[0] && node->bit[1], "peerless node /%u with < 2 branches",
			      node->cidr);
	for (b = 0; b < 2; b++) {
		const struct wm_allowedips_node *child = node->bit[b];

		if (!child)
			continue;
		fast_assert(child->cidr > node->cidr);
		for (i = 0; i < node->cidr; i++)
			fast_assert(key_bit(child->key, i) == key_bit(node->key, i));
		fast_assert(key_bit(child->key, node->cidr) == b);
		owned += check_subtree(child, node, bits, depth + 1);
	}
	return owned;
}

static void check_shape(const struct wm_allowedips *t)
{
	size_t owned = 0;

	if (t->root4)
		owned += check_subtree(t->root4, NULL, 32, 0);
	if (t->root6)
		owned += check_subtree(t->root6, NULL, 128, 0);
	ck_assert_uint_eq(owned, t->count);
}

START_TEST(test_v4_basic)
{
	struct wm_allowedips t;

	wm_allowedips_init(&t);
	ck_assert_ptr_null(lookup(&t, "10.0.0.1"));
	ck_assert_int_eq(insert(&t, "10.0.0.0", 8, PEER(0)), 0);
	ck_assert_int_eq(insert(&t, "10.1.0.0", 16, PEER(1)), 0);
	ck_assert_int_eq(insert(&t, "10.1.2.0", 24, PEER(2)), 0);
	ck_assert_int_eq(insert(&t, "10.1.2.128", 25, PEER(3)), 0);
	ck_assert_int_eq(insert(&t, "192.168.1.0", 24, PEER(4)), 0);
	ck_assert_uint_eq(t.count, 5);
	check_shape(&t);

	ck_assert_ptr_eq(lookup(&t, "10.200.0.1"), PEER(0));
	ck_assert_ptr_eq(lookup(&t, "10.1.9.9"), PEER(1));
	ck_assert_ptr_eq(lookup(&t, "10.1.2.127"), PEER(2));
	ck_assert_ptr_eq(lookup(&t, "10.1.2.128"), PEER(3));
	ck_assert_ptr_eq(lookup(&t, "10.1.2.255"), PEER(3));
	ck_assert_ptr_eq(lookup(&t, "192.168.1.77"), PEER(4));
	ck_assert_ptr_null(lookup(&t, "192.168.2.1"));
	ck_assert_ptr_null(lookup(&t, "11.0.0.0"));
	ck_assert_ptr_null(lookup(&t, "9.255.255.255"));
	/* v4 entries say nothing about v6. */
	ck_assert_ptr_null(lookup(&t, "::a01:203"));
	wm_allowedips_free(&t);
	ck_assert_uint_eq(t.count, 0);
}
END_TEST

START_TEST(test_v6_basic)
{
	struct wm_allowedips t;

	wm_allowedips_init(&t);
	ck_assert_int_eq(insert(&t, "2001:db8::", 32, PEER(0)), 0);
	ck_assert_int_eq(insert(&t, "2001:db8:1::", 48, PEER(1)), 0);
	ck_assert_int_eq(insert(&t, "2001:db8:1:0:8000::", 65, PEER(2)), 0);
	ck_assert_int_eq(insert(&t, "2001:db8:1::", 64, PEER(3)), 0);
	ck_assert_int_eq(insert(&t, "fd00::", 8, PEER(4)), 0);
	check_shape(&t);

	ck_assert_ptr_eq(lookup(&t, "2001:db8:ffff::1"), PEER(0));
	ck_assert_ptr_eq(lookup(&t, "2001:db8:1:1::1"), PEER(1));
	ck_assert_ptr_eq(lookup(&t, "2001:db8:1::1"), PEER(3));
	ck_assert_ptr_eq(lookup(&t, "2001:db8:1:0:8000::1"), PEER(2));
	ck_assert_ptr_eq(lookup(&t, "2001:db8:1:0:ffff:ffff:ffff:ffff"), PEER(2));
	ck_assert_ptr_eq(lookup(&t, "fdff:1234::"), PEER(4));
	ck_assert_ptr_null(lookup(&t, "2001:db9::"));
	ck_assert_ptr_null(lookup(&t, "fe80::1"));
	ck_assert_ptr_null(lookup(&t, "10.0.0.1"));
	wm_allowedips_free(&t);
}
END_TEST

START_TEST(test_default_and_host_routes)
{
	struct wm_allowedips t;

	wm_allowedips_init(&t);
	ck_assert_int_eq(insert(&t, "0.0.0.0", 0, PEER(0)), 0);
	ck_assert_int_eq(insert(&t, "::", 0, PEER(1)), 0);
	ck_assert_int_eq(insert(&t, "10.0.0.1", 32, PEER(2)), 0);
	ck_assert_int_eq(insert(&t, "255.255.255.255", 32, PEER(3)), 0);
	ck_assert_int_eq(insert(&t, "2001:db8::1", 128, PEER(2)), 0);
	ck_assert_int_eq(insert(&t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 128, PEER(3)), 0);
	check_shape(&t);

	ck_assert_ptr_eq(lookup(&t, "1.2.3.4"), PEER(0));
	ck_assert_ptr_eq(lookup(&t, "0.0.0.0"), PEER(0));
	ck_assert_ptr_eq(lookup(&t, "10.0.0.1"), PEER(2));
	ck_assert_ptr_eq(lookup(&t, "10.0.0.0"), PEER(0));
	ck_assert_ptr_eq(lookup(&t, "10.0.0.2"), PEER(0));
	ck_assert_ptr_eq(lookup(&t, "255.255.255.255"), PEER(3));
	ck_assert_ptr_eq(lookup(&t, "255.255.255.254"), PEER(0));
	ck_assert_ptr_eq(lookup(&t, "2001:db8::1"), PEER(2));
	ck_assert_ptr_eq(lookup(&t, "2001:db8::"), PEER(1));
	ck_assert_ptr_eq(lookup(&t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), PEER(3));
	ck_assert_ptr_eq(lookup(&t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"), PEER(1));

	ck_assert_int_eq(remove_prefix(&t, "0.0.0.0", 0, PEER(0)), 0);
	ck_assert_ptr_null(lookup(&t, "1.2.3.4"));
	ck_assert_ptr_eq(lookup(&t, "10.0.0.1"), PEER(2));
	ck_assert_ptr_eq(lookup(&t, "::1"), PEER(1));
	check_shape(&t);
	wm_allowedips_free(&t);
}
END_TEST

START_TEST(test_masking_and_move)
{
	struct wm_allowedips t;

	wm_allowedips_init(&t);
	ck_assert_int_eq(insert(&t, "10.0.0.7", 24, PEER(0)), 0);
	ck_assert_ptr_eq(lookup(&t, "10.0.0.200"), PEER(0));
	/* The same prefix written with other host bits is the same entry: it moves. */
	ck_assert_int_eq(insert(&t, "10.0.0.99", 24, PEER(1)), 0);
	ck_assert_uint_eq(t.count, 1);
	ck_assert_ptr_eq(lookup(&t, "10.0.0.7"), PEER(1));
	ck_assert_int_eq(remove_prefix(&t, "10.0.0.0", 24, PEER(0)), -ENOENT);
	ck_assert_int_eq(remove_prefix(&t, "10.0.0.255", 24, PEER(1)), 0);
	ck_assert_uint_eq(t.count, 0);
	ck_assert_ptr_null(t.root4);

	ck_assert_int_eq(insert(&t, "2001:db8::dead:beef", 33, PEER(2)), 0);
	ck_assert_ptr_eq(lookup(&t, "2001:db8:7fff::"), PEER(2));
	ck_assert_ptr_null(lookup(&t, "2001:db8:8000::"));
	ck_assert_int_eq(insert(&t, "2001:db8::", 33, PEER(3)), 0);
	ck_assert_uint_eq(t.count, 1);
	ck_assert_ptr_eq(lookup(&t, "2001:db8::1"), PEER(3));
	/* Re-inserting an unchanged owner changes nothing either. */
	ck_assert_int_eq(insert(&t, "2001:db8::", 33, PEER(3)), 0);
	ck_assert_uint_eq(t.count, 1);
	check_shape(&t);
	wm_allowedips_free(&t);
}
END_TEST

START_TEST(test_remove)
{
	struct wm_allowedips t;

	wm_allowedips_init(&t);
	ck_assert_int_eq(insert(&t, "10.0.0.0", 8, PEER(0)), 0);
	ck_assert_int_eq(insert(&t, "10.1.0.0", 16, PEER(1)), 0);
	ck_assert_int_eq(insert(&t, "10.2.0.0", 16, PEER(1)), 0);
	ck_assert_int_eq(insert(&t, "fd00::", 64, PEER(1)), 0);

	ck_assert_int_eq(remove_prefix(&t, "10.1.0.0", 16, PEER(0)), -ENOENT);
	ck_assert_int_eq(remove_prefix(&t, "10.1.0.0", 17, PEER(1)), -ENOENT);
	ck_assert_int_eq(remove_prefix(&t, "10.1.0.0", 15, PEER(1)), -ENOENT);
	ck_assert_int_eq(remove_prefix(&t, "10.3.0.0", 16, PEER(1)), -ENOENT);
	ck_assert_int_eq(remove_prefix(&t, "fd00::", 63, PEER(1)), -ENOENT);
	ck_assert_int_eq(remove_prefix(&t, "fd00::", 64, PEER(0)), -ENOENT);
	/* A peerless split node is not a prefix anyone owns. */
	ck_assert_int_eq(remove_prefix(&t, "10.0.0.0", 14, PEER(1)), -ENOENT);
	ck_assert_uint_eq(t.count, 4);

	ck_assert_int_eq(remove_prefix(&t, "10.1.2.3", 16, PEER(1)), 0);
	ck_assert_int_eq(remove_prefix(&t, "10.1.0.0", 16, PEER(1)), -ENOENT);
	ck_assert_uint_eq(t.count, 3);
	ck_assert_ptr_eq(lookup(&t, "10.1.0.1"), PEER(0));
	ck_assert_ptr_eq(lookup(&t, "10.2.0.1"), PEER(1));
	check_shape(&t);

	/* Removing the covering prefix keeps what hangs below it. */
	ck_assert_int_eq(remove_prefix(&t, "10.0.0.0", 8, PEER(0)), 0);
	ck_assert_ptr_null(lookup(&t, "10.1.0.1"));
	ck_assert_ptr_eq(lookup(&t, "10.2.0.1"), PEER(1));
	check_shape(&t);

	wm_allowedips_remove_by_peer(&t, PEER(1));
	ck_assert_uint_eq(t.count, 0);
	ck_assert_ptr_null(t.root4);
	ck_assert_ptr_null(t.root6);
	wm_allowedips_free(&t);
}
END_TEST

START_TEST(test_remove_by_peer)
{
	struct wm_allowedips t;

	wm_allowedips_init(&t);
	ck_assert_int_eq(insert(&t, "0.0.0.0", 0, PEER(0)), 0);
	ck_assert_int_eq(insert(&t, "10.0.0.0", 8, PEER(1)), 0);
	ck_assert_int_eq(insert(&t, "10.1.0.0", 16, PEER(0)), 0);
	ck_assert_int_eq(insert(&t, "10.1.1.0", 24, PEER(1)), 0);
	ck_assert_int_eq(insert(&t, "10.1.2.0", 24, PEER(1)), 0);
	ck_assert_int_eq(insert(&t, "10.128.0.0", 9, PEER(2)), 0);
	ck_assert_int_eq(insert(&t, "::", 0, PEER(1)), 0);
	ck_assert_int_eq(insert(&t, "fd00::1", 128, PEER(0)), 0);
	ck_assert_int_eq(insert(&t, "fd00::2", 128, PEER(1)), 0);
	check_shape(&t);

	wm_allowedips_remove_by_peer(&t, PEER(1));
	check_shape(&t);
	ck_assert_uint_eq(t.count, 4);
	ck_assert_ptr_eq(lookup(&t, "10.1.1.1"), PEER(0));
	ck_assert_ptr_eq(lookup(&t, "10.2.0.0"), PEER(0));
	ck_assert_ptr_eq(lookup(&t, "10.200.0.0"), PEER(2));
	ck_assert_ptr_eq(lookup(&t, "fd00::1"), PEER(0));
	ck_assert_ptr_null(lookup(&t, "fd00::2"));

	wm_allowedips_remove_by_peer(&t, PEER(3));
	wm_allowedips_remove_by_peer(&t, NULL);
	ck_assert_uint_eq(t.count, 4);
	wm_allowedips_remove_by_peer(&t, PEER(0));
	check_shape(&t);
	ck_assert_uint_eq(t.count, 1);
	ck_assert_ptr_null(lookup(&t, "1.1.1.1"));
	ck_assert_ptr_eq(lookup(&t, "10.255.0.0"), PEER(2));
	ck_assert_ptr_null(t.root6);
	wm_allowedips_remove_by_peer(&t, PEER(2));
	ck_assert_ptr_null(t.root4);
	ck_assert_uint_eq(t.count, 0);
	wm_allowedips_free(&t);
}
END_TEST

struct walked {
	int family;
	uint8_t addr[16];
	uint8_t cidr;
};

struct walk_log {
	struct walked *items;
	size_t n, cap;
	size_t stop_after;	/* return non-zero on this call, 0 = never */
};

static int log_prefix(void *ctx, int family, const uint8_t *addr, uint8_t cidr)
{
	struct walk_log *log = ctx;
	struct walked *w;

	fast_assert(log->n < log->cap);
	w = &log->items[log->n++];
	memset(w, 0, sizeof(*w));
	w->family = family;
	memcpy(w->addr, addr, family == AF_INET ? 4 : 16);
	w->cidr = cidr;
	return log->n == log->stop_after ? 42 : 0;
}

static void assert_walked(const struct walked *w, const char *text, uint8_t cidr)
{
	uint8_t addr[16] = { 0 };
	int family;

	parse(text, &family, addr);
	ck_assert_int_eq(w->family, family);
	ck_assert_msg(!memcmp(w->addr, addr, family == AF_INET ? 4 : 16), "walked wrong address, "
		      "expected %s", text);
	ck_assert_uint_eq(w->cidr, cidr);
}

START_TEST(test_walk)
{
	struct walked items[16];
	struct walk_log log = { items, 0, 16, 0 };
	struct wm_allowedips t;

	wm_allowedips_init(&t);
	ck_assert_int_eq(insert(&t, "fd00::", 8, PEER(0)), 0);
	ck_assert_int_eq(insert(&t, "10.0.0.0", 24, PEER(0)), 0);
	ck_assert_int_eq(insert(&t, "10.0.0.0", 8, PEER(0)), 0);
	ck_assert_int_eq(insert(&t, "10.128.0.0", 9, PEER(0)), 0);
	ck_assert_int_eq(insert(&t, "10.64.0.0", 10, PEER(1)), 0);
	ck_assert_int_eq(insert(&t, "9.255.255.255", 32, PEER(0)), 0);
	ck_assert_int_eq(insert(&t, "0.0.0.0", 0, PEER(0)), 0);
	ck_assert_int_eq(insert(&t, "::", 0, PEER(0)), 0);
	ck_assert_int_eq(insert(&t, "2001:db8::1", 128, PEER(0)), 0);
	ck_assert_int_eq(insert(&t, "10.0.0.1", 32, PEER(0)), 0);

	ck_assert_int_eq(wm_allowedips_walk_by_peer(&t, PEER(0), log_prefix, &log), 0);
	ck_assert_uint_eq(log.n, 9);
	assert_walked(&items[0], "0.0.0.0", 0);
	assert_walked(&items[1], "9.255.255.255", 32);
	assert_walked(&items[2], "10.0.0.0", 8);
	assert_walked(&items[3], "10.0.0.0", 24);
	assert_walked(&items[4], "10.0.0.1", 32);
	assert_walked(&items[5], "10.128.0.0", 9);
	assert_walked(&items[6], "::", 0);
	assert_walked(&items[7], "2001:db8::1", 128);
	assert_walked(&items[8], "fd00::", 8);

	log.n = 0;
	log.stop_after = 3;
	ck_assert_int_eq(wm_allowedips_walk_by_peer(&t, PEER(0), log_prefix, &log), 42);
	ck_assert_uint_eq(log.n, 3);
	assert_walked(&items[2], "10.0.0.0", 8);

	log.n = 0;
	log.stop_after = 0;
	ck_assert_int_eq(wm_allowedips_walk_by_peer(&t, PEER(1), log_prefix, &log), 0);
	ck_assert_uint_eq(log.n, 1);
	assert_walked(&items[0], "10.64.0.0", 10);
	log.n = 0;
	ck_assert_int_eq(wm_allowedips_walk_by_peer(&t, PEER(2), log_prefix, &log), 0);
	ck_assert_uint_eq(log.n, 0);
	wm_allowedips_free(&t);
	ck_assert_int_eq(wm_allowedips_walk_by_peer(&t, PEER(0), log_prefix, &log), 0);
	ck_assert_uint_eq(log.n, 0);
}
END_TEST

START_TEST(test_einval)
{
	static const uint8_t addr[16] = { 10 };
	struct wm_allowedips t;

	wm_allowedips_init(&t);
	ck_assert_int_eq(wm_allowedips_insert(&t, AF_INET, addr, 33, PEER(0)), -EINVAL);
	ck_assert_int_eq(wm_allowedips_insert(&t, AF_INET6, addr, 129, PEER(0)), -EINVAL);
	ck_assert_int_eq(wm_allowedips_insert(&t, AF_INET6, addr, 255, PEER(0)), -EINVAL);
	ck_assert_int_eq(wm_allowedips_insert(&t, AF_UNIX, addr, 8, PEER(0)), -EINVAL);
	ck_assert_int_eq(wm_allowedips_insert(&t, 0, addr, 0, PEER(0)), -EINVAL);
	ck_assert_int_eq(wm_allowedips_insert(&t, AF_INET, addr, 8, NULL), -EINVAL);
	ck_assert_int_eq(wm_allowedips_insert(&t, AF_INET, NULL, 8, PEER(0)), -EINVAL);
	ck_assert_int_eq(wm_allowedips_remove(&t, AF_INET, addr, 33, PEER(0)), -EINVAL);
	ck_assert_int_eq(wm_allowedips_remove(&t, AF_INET6, addr, 129, PEER(0)), -EINVAL);
	ck_assert_int_eq(wm_allowedips_remove(&t, AF_UNIX, addr, 8, PEER(0)), -EINVAL);
	ck_assert_ptr_null(wm_allowedips_lookup(&t, AF_UNIX, addr));
	ck_assert_uint_eq(t.count, 0);
	ck_assert_ptr_null(t.root4);
	ck_assert_ptr_null(t.root6);

	/* The limits themselves are fine. */
	ck_assert_int_eq(wm_allowedips_insert(&t, AF_INET, addr, 32, PEER(0)), 0);
	ck_assert_int_eq(wm_allowedips_insert(&t, AF_INET6, addr, 128, PEER(0)), 0);
	ck_assert_ptr_null(wm_allowedips_lookup(&t, AF_UNIX, addr));
	ck_assert_uint_eq(t.count, 2);
	wm_allowedips_free(&t);
}
END_TEST

/* The oracle: an unsorted array, looked up by scanning all of it. */
struct ref_entry {
	int family;
	uint8_t addr[16];
	uint8_t cidr;
	struct wm_peer *peer;
};

struct ref {
	struct ref_entry *e;
	size_t n, cap;
};

static unsigned int addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

static void mask_bytes(uint8_t *addr, unsigned int len, unsigned int cidr)
{
	unsigned int i;

	for (i = 0; i < len; i++) {
		if (cidr >= 8 * (i + 1))
			continue;
		addr[i] &= cidr <= 8 * i ? 0 : (uint8_t)(0xff << (8 - (cidr - 8 * i)));
	}
}

static bool ref_matches(const struct ref_entry *e, int family, const uint8_t *addr)
{
	uint8_t tmp[16];
	unsigned int len = addr_len(family);

	if (e->family != family)
		return false;
	memcpy(tmp, addr, len);
	mask_bytes(tmp, len, e->cidr);
	return !memcmp(tmp, e->addr, len);
}

static struct ref_entry *ref_find(struct ref *r, int family, const uint8_t *addr, uint8_t cidr)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->e[i].family == family && r->e[i].cidr == cidr &&
		    !memcmp(r->e[i].addr, addr, addr_len(family)))
			return &r->e[i];
	return NULL;
}

static void ref_insert(struct ref *r, int family, const uint8_t *raw, uint8_t cidr,
		       struct wm_peer *peer)
{
	struct ref_entry e = { .family = family, .cidr = cidr, .peer = peer }, *old;

	memcpy(e.addr, raw, addr_len(family));
	mask_bytes(e.addr, addr_len(family), cidr);
	old = ref_find(r, family, e.addr, cidr);
	if (old) {
		old->peer = peer;
		return;
	}
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 256;
		r->e = realloc(r->e, r->cap * sizeof(*r->e));
		ck_assert_ptr_nonnull(r->e);
	}
	r->e[r->n++] = e;
}

static int ref_remove(struct ref *r, int family, const uint8_t *raw, uint8_t cidr,
		      struct wm_peer *peer)
{
	struct ref_entry *e;
	uint8_t addr[16] = { 0 };

	memcpy(addr, raw, addr_len(family));
	mask_bytes(addr, addr_len(family), cidr);
	e = ref_find(r, family, addr, cidr);
	if (!e || e->peer != peer)
		return -ENOENT;
	*e = r->e[--r->n];
	return 0;
}

static void ref_remove_by_peer(struct ref *r, struct wm_peer *peer)
{
	size_t i = 0;

	while (i < r->n) {
		if (r->e[i].peer == peer)
			r->e[i] = r->e[--r->n];
		else
			i++;
	}
}

static struct wm_peer *ref_lookup(const struct ref *r, int family, const uint8_t *addr)
{
	const struct ref_entry *best = NULL;
	size_t i;

	for (i = 0; i < r->n; i++)
		if (ref_matches(&r->e[i], family, addr) && (!best || r->e[i].cidr > best->cidr))
			best = &r->e[i];
	return best ? best->peer : NULL;
}

static int cmp_walked(const void *a, const void *b)
{
	const struct walked *x = a, *y = b;
	int c;

	if (x->family != y->family)
		return x->family == AF_INET ? -1 : 1;
	c = memcmp(x->addr, y->addr, 16);
	return c ? c : (int)x->cidr - (int)y->cidr;
}

/* The walk must list exactly the oracle's entries for peer, sorted. */
static void compare_walk(const struct wm_allowedips *t, const struct ref *r, struct wm_peer *peer)
{
	struct walk_log log = { calloc(r->n + 1, sizeof(struct walked)), 0, r->n + 1, 0 };
	struct walked *want = calloc(r->n + 1, sizeof(*want));
	size_t i, n = 0;

	ck_assert_ptr_nonnull(log.items);
	ck_assert_ptr_nonnull(want);
	for (i = 0; i < r->n; i++) {
		if (r->e[i].peer != peer)
			continue;
		want[n].family = r->e[i].family;
		memcpy(want[n].addr, r->e[i].addr, 16);
		want[n].cidr = r->e[i].cidr;
		n++;
	}
	qsort(want, n, sizeof(*want), cmp_walked);
	ck_assert_int_eq(wm_allowedips_walk_by_peer(t, peer, log_prefix, &log), 0);
	ck_assert_uint_eq(log.n, n);
	for (i = 0; i < n; i++)
		fast_assert_msg(!cmp_walked(&log.items[i], &want[i]), "walk differs at %zu", i);
	free(log.items);
	free(want);
}

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: fixed seed, so every run sees the same table. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static unsigned int rnd_below(unsigned int n)
{
	return (unsigned int)(rnd() % n);
}

/* Randomises every bit of addr from bit `from` on. */
static void scramble_from(uint8_t *addr, unsigned int len, unsigned int from)
{
	unsigned int i;

	for (i = from; i < 8 * len; i++) {
		uint8_t bit = (uint8_t)(0x80 >> (i % 8));

		if (rnd() & 1)
			addr[i / 8] ^= bit;
	}
}

#define NBASES 12
static uint8_t bases[2][NBASES][16];

static int pick_family(void)
{
	return rnd() & 1 ? AF_INET : AF_INET6;
}

/* Prefixes cluster around a few base addresses so they share long stems and split often. */
static uint8_t random_prefix(int family, uint8_t addr[16])
{
	unsigned int len = addr_len(family), bits = 8 * len;
	unsigned int cidr, keep;

	memcpy(addr, bases[family == AF_INET6][rnd_below(NBASES)], 16);
	keep = rnd_below(bits + 1);
	scramble_from(addr, len, keep);
	switch (rnd_below(4)) {
	case 0:
		cidr = rnd_below(bits + 1);
		break;
	case 1:
		cidr = bits - rnd_below(4);
		break;
	default:
		cidr = keep + rnd_below(bits - keep + 1);
		break;
	}
	return (uint8_t)cidr;
}

/* Mostly near a stored prefix (just inside or just outside it), sometimes anywhere. */
static int random_probe(const struct ref *r, uint8_t addr[16])
{
	const struct ref_entry *e;
	unsigned int len, from;
	int family;

	if (!r->n || rnd_below(10) == 0) {
		family = pick_family();
		len = addr_len(family);
		if (rnd() & 1)
			memcpy(addr, bases[family == AF_INET6][rnd_below(NBASES)], 16);
		scramble_from(addr, len, rnd_below(8 * len + 1));
		return family;
	}
	e = &r->e[rnd_below(r->n)];
	family = e->family;
	len = addr_len(family);
	memcpy(addr, e->addr, 16);
	from = e->cidr;
	if (from && rnd_below(3) == 0)
		from -= 1 + rnd_below(from < 3 ? from : 3);	/* may step outside */
	scramble_from(addr, len, from);
	return family;
}

static void compare_lookups(const struct wm_allowedips *t, const struct ref *r, int rounds)
{
	uint8_t addr[16];
	int i, family;

	for (i = 0; i < rounds; i++) {
		family = random_probe(r, addr);
		fast_assert(wm_allowedips_lookup(t, family, addr) == ref_lookup(r, family, addr));
	}
}

START_TEST(test_random_differential)
{
	struct wm_allowedips t;
	struct ref r = { 0 };
	uint8_t addr[16];
	unsigned int i, j, p;
	int family, want, got;
	uint8_t cidr;

	rng_state = 0x9e3779b97f4a7c15ULL;
	for (i = 0; i < NBASES; i++)
		for (j = 0; j < 16; j++) {
			bases[0][i][j] = (uint8_t)rnd();
			bases[1][i][j] = (uint8_t)rnd();
		}
	/* A few bases differ in one late bit only, forcing deep splits. */
	memcpy(bases[0][1], bases[0][0], 16);
	bases[0][1][3] ^= 1;
	memcpy(bases[1][1], bases[1][0], 16);
	bases[1][1][15] ^= 1;

	wm_allowedips_init(&t);
	for (i = 0; i < 4000; i++) {
		family = pick_family();
		cidr = random_prefix(family, addr);
		p = rnd_below(NPEERS);
		fast_assert(wm_allowedips_insert(&t, family, addr, cidr, PEER(p)) == 0);
		ref_insert(&r, family, addr, cidr, PEER(p));
	}
	check_shape(&t);
	ck_assert_uint_eq(t.count, r.n);
	ck_assert_uint_gt(r.n, 2000);
	compare_lookups(&t, &r, 30000);
	for (p = 0; p < NPEERS; p++)
		compare_walk(&t, &r, PEER(p));

	/* Half of the removals name a stored prefix, the rest likely miss or name the wrong peer. */
	for (i = 0; i < 3000; i++) {
		if (r.n && rnd() & 1) {
			const struct ref_entry *e = &r.e[rnd_below(r.n)];

			family = e->family;
			memcpy(addr, e->addr, 16);
			cidr = e->cidr;
			scramble_from(addr, addr_len(family), cidr);
			p = (unsigned int)((char *)e->peer - peer_objs);
			if (rnd_below(4) == 0)
				p = rnd_below(NPEERS);
		} else {
			family = pick_family();
			cidr = random_prefix(family, addr);
			p = rnd_below(NPEERS);
		}
		want = ref_remove(&r, family, addr, cidr, PEER(p));
		got = wm_allowedips_remove(&t, family, addr, cidr, PEER(p));
		fast_assert_msg(got == want, "remove returned %d, want %d", got, want);
		if (i % 500 == 0)
			check_shape(&t);
	}
	wm_allowedips_remove_by_peer(&t, PEER(2));
	ref_remove_by_peer(&r, PEER(2));
	wm_allowedips_remove_by_peer(&t, PEER(5));
	ref_remove_by_peer(&r, PEER(5));
	check_shape(&t);
	ck_assert_uint_eq(t.count, r.n);
	compare_lookups(&t, &r, 30000);
	for (p = 0; p < NPEERS; p++)
		compare_walk(&t, &r, PEER(p));

	for (p = 0; p < NPEERS; p++)
		wm_allowedips_remove_by_peer(&t, PEER(p));
	ck_assert_uint_eq(t.count, 0);
	ck_assert_ptr_null(t.root4);
	ck_assert_ptr_null(t.root6);
	wm_allowedips_free(&t);
	free(r.e);
}
END_TEST

START_TEST(test_churn)
{
	static const struct {
		const char *addr;
		uint8_t cidr;
	} prefixes[] = {
		{ "0.0.0.0", 0 },	{ "10.0.0.0", 8 },	{ "10.0.0.0", 24 },
		{ "10.0.0.1", 32 },	{ "10.0.0.2", 32 },	{ "10.0.1.0", 24 },
		{ "10.128.0.0", 9 },	{ "192.168.0.0", 16 },	{ "192.168.7.0", 24 },
		{ "::", 0 },		{ "fd00::", 8 },	{ "fd00::1", 128 },
		{ "fd00::2", 128 },	{ "fd00:1::", 32 },	{ "2001:db8::", 32 },
		{ "2001:db8:8000::", 33 },
	};
	const size_t n = sizeof(prefixes) / sizeof(prefixes[0]);
	struct wm_allowedips t;
	size_t i, round;

	wm_allowedips_init(&t);
	for (round = 0; round < 2000; round++) {
		/* Vary insertion and removal order so every split and merge path is taken. */
		size_t start = round % n, step = round % 2 ? 1 : n - 1;

		for (i = 0; i < n; i++) {
			size_t k = (start + i * step) % n;

			fast_assert(insert(&t, prefixes[k].addr, prefixes[k].cidr,
					   PEER(k % NPEERS)) == 0);
		}
		fast_assert(t.count == n);
		if (round % 100 == 0)
			check_shape(&t);
		if (round % 3 == 0) {
			for (i = 0; i < NPEERS; i++)
				wm_allowedips_remove_by_peer(&t, PEER(i));
		} else {
			for (i = 0; i < n; i++) {
				size_t k = (start + 7 * i + round) % n;

				fast_assert(remove_prefix(&t, prefixes[k].addr, prefixes[k].cidr,
							  PEER(k % NPEERS)) == 0);
			}
		}
		fast_assert(t.count == 0 && !t.root4 && !t.root6);
	}
	for (i = 0; i < n; i++)
		ck_assert_ptr_null(lookup(&t, prefixes[i].addr));
	/* Leave some behind: wm_allowedips_free must release them (LeakSanitizer checks). */
	for (i = 0; i < n; i++)
		ck_assert_int_eq(insert(&t, prefixes[i].addr, prefixes[i].cidr, PEER(0)), 0);
	wm_allowedips_free(&t);
	ck_assert_ptr_null(t.root4);
	ck_assert_ptr_null(lookup(&t, "10.0.0.1"));
}
END_TEST

static Suite *allowedips_suite(void)
{
	Suite *s = suite_create("allowedips");
	TCase *tc = tcase_create("hand");
	TCase *tr = tcase_create("random");

	tcase_add_test(tc, test_v4_basic);
	tcase_add_test(tc, test_v6_basic);
	tcase_add_test(tc, test_default_and_host_routes);
	tcase_add_test(tc, test_masking_and_move);
	tcase_add_test(tc, test_remove);
	tcase_add_test(tc, test_remove_by_peer);
	tcase_add_test(tc, test_walk);
	tcase_add_test(tc, test_einval);
	suite_add_tcase(s, tc);

	/* The naive oracle is slow under the sanitizers; allow it time. */
	tcase_set_timeout(tr, 120);
	tcase_add_test(tr, test_random_differential);
	tcase_add_test(tr, test_churn);
	suite_add_tcase(s, tr);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(allowedips_suite());
	int failures;

	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
