/* SPDX-License-Identifier: MIT */
#include "daemon/state.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/encoding.h"
#include "coord-client/coord_msg.h"
#include "test/unit/scratch.h"

/*
 * One directory for the run, removed by the runner's process even when a test fails; each test
 * (in its own forked child) gets a fresh directory inside it.
 */
static char tmp[64];
static char sdir[200];
static char err[512];

static void make_base(void)
{
	wm_scratch_create("state");
}

static void remove_base(void)
{
	wm_scratch_remove();
}

static void setup(void)
{
	wm_scratch_dir(tmp, sizeof(tmp));
	snprintf(sdir, sizeof(sdir), "%s/state", tmp);
	err[0] = '\0';
}

static const char *in_state(const char *name)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s", sdir, name);
	return path;
}

static mode_t mode_of(const char *path)
{
	struct stat sb;

	ck_assert_int_eq(lstat(path, &sb), 0);
	return sb.st_mode & 07777;
}

static void put_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* The whole file, NUL-terminated, in a static buffer. */
static const char *get_file(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void open_state(struct wm_state *st)
{
	int ret = wm_state_open(st, sdir, (gid_t)-1, err, sizeof(err));

	ck_assert_msg(ret == 0, "open: %d %s", ret, err);
}

/* --- the directory ---------------------------------------------------------------------- */

START_TEST(test_create_dir)
{
	struct wm_state st;
	struct stat sb;

	open_state(&st);
	ck_assert_int_eq(stat(sdir, &sb), 0);
	ck_assert(S_ISDIR(sb.st_mode));
	ck_assert_uint_eq(sb.st_mode & 07777, 0700);
	ck_assert_str_eq(st.dir, sdir);
	wm_state_close(&st);
	ck_assert_int_eq(st.dirfd, -1);
	wm_state_close(&st);
}
END_TEST

START_TEST(test_missing_parent)
{
	struct wm_state st;
	char path[160];

	snprintf(path, sizeof(path), "%s/no/state", tmp);
	ck_assert_int_eq(wm_state_open(&st, path, (gid_t)-1, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, path));
	ck_assert_ptr_nonnull(strstr(err, "parent"));
	ck_assert_int_eq(st.dirfd, -1);
}
END_TEST

START_TEST(test_not_a_dir)
{
	struct wm_state st;

	put_file(sdir, "x", 0600);
	ck_assert_int_eq(wm_state_open(&st, sdir, (gid_t)-1, err, sizeof(err)), -ENOTDIR);
	ck_assert_ptr_nonnull(strstr(err, sdir));
}
END_TEST

START_TEST(test_relative_dir)
{
	struct wm_state st;

	ck_assert_int_eq(chdir(tmp), 0);
	ck_assert_int_eq(wm_state_open(&st, "state//", (gid_t)-1, err, sizeof(err)), 0);
	ck_assert_str_eq(st.dir, sdir);
	wm_state_close(&st);
}
END_TEST

START_TEST(test_dir_path_too_long)
{
	struct wm_state st;
	char path[WM_STATE_DIR_MAX + 16];

	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	ck_assert_int_eq(wm_state_open(&st, path, (gid_t)-1, err, sizeof(err)), -ENAMETOOLONG);
	ck_assert_int_eq(wm_state_open(&st, "", (gid_t)-1, err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(test_loose_dir_tightened)
{
	static const mode_t loose[] = { 0755, 0777, 01777, 02770, 0701, 0500 };
	struct wm_state st;

	ck_assert_int_eq(mkdir(sdir, 0700), 0);
	for (size_t i = 0; i < sizeof(loose) / sizeof(loose[0]); i++) {
		ck_assert_int_eq(chmod(sdir, loose[i]), 0);
		open_state(&st);
		ck_assert_msg(mode_of(sdir) == 0700, "from %04o to %04o", (unsigned int)loose[i],
			      (unsigned int)mode_of(sdir));
		wm_state_close(&st);
	}
}
END_TEST

START_TEST(test_operator_gid)
{
	struct wm_state st;
	struct stat sb;

	ck_assert_int_eq(mkdir(sdir, 0755), 0);
	/* As root the directory can start in another group, so the group really changes. */
	if (geteuid() == 0)
		ck_assert_int_eq(chown(sdir, (uid_t)-1, 65534), 0);
	ck_assert_int_eq(wm_state_open(&st, sdir, getgid(), err, sizeof(err)), 0);
	ck_assert_int_eq(stat(sdir, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, 0710);
	ck_assert_uint_eq(sb.st_gid, getgid());
	wm_state_close(&st);
	/* Without an operator group again: no group access at all. */
	open_state(&st);
	ck_assert_uint_eq(mode_of(sdir), 0700);
	wm_state_close(&st);
}
END_TEST

START_TEST(test_not_owned)
{
	struct wm_state st;
	const char *dir = sdir;

	if (geteuid() == 0) {
		ck_assert_int_eq(mkdir(sdir, 0700), 0);
		ck_assert_int_eq(chmod(sdir, 0755), 0);
		ck_assert_int_eq(chown(sdir, 65534, 65534), 0);
	} else {
		dir = "/";		/* root's, and this user cannot change it */
	}
	ck_assert_int_eq(wm_state_open(&st, dir, (gid_t)-1, err, sizeof(err)), -EPERM);
	ck_assert_ptr_nonnull(strstr(err, dir));
	ck_assert_int_eq(st.dirfd, -1);
	if (geteuid() == 0)
		ck_assert_uint_eq(mode_of(sdir), 0755);
}
END_TEST

/* --- node.key --------------------------------------------------------------------------- */

START_TEST(test_node_key_created_once)
{
	uint8_t key[WM_KEY_LEN], again[WM_KEY_LEN];
	char b64[WM_KEY_B64_LEN], line[WM_KEY_B64_LEN + 1];
	struct wm_state st;
	bool created = false;

	open_state(&st);
	ck_assert_int_eq(wm_state_node_key(&st, key, &created, err, sizeof(err)), 0);
	ck_assert(created);
	ck_assert_uint_eq(key[0] & 7, 0);
	ck_assert_uint_eq(key[31] & 0xc0, 0x40);
	ck_assert_uint_eq(mode_of(in_state("node.key")), 0600);
	wm_key_to_base64(b64, key);
	snprintf(line, sizeof(line), "%s\n", b64);
	ck_assert_str_eq(get_file(in_state("node.key")), line);
	ck_assert_int_ne(access(in_state(".node.key.tmp"), F_OK), 0);
	wm_state_close(&st);

	open_state(&st);
	ck_assert_int_eq(wm_state_node_key(&st, again, &created, err, sizeof(err)), 0);
	ck_assert(!created);
	ck_assert_mem_eq(again, key, WM_KEY_LEN);
	wm_state_close(&st);
}
END_TEST

START_TEST(test_node_key_malformed)
{
	static const char *const bad[] = {
		"not a key\n",
		"",
		"\n",
		"yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBm=\n",		/* 43 characters */
		"yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n\n",	/* two newlines */
		"yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk= \n",	/* trailing space */
		/* hex */
		"c809f3e5317e9575c9b5ed78b638b7ce530dabe85ddab614220241801ddf0669\n",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",	/* all zero */
	};
	uint8_t key[WM_KEY_LEN];
	struct wm_state st;
	bool created = true;

	open_state(&st);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put_file(in_state("node.key"), bad[i], 0600);
		err[0] = '\0';
		ck_assert_int_eq(wm_state_node_key(&st, key, &created, err, sizeof(err)), -EBADMSG);
		ck_assert(!created);
		ck_assert_msg(strstr(err, "node.key") && strstr(err, sdir), "err: %s", err);
		ck_assert_str_eq(get_file(in_state("node.key")), bad[i]);
	}
	/* Far too long: still malformed, still there. */
	{
		static char big[4096];

		memset(big, 'A', sizeof(big) - 1);
		put_file(in_state("node.key"), big, 0600);
		ck_assert_int_eq(wm_state_node_key(&st, key, &created, err, sizeof(err)), -EBADMSG);
		ck_assert_str_eq(get_file(in_state("node.key")), big);
	}
	wm_state_close(&st);
}
END_TEST

START_TEST(test_node_key_fifo)
{
	uint8_t key[WM_KEY_LEN];
	struct wm_state st;
	bool created;

	open_state(&st);
	ck_assert_int_eq(mkfifo(in_state("node.key"), 0600), 0);
	ck_assert_int_eq(wm_state_node_key(&st, key, &created, err, sizeof(err)), -EBADMSG);
	wm_state_close(&st);
}
END_TEST

START_TEST(test_node_key_tightened)
{
	/* The private key of the wg(8) manual's example. */
	static const uint8_t want[WM_KEY_LEN] = {
		0xc8, 0x09, 0xf3, 0xe5, 0x31, 0x7e, 0x95, 0x75, 0xc9, 0xb5, 0xed, 0x78, 0xb6, 0x38,
		0xb7, 0xce, 0x53, 0x0d, 0xab, 0xe8, 0x5d, 0xda, 0xb6, 0x14, 0x22, 0x02, 0x41, 0x80,
		0x1d, 0xdf, 0x06, 0x69,
	};
	uint8_t key[WM_KEY_LEN];
	struct wm_state st;
	bool created = true;

	open_state(&st);
	put_file(in_state("node.key"), "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n", 0644);
	ck_assert_int_eq(wm_state_node_key(&st, key, &created, err, sizeof(err)), 0);
	ck_assert(!created);
	ck_assert_mem_eq(key, want, WM_KEY_LEN);
	ck_assert_uint_eq(mode_of(in_state("node.key")), 0600);
	/* Without the newline too, as `printf %s KEY > node.key` would leave it. */
	put_file(in_state("node.key"), "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=", 0600);
	ck_assert_int_eq(wm_state_node_key(&st, key, &created, err, sizeof(err)), 0);
	ck_assert_mem_eq(key, want, WM_KEY_LEN);
	wm_state_close(&st);
}
END_TEST

START_TEST(test_node_key_saved)
{
	uint8_t key[WM_KEY_LEN], next[WM_KEY_LEN];
	struct wm_state st;
	bool created;

	open_state(&st);
	ck_assert_int_eq(wm_state_node_key(&st, key, &created, err, sizeof(err)), 0);
	ck_assert(created);
	for (int i = 0; i < WM_KEY_LEN; i++)
		next[i] = (uint8_t)(key[i] ^ (0x5a + i));
	/* A temp file left by a crash, with a loose mode, must not leak into the new file. */
	put_file(in_state(".node.key.tmp"), "junk", 0666);
	ck_assert_int_eq(wm_state_save_node_key(&st, next), 0);
	ck_assert_uint_eq(mode_of(in_state("node.key")), 0600);
	ck_assert_int_ne(access(in_state(".node.key.tmp"), F_OK), 0);
	ck_assert_int_eq(wm_state_node_key(&st, key, &created, err, sizeof(err)), 0);
	ck_assert(!created);
	ck_assert_mem_eq(key, next, WM_KEY_LEN);
	wm_state_close(&st);
}
END_TEST

/* --- server.key ------------------------------------------------------------------------- */

START_TEST(test_server_key)
{
	static const char *const bad[] = {
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e\n",	/* 62 */
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1fzz\n",
		"zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",	/* base64 */
		"0000000000000000000000000000000000000000000000000000000000000000\n",
		"",
	};
	uint8_t key[WM_KEY_LEN], got[WM_KEY_LEN];
	struct wm_state st;
	bool found = true;

	for (int i = 0; i < WM_KEY_LEN; i++)
		key[i] = (uint8_t)i;
	open_state(&st);
	ck_assert_int_eq(wm_state_load_server_key(&st, got, &found, err, sizeof(err)), 0);
	ck_assert(!found);
	ck_assert_int_eq(wm_state_save_server_key(&st, key), 0);
	ck_assert_str_eq(get_file(in_state("server.key")),
			 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n");
	ck_assert_uint_eq(mode_of(in_state("server.key")), 0600);
	ck_assert_int_eq(wm_state_load_server_key(&st, got, &found, err, sizeof(err)), 0);
	ck_assert(found);
	ck_assert_mem_eq(got, key, WM_KEY_LEN);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put_file(in_state("server.key"), bad[i], 0600);
		err[0] = '\0';
		ck_assert_int_eq(wm_state_load_server_key(&st, got, &found, err, sizeof(err)),
				 -EBADMSG);
		ck_assert(!found);
		ck_assert_msg(strstr(err, "server.key") != NULL, "case %zu: %s", i, err);
	}
	wm_state_close(&st);
}
END_TEST

/* --- netmap.json ------------------------------------------------------------------------ */

static void set_prefix(struct wm_netmap_prefix *p, int family, const char *addr, uint8_t cidr)
{
	memset(p, 0, sizeof(*p));
	p->family = family;
	p->cidr = cidr;
	ck_assert_int_eq(inet_pton(family, addr, p->addr), 1);
}

static void set_endpoint(struct wm_endpoint *ep, const char *text)
{
	memset(ep, 0, sizeof(*ep));
	ck_assert_int_eq(wm_endpoint_parse(ep, text), 0);
}

static void make_peer(struct wm_netmap_peer *p, uint64_t id, const char *name, uint8_t fill)
{
	struct in_addr v4 = { htonl(0x64400000u | (uint32_t)id) };

	memset(p, 0, sizeof(*p));
	p->id = id;
	snprintf(p->name, sizeof(p->name), "%s", name);
	memset(p->node_key, fill, WM_KEY_LEN);
	memset(p->disco_key, fill + 1, WM_KEY_LEN);
	p->ipv4 = v4;
	wm_coord_ipv6_for(&p->ipv6, v4);
	p->key_expiry = 1900000000;
}

static void make_netmap(struct wm_netmap *nm)
{
	struct wm_netmap_peer *a, *b;
	struct wm_relay_region *g;

	memset(nm, 0, sizeof(*nm));
	nm->version = 42;
	nm->self.id = 1;
	snprintf(nm->self.name, sizeof(nm->self.name), "self-node");
	nm->self.ipv4.s_addr = htonl(0x64400001u);
	wm_coord_ipv6_for(&nm->self.ipv6, nm->self.ipv4);
	nm->self.key_expiry = 1800000000;

	nm->peers = calloc(2, sizeof(*nm->peers));
	ck_assert_ptr_nonnull(nm->peers);
	nm->n_peers = 2;
	a = &nm->peers[0];
	make_peer(a, 2, "alpha", 0x11);
	set_prefix(&a->allowed_ips[0], AF_INET, "100.64.0.2", 32);
	set_prefix(&a->allowed_ips[1], AF_INET, "10.1.0.0", 16);
	set_prefix(&a->allowed_ips[2], AF_INET6, "fd77:6d65:7368::6440:2", 128);
	a->n_allowed_ips = 3;
	set_endpoint(&a->endpoints[0], "192.0.2.10:41641");
	set_endpoint(&a->endpoints[1], "[2001:db8::10]:41641");
	a->n_endpoints = 2;
	a->home_relay = 7;
	a->online = true;
	a->last_seen = 1700000000;

	b = &nm->peers[1];
	make_peer(b, 3, "beta", 0x33);
	set_prefix(&b->allowed_ips[0], AF_INET, "100.64.0.3", 32);
	b->n_allowed_ips = 1;
	set_endpoint(&b->endpoints[0], "198.51.100.7:51820");
	b->n_endpoints = 1;
	b->key_expiry = 0;
	b->expired = true;

	nm->relays.regions = calloc(1, sizeof(*nm->relays.regions));
	ck_assert_ptr_nonnull(nm->relays.regions);
	nm->relays.n_regions = 1;
	g = &nm->relays.regions[0];
	g->id = 7;
	snprintf(g->code, sizeof(g->code), "fra");
	snprintf(g->name, sizeof(g->name), "Frankfurt");
	snprintf(g->relays[0].url, sizeof(g->relays[0].url), "https://relay.example.org/derp");
	snprintf(g->relays[0].stun_host, sizeof(g->relays[0].stun_host), "relay.example.org");
	g->relays[0].stun_port = 3478;
	snprintf(g->relays[1].url, sizeof(g->relays[1].url), "http://192.0.2.99:8080/derp");
	g->n_relays = 2;

	nm->packet_filter = strdup("[]");
	ck_assert_ptr_nonnull(nm->packet_filter);
}

static void assert_peer_equal(const struct wm_netmap_peer *x, const struct wm_netmap_peer *y)
{
	ck_assert_uint_eq(x->id, y->id);
	ck_assert_str_eq(x->name, y->name);
	ck_assert_mem_eq(x->node_key, y->node_key, WM_KEY_LEN);
	ck_assert_mem_eq(x->disco_key, y->disco_key, WM_KEY_LEN);
	ck_assert_uint_eq(x->ipv4.s_addr, y->ipv4.s_addr);
	ck_assert_mem_eq(&x->ipv6, &y->ipv6, sizeof(x->ipv6));
	ck_assert_uint_eq(x->n_allowed_ips, y->n_allowed_ips);
	for (size_t i = 0; i < x->n_allowed_ips; i++) {
		ck_assert_int_eq(x->allowed_ips[i].family, y->allowed_ips[i].family);
		ck_assert_uint_eq(x->allowed_ips[i].cidr, y->allowed_ips[i].cidr);
		ck_assert_mem_eq(x->allowed_ips[i].addr, y->allowed_ips[i].addr, 16);
	}
	ck_assert_uint_eq(x->n_endpoints, y->n_endpoints);
	for (size_t i = 0; i < x->n_endpoints; i++)
		ck_assert(wm_endpoint_equal(&x->endpoints[i], &y->endpoints[i]));
	ck_assert_int_eq(x->home_relay, y->home_relay);
	ck_assert_int_eq(x->online, y->online);
	ck_assert_int_eq(x->last_seen, y->last_seen);
	ck_assert_int_eq(x->key_expiry, y->key_expiry);
	ck_assert_int_eq(x->expired, y->expired);
}

static void assert_netmap_equal(const struct wm_netmap *x, const struct wm_netmap *y)
{
	ck_assert_uint_eq(x->version, y->version);
	ck_assert_uint_eq(x->self.id, y->self.id);
	ck_assert_str_eq(x->self.name, y->self.name);
	ck_assert_uint_eq(x->self.ipv4.s_addr, y->self.ipv4.s_addr);
	ck_assert_mem_eq(&x->self.ipv6, &y->self.ipv6, sizeof(x->self.ipv6));
	ck_assert_int_eq(x->self.key_expiry, y->self.key_expiry);
	ck_assert_uint_eq(x->n_peers, y->n_peers);
	for (size_t i = 0; i < x->n_peers; i++)
		assert_peer_equal(&x->peers[i], &y->peers[i]);
	ck_assert_uint_eq(x->relays.n_regions, y->relays.n_regions);
	for (size_t i = 0; i < x->relays.n_regions; i++) {
		const struct wm_relay_region *g = &x->relays.regions[i], *h = &y->relays.regions[i];

		ck_assert_int_eq(g->id, h->id);
		ck_assert_str_eq(g->code, h->code);
		ck_assert_str_eq(g->name, h->name);
		ck_assert_uint_eq(g->n_relays, h->n_relays);
		for (size_t j = 0; j < g->n_relays; j++) {
			ck_assert_str_eq(g->relays[j].url, h->relays[j].url);
			ck_assert_str_eq(g->relays[j].stun_host, h->relays[j].stun_host);
			ck_assert_uint_eq(g->relays[j].stun_port, h->relays[j].stun_port);
		}
	}
	ck_assert_int_eq(x->packet_filter == NULL, y->packet_filter == NULL);
	if (x->packet_filter)
		ck_assert_str_eq(x->packet_filter, y->packet_filter);
}

START_TEST(test_netmap_round_trip)
{
	struct wm_netmap nm, got;
	struct wm_state st;
	bool found = true;

	make_netmap(&nm);
	open_state(&st);
	ck_assert_int_eq(wm_state_load_netmap(&st, &got, &found, err, sizeof(err)), 0);
	ck_assert(!found);
	ck_assert_int_eq(wm_state_save_netmap(&st, &nm), 0);
	ck_assert_uint_eq(mode_of(in_state("netmap.json")), 0600);
	ck_assert_int_eq(wm_state_load_netmap(&st, &got, &found, err, sizeof(err)), 0);
	ck_assert_msg(found, "%s", err);
	assert_netmap_equal(&nm, &got);
	wm_netmap_free(&got);

	/* A later netmap replaces it; one without a packet filter stays without. */
	nm.version = 43;
	nm.n_peers = 1;
	free(nm.packet_filter);
	nm.packet_filter = NULL;
	ck_assert_int_eq(wm_state_save_netmap(&st, &nm), 0);
	ck_assert_int_eq(wm_state_load_netmap(&st, &got, &found, err, sizeof(err)), 0);
	ck_assert(found);
	assert_netmap_equal(&nm, &got);
	wm_netmap_free(&got);

	/* Version 0 is no netmap: the saved one is forgotten (as after a logout). */
	nm.version = 0;
	ck_assert_int_eq(wm_state_save_netmap(&st, &nm), 0);
	ck_assert_int_eq(wm_state_load_netmap(&st, &got, &found, err, sizeof(err)), 0);
	ck_assert(!found);
	ck_assert_int_eq(wm_state_save_netmap(&st, &nm), 0);
	wm_netmap_free(&nm);
	wm_state_close(&st);
}
END_TEST

START_TEST(test_netmap_damaged)
{
	struct wm_netmap nm, got;
	struct wm_state st;
	bool found = true;
	char *text;
	size_t len;

	make_netmap(&nm);
	open_state(&st);
	ck_assert_int_eq(wm_state_save_netmap(&st, &nm), 0);
	text = strdup(get_file(in_state("netmap.json")));
	ck_assert_ptr_nonnull(text);
	len = strlen(text);
	/* Cut anywhere: never a netmap, always a sentence that names the file. */
	for (size_t cut = 0; cut < len; cut += 1 + cut / 4) {
		ck_assert_int_eq(truncate(in_state("netmap.json"), (off_t)cut), 0);
		err[0] = '\0';
		ck_assert_int_eq(wm_state_load_netmap(&st, &got, &found, err, sizeof(err)),
				 -EBADMSG);
		ck_assert(!found);
		ck_assert_ptr_null(got.peers);
		ck_assert_msg(strstr(err, "netmap.json") != NULL, "cut %zu: %s", cut, err);
	}
	put_file(in_state("netmap.json"), "{\"type\":\"netmap\",\"id\":"
		 "\"00000000000000000000000000000000\",\"version\":5,\"unchanged\":true}", 0600);
	ck_assert_int_eq(wm_state_load_netmap(&st, &got, &found, err, sizeof(err)), -EBADMSG);
	ck_assert(!found);
	free(text);
	wm_netmap_free(&nm);
	wm_state_close(&st);
}
END_TEST

/* --- coord.url -------------------------------------------------------------------------- */

START_TEST(test_url)
{
	static const char *const bad_save[] = { "", "https://a b", "https://a\nb", "\thttps://a" };
	const char *url = "https://coord.example.org:8443/mesh";
	struct wm_state st;
	char got[64], small[8], *long_url;
	bool found = true;

	open_state(&st);
	ck_assert_int_eq(wm_state_load_url(&st, got, sizeof(got), &found), 0);
	ck_assert(!found);
	ck_assert_int_eq(wm_state_save_url(&st, url), 0);
	ck_assert_str_eq(get_file(in_state("coord.url")), "https://coord.example.org:8443/mesh\n");
	ck_assert_int_eq(wm_state_load_url(&st, got, sizeof(got), &found), 0);
	ck_assert(found);
	ck_assert_str_eq(got, url);
	ck_assert_int_eq(wm_state_load_url(&st, small, sizeof(small), &found), -ERANGE);
	ck_assert(!found);
	for (size_t i = 0; i < sizeof(bad_save) / sizeof(bad_save[0]); i++)
		ck_assert_int_eq(wm_state_save_url(&st, bad_save[i]), -EINVAL);
	long_url = malloc(WM_STATE_URL_MAX + 2);
	ck_assert_ptr_nonnull(long_url);
	memset(long_url, 'u', WM_STATE_URL_MAX + 1);
	long_url[WM_STATE_URL_MAX + 1] = '\0';
	ck_assert_int_eq(wm_state_save_url(&st, long_url), -EINVAL);
	free(long_url);
	/* The file is still the good one; a damaged one is reported. */
	ck_assert_int_eq(wm_state_load_url(&st, got, sizeof(got), &found), 0);
	ck_assert_str_eq(got, url);
	put_file(in_state("coord.url"), "https://one\nhttps://two\n", 0600);
	ck_assert_int_eq(wm_state_load_url(&st, got, sizeof(got), &found), -EBADMSG);
	ck_assert(!found);
	wm_state_close(&st);
}
END_TEST

/* --- the control socket ----------------------------------------------------------------- */

START_TEST(test_socket_path)
{
	struct wm_state st;
	char path[4096], want[256];

	open_state(&st);
	ck_assert_int_eq(wm_state_socket_path(&st, path, sizeof(path)), 0);
	snprintf(want, sizeof(want), "%s/wiremesh.sock", sdir);
	ck_assert_str_eq(path, want);
	ck_assert_int_eq(wm_state_socket_path(&st, path, strlen(want)), -ENAMETOOLONG);
	ck_assert_str_eq(path, "");
	ck_assert_int_eq(wm_state_socket_path(&st, path, strlen(want) + 1), 0);
	wm_state_close(&st);

	/* Fits in the buffer but not in a sockaddr_un. */
	memset(want, 'd', 120);
	want[120] = '\0';
	snprintf(sdir, sizeof(sdir), "%s/%s", tmp, want);
	open_state(&st);
	ck_assert_int_eq(wm_state_socket_path(&st, path, sizeof(path)), -ENAMETOOLONG);
	wm_state_close(&st);
}
END_TEST

static Suite *state_suite(void)
{
	Suite *s = suite_create("state");
	TCase *tc = tcase_create("state");

	tcase_add_unchecked_fixture(tc, make_base, remove_base);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_create_dir);
	tcase_add_test(tc, test_missing_parent);
	tcase_add_test(tc, test_not_a_dir);
	tcase_add_test(tc, test_relative_dir);
	tcase_add_test(tc, test_dir_path_too_long);
	tcase_add_test(tc, test_loose_dir_tightened);
	tcase_add_test(tc, test_operator_gid);
	tcase_add_test(tc, test_not_owned);
	tcase_add_test(tc, test_node_key_created_once);
	tcase_add_test(tc, test_node_key_malformed);
	tcase_add_test(tc, test_node_key_fifo);
	tcase_add_test(tc, test_node_key_tightened);
	tcase_add_test(tc, test_node_key_saved);
	tcase_add_test(tc, test_server_key);
	tcase_add_test(tc, test_netmap_round_trip);
	tcase_add_test(tc, test_netmap_damaged);
	tcase_add_test(tc, test_url);
	tcase_add_test(tc, test_socket_path);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(state_suite());
	int failures;

	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
