/* SPDX-License-Identifier: MIT */
#include "engine/allowedips.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>

/*
 * Every node is a prefix; a child's prefix extends its parent's, and bit[b] holds the branch
 * whose bit number parent->cidr is b. Paths are compressed: a node without a peer exists only
 * where two branches part, so the depth is at most the address length plus one and all the
 * walks below are loops over parent pointers, without a stack.
 */

static unsigned int family_bits(int family)
{
	return family == AF_INET ? 32 : family == AF_INET6 ? 128 : 0;
}

static struct wm_allowedips_node **root_of(struct wm_allowedips *t, int family)
{
	return family == AF_INET ? &t->root4 : &t->root6;
}

static uint64_t load_be64(const uint8_t *p, unsigned int len)
{
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | (i < len ? p[i] : 0);
	return v;
}

static void load_key(uint64_t key[2], const uint8_t *addr, unsigned int bits)
{
	key[0] = load_be64(addr, bits / 8);
	key[1] = bits == 128 ? load_be64(addr + 8, 8) : 0;
}

static void store_key(uint8_t *addr, const uint64_t key[2], unsigned int bits)
{
	unsigned int i;

	for (i = 0; i < bits / 8; i++)
		addr[i] = key[i / 8] >> (56 - 8 * (i % 8));
}

/* Ones in the top n bits of a 64-bit word, n in 0..64. */
static uint64_t top_mask(unsigned int n)
{
	return n == 0 ? 0 : ~(uint64_t)0 << (64 - n);
}

static void mask_key(uint64_t key[2], unsigned int cidr)
{
	key[0] &= top_mask(cidr < 64 ? cidr : 64);
	key[1] &= top_mask(cidr > 64 ? cidr - 64 : 0);
}

/* Number of leading bits a and b share, 0..128. */
static inline unsigned int common_bits(const uint64_t a[2], const uint64_t b[2])
{
	uint64_t x = a[0] ^ b[0];

	if (x)
		return __builtin_clzll(x);
	x = a[1] ^ b[1];
	return x ? 64 + __builtin_clzll(x) : 128;
}

/* Bit number n (0 is the most significant) of key; n < 128. */
static inline unsigned int bit_at(const uint64_t key[2], unsigned int n)
{
	return (key[n / 64] >> (63 - n % 64)) & 1;
}

static struct wm_allowedips_node *new_node(const uint64_t key[2], unsigned int cidr,
					   struct wm_peer *peer)
{
	struct wm_allowedips_node *node = calloc(1, sizeof(*node));

	if (!node)
		return NULL;
	node->key[0] = key[0];
	node->key[1] = key[1];
	mask_key(node->key, cidr);
	node->cidr = cidr;
	node->peer = peer;
	return node;
}

static struct wm_allowedips_node **slot_of(struct wm_allowedips_node **root,
					   struct wm_allowedips_node *node)
{
	struct wm_allowedips_node *parent = node->parent;

	return parent ? &parent->bit[parent->bit[1] == node] : root;
}

/* Puts node into *slot under parent. */
static void link_node(struct wm_allowedips_node **slot, struct wm_allowedips_node *parent,
		      struct wm_allowedips_node *node)
{
	*slot = node;
	node->parent = parent;
}

/*
 * Frees node, which has no peer and at most one child, putting the child in its place.
 * Returns the child, NULL when there was none (the parent then lost a branch).
 */
static struct wm_allowedips_node *splice_out(struct wm_allowedips_node **root,
					     struct wm_allowedips_node *node)
{
	struct wm_allowedips_node *child = node->bit[0] ? node->bit[0] : node->bit[1];

	*slot_of(root, node) = child;
	if (child)
		child->parent = node->parent;
	free(node);
	return child;
}

static bool is_useless(const struct wm_allowedips_node *node)
{
	return !node->peer && !(node->bit[0] && node->bit[1]);
}

/* Descends to the first node of the subtree at node in post-order (children before parents). */
static struct wm_allowedips_node *first_postorder(struct wm_allowedips_node *node)
{
	for (;;) {
		if (node->bit[0])
			node = node->bit[0];
		else if (node->bit[1])
			node = node->bit[1];
		else
			return node;
	}
}

/*
 * Pre-order successor, 0-branch first. Since a node's key is its prefix followed by zeros,
 * this visits prefixes by address, then by cidr.
 */
static const struct wm_allowedips_node *next_preorder(const struct wm_allowedips_node *node)
{
	const struct wm_allowedips_node *parent;

	if (node->bit[0])
		return node->bit[0];
	if (node->bit[1])
		return node->bit[1];
	for (; (parent = node->parent); node = parent)
		if (parent->bit[0] == node && parent->bit[1])
			return parent->bit[1];
	return NULL;
}

static void free_tree(struct wm_allowedips_node *node)
{
	struct wm_allowedips_node *parent;

	while (node) {
		if (node->bit[0] || node->bit[1]) {
			node = node->bit[0] ? node->bit[0] : node->bit[1];
			continue;
		}
		parent = node->parent;
		if (parent)
			parent->bit[parent->bit[1] == node] = NULL;
		free(node);
		node = parent;
	}
}

void wm_allowedips_init(struct wm_allowedips *t)
{
	t->root4 = NULL;
	t->root6 = NULL;
	t->count = 0;
}

void wm_allowedips_free(struct wm_allowedips *t)
{
	free_tree(t->root4);
	free_tree(t->root6);
	wm_allowedips_init(t);
}

int wm_allowedips_insert(struct wm_allowedips *t, int family, const uint8_t *addr, uint8_t cidr,
			 struct wm_peer *peer)
{
	unsigned int bits = family_bits(family), common = 0;
	struct wm_allowedips_node **slot, *node, *parent = NULL, *fresh, *split;
	uint64_t key[2];

	if (!bits || cidr > bits || !addr || !peer)
		return -EINVAL;
	load_key(key, addr, bits);
	mask_key(key, cidr);

	slot = root_of(t, family);
	while ((node = *slot)) {
		common = common_bits(key, node->key);
		if (common > cidr)
			common = cidr;
		if (common < node->cidr)
			break;	/* node is not a prefix of key: key goes in here, above node */
		if (node->cidr == cidr) {
			if (!node->peer)
				t->count++;
			node->peer = peer;
			return 0;
		}
		parent = node;
		slot = &node->bit[bit_at(key, node->cidr)];
	}

	fresh = new_node(key, cidr, peer);
	if (!fresh)
		return -ENOMEM;
	if (!node) {
		link_node(slot, parent, fresh);
	} else if (common == cidr) {
		/* The new prefix covers node: it takes node's place with node below it. */
		link_node(&fresh->bit[bit_at(node->key, cidr)], fresh, node);
		link_node(slot, parent, fresh);
	} else {
		/* They part after `common` bits: a peerless node there holds both. */
		split = new_node(key, common, NULL);
		if (!split) {
			free(fresh);
			return -ENOMEM;
		}
		link_node(&split->bit[bit_at(node->key, common)], split, node);
		link_node(&split->bit[bit_at(key, common)], split, fresh);
		link_node(slot, parent, split);
	}
	t->count++;
	return 0;
}

int wm_allowedips_remove(struct wm_allowedips *t, int family, const uint8_t *addr, uint8_t cidr,
			 struct wm_peer *peer)
{
	unsigned int bits = family_bits(family);
	struct wm_allowedips_node **root, *node;
	uint64_t key[2];

	if (!bits || cidr > bits || !addr)
		return -EINVAL;
	load_key(key, addr, bits);
	mask_key(key, cidr);

	root = root_of(t, family);
	node = *root;
	while (node && node->cidr < cidr && common_bits(key, node->key) >= node->cidr)
		node = node->bit[bit_at(key, node->cidr)];
	if (!node || node->cidr != cidr || common_bits(key, node->key) < cidr ||
	    !peer || node->peer != peer)
		return -ENOENT;

	node->peer = NULL;
	t->count--;
	/* A peerless node with one branch is spliced out; with none, its parent may follow. */
	while (node && is_useless(node)) {
		struct wm_allowedips_node *parent = node->parent;

		if (splice_out(root, node))
			break;
		node = parent;
	}
	return 0;
}

static void remove_by_peer_from(struct wm_allowedips *t, struct wm_allowedips_node **root,
				struct wm_peer *peer)
{
	struct wm_allowedips_node *node, *parent;
	bool was_left;

	/* Post-order, so both branches are already pruned when a node decides its own fate. */
	node = *root ? first_postorder(*root) : NULL;
	while (node) {
		parent = node->parent;
		was_left = parent && parent->bit[0] == node;
		if (node->peer == peer) {
			node->peer = NULL;
			t->count--;
		}
		if (is_useless(node))
			splice_out(root, node);
		if (!parent)
			break;
		node = was_left && parent->bit[1] ? first_postorder(parent->bit[1]) : parent;
	}
}

void wm_allowedips_remove_by_peer(struct wm_allowedips *t, struct wm_peer *peer)
{
	if (!peer)
		return;
	remove_by_peer_from(t, &t->root4, peer);
	remove_by_peer_from(t, &t->root6, peer);
}

struct wm_peer *wm_allowedips_lookup(const struct wm_allowedips *t, int family,
				     const uint8_t *addr)
{
	unsigned int bits = family_bits(family);
	const struct wm_allowedips_node *node;
	struct wm_peer *found = NULL;
	uint64_t key[2];

	if (!bits)
		return NULL;
	load_key(key, addr, bits);
	node = family == AF_INET ? t->root4 : t->root6;
	while (node && common_bits(key, node->key) >= node->cidr) {
		if (node->peer)
			found = node->peer;
		if (node->cidr == bits)
			break;
		node = node->bit[bit_at(key, node->cidr)];
	}
	return found;
}

int wm_allowedips_walk_by_peer(const struct wm_allowedips *t, struct wm_peer *peer,
			       int (*fn)(void *ctx, int family, const uint8_t *addr, uint8_t cidr),
			       void *ctx)
{
	static const int families[2] = { AF_INET, AF_INET6 };
	const struct wm_allowedips_node *node;
	uint8_t addr[16];
	unsigned int i;
	int ret;

	if (!peer)
		return 0;
	for (i = 0; i < 2; i++) {
		node = families[i] == AF_INET ? t->root4 : t->root6;
		for (; node; node = next_preorder(node)) {
			if (node->peer != peer)
				continue;
			store_key(addr, node->key, family_bits(families[i]));
			ret = fn(ctx, families[i], addr, node->cidr);
			if (ret)
				return ret;
		}
	}
	return 0;
}
