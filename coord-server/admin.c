/* SPDX-License-Identifier: MIT */
#include "coord-server/admin.h"
#include "coord-server/admin_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "common/encoding.h"
#include "coord-client/coord_msg.h"
#include "coord-server/admin_print.h"
#include "coord-server/api.h"
#include "coord-server/policy.h"
#include "coord-server/store.h"

#define BUSY_TIMEOUT_MS 5000
#define RELAYS_FILE_MAX (1u << 20)

/* Options every command knows; allowed says which this one takes (letters). */
int admin_parse(int argc, char **argv, const char *cmd, const char *allowed, int nargs_min,
		 int nargs_max, void (*usage)(FILE *), struct admin_opts *o)
{
	static const struct option longs[] = {
		{ "db", required_argument, NULL, 'd' },	  { "json", no_argument, NULL, 'j' },
		{ "reusable", no_argument, NULL, 'r' },	  { "ephemeral", no_argument, NULL, 'e' },
		{ "expiry", required_argument, NULL, 'x' }, { "tag", required_argument, NULL, 't' },
		{ "tags", required_argument, NULL, 't' },
		{ "proto", required_argument, NULL, 'P' }, { "id", required_argument, NULL, 'i' },
		{ "file", required_argument, NULL, 'f' },   { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		if (ch == 'h') {
			usage(stdout);
			exit(0);
		}
		if (ch == '?')
			goto fail;	/* getopt said which */
		if (!strchr(allowed, ch)) {
			for (int i = 0; longs[i].name; i++)
				if (longs[i].val == ch)
					fprintf(stderr, "wiremesh-coord %s: --%s does not apply here\n",
						cmd, longs[i].name);
			goto fail;
		}
		switch (ch) {
		case 'd': o->db = optarg; break;
		case 'j': o->json = true; break;
		case 'r': o->reusable = true; break;
		case 'e': o->ephemeral = true; break;
		case 'x': o->expiry = optarg; break;
		case 't': o->tag = optarg; break;
		case 'P': o->proto = optarg; break;
		case 'i': o->id = optarg; break;
		case 'f': o->file = optarg; break;
		}
	}
	for (; optind < argc && o->nargs < 4; optind++)
		o->args[o->nargs++] = argv[optind];
	if (optind < argc || o->nargs < nargs_min || o->nargs > nargs_max) {
		fprintf(stderr, "wiremesh-coord %s: expected %d%s argument%s, got %d\n", cmd,
			nargs_min, nargs_max > nargs_min ? " or more" : "", nargs_max == 1 ? "" : "s",
			o->nargs + (argc - optind));
		goto fail;
	}
	if (!o->db) {
		fprintf(stderr, "wiremesh-coord %s: --db PATH is required\n", cmd);
		goto fail;
	}
	return 0;
fail:
	usage(stderr);
	return 2;
}

struct wm_store *admin_open_db(const char *path)
{
	struct wm_store *s = NULL;
	char err[256];

	if (wm_store_open(&s, path, BUSY_TIMEOUT_MS, err, sizeof(err))) {
		fprintf(stderr, "wiremesh-coord: %s\n", err);
		return NULL;
	}
	return s;
}

int admin_db_error(struct wm_store *s, const char *what)
{
	fprintf(stderr, "wiremesh-coord: %s: %s\n", what, wm_store_error(s));
	wm_store_close(s);
	return 1;
}

int64_t wm_coord_parse_duration(const char *text)
{
	char *end;
	long long v;
	int64_t unit = 1;

	if (!text[0] || text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno || v <= 0)
		return -1;
	if (*end) {
		if (end[1])
			return -1;
		switch (*end) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		default: return -1;
		}
	}
	if (v > INT64_C(100) * 365 * 86400 / unit)
		return -1;
	return v * unit;
}

static bool tag_valid(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > WM_STORE_TAG_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
		      (t[i] >= '0' && t[i] <= '9') || strchr(":_.-", t[i])))
			return false;
	return true;
}

/* "tag:a,tag:b": 1 to WM_STORE_TAGS_MAX valid tags, none twice. */
static bool tags_valid(const char *list)
{
	char one[WM_STORE_TAG_MAX + 2], seen[WM_STORE_TAGS_MAX][WM_STORE_TAG_MAX + 1];
	size_t n = 0;

	for (;;) {
		size_t len = strcspn(list, ",");

		if (n == WM_STORE_TAGS_MAX || len > WM_STORE_TAG_MAX)
			return false;
		snprintf(one, sizeof(one), "%.*s", (int)len, list);
		if (!tag_valid(one))
			return false;
		for (size_t i = 0; i < n; i++)
			if (!strcmp(seen[i], one))
				return false;
		snprintf(seen[n++], sizeof(seen[0]), "%s", one);
		if (!list[len])
			return true;
		list += len + 1;
	}
}

/* --- authkey ---------------------------------------------------------------------------- */

static void usage_authkey(FILE *f)
{
	fprintf(f,
		"Usage: wiremesh-coord authkey create --db PATH [--reusable] [--ephemeral] [--expiry DUR]\n"
		"                                     [--tags TAG,...]\n"
		"       wiremesh-coord authkey list --db PATH [--json]\n"
		"       wiremesh-coord authkey revoke --db PATH KEY|ID\n"
		"\n"
		"Auth keys let nodes join (wiremesh up --authkey KEY). Only a hash is stored: create\n"
		"prints the key once.\n"
		"  --reusable    any number of nodes may join with it (default: one)\n"
		"  --ephemeral   its nodes are removed after 2 minutes offline\n"
		"  --expiry DUR  it stops working after DUR (90s, 30m, 12h, 7d; default: never)\n"
		"  --tags TAG,...  (or --tag) nodes joining with it carry these tags (1-4, each\n"
		"                [A-Za-z0-9:_.-], at most 64; tag:ci,tag:server); their keys never\n"
		"                expire (docs/identity.md)\n");
}

static int authkey_create(int argc, char **argv)
{
	struct wm_store_authkey_opts ko = { 0 };
	char key[WM_STORE_AUTHKEY_LEN + 1];
	struct wm_store *s;
	struct admin_opts o;
	int64_t dur = 0, id;
	int ret = admin_parse(argc, argv, "authkey create", "drexth", 0, 0, usage_authkey, &o);

	if (ret)
		return ret;
	if (o.expiry && (dur = wm_coord_parse_duration(o.expiry)) < 0) {
		fprintf(stderr, "wiremesh-coord authkey create: --expiry '%s' is not a duration (90s, 30m, 12h, 7d)\n",
			o.expiry);
		return 2;
	}
	if (o.tag && !tags_valid(o.tag)) {
		fprintf(stderr, "wiremesh-coord authkey create: --tags '%s': give 1-4 different tags "
			"joined by ',', each 1-64 of A-Z a-z 0-9 : _ . -\n", o.tag);
		return 2;
	}
	if (!(s = admin_open_db(o.db)))
		return 1;
	ko.reusable = o.reusable;
	ko.ephemeral = o.ephemeral;
	ko.tag = o.tag;
	ko.expires = dur ? wm_coord_api_now() + dur : 0;
	if (wm_store_authkey_create(s, &ko, wm_coord_api_now(), key, &id))
		return admin_db_error(s, "creating the auth key");
	printf("%s\n", key);
	wm_store_close(s);
	return 0;
}

static int authkey_list(int argc, char **argv)
{
	struct wm_store *s;
	struct admin_opts o;
	int ret = admin_parse(argc, argv, "authkey list", "djh", 0, 0, usage_authkey, &o);

	if (ret)
		return ret;
	if (!(s = admin_open_db(o.db)))
		return 1;
	ret = wm_coord_print_authkeys(s, o.json, wm_coord_api_now());
	if (ret)
		return admin_db_error(s, "listing auth keys");
	wm_store_close(s);
	return 0;
}

static int authkey_revoke(int argc, char **argv)
{
	struct wm_store *s;
	struct admin_opts o;
	int ret = admin_parse(argc, argv, "authkey revoke", "dh", 1, 1, usage_authkey, &o);

	if (ret)
		return ret;
	if (!(s = admin_open_db(o.db)))
		return 1;
	ret = wm_store_authkey_revoke(s, o.args[0]);
	if (ret == -ENOENT) {
		fprintf(stderr, "wiremesh-coord authkey revoke: no auth key '%s' (give the whole key or its ID from 'authkey list')\n",
			o.args[0]);
		wm_store_close(s);
		return 1;
	}
	if (ret)
		return admin_db_error(s, "revoking the auth key");
	printf("revoked\n");
	wm_store_close(s);
	return 0;
}

/* "authkey" alone, "authkey --help" and "authkey create --help" all show the usage. */
int admin_group(int argc, char **argv, const char *name, void (*usage)(FILE *),
		 const char *const subs[], int (*const fns[])(int, char **))
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (int i = 0; subs[i]; i++)
		if (!strcmp(argv[1], subs[i]))
			return fns[i](argc - 1, argv + 1);
	fprintf(stderr, "wiremesh-coord %s: unknown command '%s'\n", name, argv[1]);
	usage(stderr);
	return 2;
}

int wm_coord_admin_authkey(int argc, char **argv)
{
	static const char *const subs[] = { "create", "list", "revoke", NULL };
	static int (*const fns[])(int, char **) = { authkey_create, authkey_list, authkey_revoke };

	return admin_group(argc, argv, "authkey", usage_authkey, subs, fns);
}

/* --- nodes ------------------------------------------------------------------------------ */

static void usage_nodes(FILE *f)
{
	fprintf(f,
		"Usage: wiremesh-coord nodes list --db PATH [--json]\n"
		"       wiremesh-coord nodes remove|delete --db PATH NODE\n"
		"       wiremesh-coord nodes rename --db PATH NODE NEW-NAME\n"
		"       wiremesh-coord nodes expire --db PATH NODE\n"
		"\n"
		"NODE is a node's ID, name or base64 node key. remove takes it out of the mesh (its\n"
		"addresses are never given to another node); expire ends its key now, so it must\n"
		"register again with an auth key; rename sets the DNS label peers see. delete is\n"
		"another name for remove. Peers drop a removed or expired node at their next netmap.\n");
}

static int nodes_list(int argc, char **argv)
{
	struct wm_store *s;
	struct admin_opts o;
	int ret = admin_parse(argc, argv, "nodes list", "djh", 0, 0, usage_nodes, &o);

	if (ret)
		return ret;
	if (!(s = admin_open_db(o.db)))
		return 1;
	ret = wm_coord_print_nodes(s, o.json, wm_coord_api_now());
	if (ret)
		return admin_db_error(s, "listing nodes");
	wm_store_close(s);
	return 0;
}

/* The shared part of remove/rename/expire: find NODE, apply, report. */
static int node_change(int argc, char **argv, const char *cmd, int nargs)
{
	struct wm_store_node node;
	struct wm_store *s;
	struct admin_opts o;
	int ret = admin_parse(argc, argv, cmd, "dh", nargs, nargs, usage_nodes, &o);

	if (ret)
		return ret;
	if (!(s = admin_open_db(o.db)))
		return 1;
	ret = wm_store_node_find(s, o.args[0], &node);
	if (ret == -ENOENT) {
		fprintf(stderr, "wiremesh-coord %s: no node '%s' (give its ID, name or node key)\n",
			cmd, o.args[0]);
		wm_store_close(s);
		return 1;
	}
	if (ret)
		return admin_db_error(s, "finding the node");
	if (!strcmp(cmd, "nodes remove") || !strcmp(cmd, "nodes delete"))
		ret = wm_store_node_delete(s, node.id, wm_coord_api_now());
	else if (!strcmp(cmd, "nodes expire"))
		ret = wm_store_node_expire(s, node.id, wm_coord_api_now());
	else
		ret = wm_store_node_rename(s, node.id, o.args[1]);
	if (ret == -EINVAL || ret == -EEXIST) {
		fprintf(stderr, "wiremesh-coord %s: '%s' %s\n", cmd, o.args[1],
			ret == -EINVAL ? "is not a DNS label (1-63 of a-z 0-9 -, no '-' at the ends)"
				       : "is already another node's name");
		wm_store_close(s);
		return 1;
	}
	if (ret && ret != -ENOENT)
		return admin_db_error(s, cmd);
	printf("%s: node %lld (%s)\n", cmd + 6, (long long)node.id, node.name);
	wm_store_close(s);
	return 0;
}

static int nodes_remove(int argc, char **argv)
{
	return node_change(argc, argv, "nodes remove", 1);
}

/* Headscale's word for it. */
static int nodes_delete(int argc, char **argv)
{
	return node_change(argc, argv, "nodes delete", 1);
}

static int nodes_rename(int argc, char **argv)
{
	return node_change(argc, argv, "nodes rename", 2);
}

static int nodes_expire(int argc, char **argv)
{
	return node_change(argc, argv, "nodes expire", 1);
}

int wm_coord_admin_nodes(int argc, char **argv)
{
	static const char *const subs[] = { "list", "remove", "delete", "rename", "expire", NULL };
	static int (*const fns[])(int, char **) = { nodes_list, nodes_remove, nodes_delete,
						    nodes_rename, nodes_expire };

	return admin_group(argc, argv, "nodes", usage_nodes, subs, fns);
}

/* --- relays ----------------------------------------------------------------------------- */

static void usage_relays(FILE *f)
{
	fprintf(f,
		"Usage: wiremesh-coord relays set --db PATH FILE\n"
		"       wiremesh-coord relays get --db PATH\n"
		"\n"
		"The relay map every node gets, as JSON (FILE '-' reads standard input):\n"
		"  {\"regions\": [{\"id\": 1, \"code\": \"home\", \"name\": \"Home\",\n"
		"                \"relays\": [{\"url\": \"https://relay.example.com/derp\",\n"
		"                            \"stun\": \"relay.example.com:3478\"}]}]}\n");
}

/* The whole file (at most max bytes; EFBIG beyond), NUL-terminated. */
char *admin_read_file(const char *path, size_t max, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char *buf;

	if (!f)
		return NULL;
	buf = malloc(max + 1);
	*len = buf ? fread(buf, 1, max + 1, f) : 0;
	if (f != stdin)
		fclose(f);
	if (buf && *len > max) {
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	if (buf)
		buf[*len] = '\0';
	return buf;
}

static int relays_set(int argc, char **argv)
{
	char err[WM_COORD_ERR_LEN], *text, *canon;
	struct wm_relay_map rm;
	struct wm_store *s;
	struct admin_opts o;
	size_t len = 0;
	int ret = admin_parse(argc, argv, "relays set", "dh", 1, 1, usage_relays, &o);

	if (ret)
		return ret;
	if (!(text = admin_read_file(o.args[0], RELAYS_FILE_MAX, &len))) {
		fprintf(stderr, "wiremesh-coord relays set: cannot read %s: %s\n", o.args[0],
			strerror(errno));
		return 1;
	}
	ret = wm_coord_relay_map_parse(&rm, text, len, err, sizeof(err));
	free(text);
	if (ret) {
		fprintf(stderr, "wiremesh-coord relays set: %s: %s\n", o.args[0], err);
		return 1;
	}
	canon = wm_coord_relay_map_encode(&rm);
	wm_relay_map_free(&rm);
	if (!canon || !(s = admin_open_db(o.db))) {
		free(canon);
		return 1;
	}
	ret = wm_store_relays_set(s, canon, wm_coord_api_now());
	free(canon);
	if (ret)
		return admin_db_error(s, "storing the relay map");
	printf("relay map set\n");
	wm_store_close(s);
	return 0;
}

static int relays_get(int argc, char **argv)
{
	struct wm_store *s;
	struct admin_opts o;
	char *text;
	int ret = admin_parse(argc, argv, "relays get", "dh", 0, 0, usage_relays, &o);

	if (ret)
		return ret;
	if (!(s = admin_open_db(o.db)))
		return 1;
	text = wm_store_relays_get(s);
	if (!text)
		return admin_db_error(s, "reading the relay map");
	printf("%s\n", text);
	free(text);
	wm_store_close(s);
	return 0;
}

int wm_coord_admin_relays(int argc, char **argv)
{
	static const char *const subs[] = { "set", "get", NULL };
	static int (*const fns[])(int, char **) = { relays_set, relays_get };

	return admin_group(argc, argv, "relays", usage_relays, subs, fns);
}

/* --- key -------------------------------------------------------------------------------- */

static void usage_key(FILE *f)
{
	fprintf(f, "Usage: wiremesh-coord key --db PATH\n\n"
		   "Prints the server's public key in hex (made on first use), for URLs that pin it:\n"
		   "  https://coord.example.com/?key=HEX\n");
}

int wm_coord_admin_key(int argc, char **argv)
{
	uint8_t priv[WM_KEY_LEN], pub[WM_KEY_LEN];
	char hex[WM_KEY_HEX_LEN];
	struct wm_store *s;
	struct admin_opts o;
	int ret = admin_parse(argc, argv, "key", "dh", 0, 0, usage_key, &o);

	if (ret)
		return ret;
	if (!(s = admin_open_db(o.db)))
		return 1;
	ret = wm_store_server_key(s, priv, pub);
	sodium_memzero(priv, sizeof(priv));
	if (ret)
		return admin_db_error(s, "reading the server key");
	wm_key_to_hex(hex, pub);
	printf("%s\n", hex);
	wm_store_close(s);
	return 0;
}
