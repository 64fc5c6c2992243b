/* SPDX-License-Identifier: MIT */
/*
 * Access policy (coord-server/policy*.c, store_policy.c, the netmap cache's use of it): tables
 * of files that must be refused with the place named, tables of decisions (aliases, groups,
 * tags, hosts, prefixes, port ranges and lists, protocols), the tests section passing and
 * failing, visibility, the exact compiled filter, the bounds, and the store and the cache.
 */
#include "coord-server/policy.h"

#include <arpa/inet.h>
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#include "coord-client/coord_msg.h"
#include "coord-client/netmap.h"
#include "coord-server/netmap_cache.h"
#include "coord-server/store.h"
#include "filter/filter.h"

#define NOW 1700000000
#define ERR_LEN WM_POLICY_ERR_LEN

static struct wm_store_node mk(int id, const char *name, const char *tag)
{
	struct wm_store_node n;

	memset(&n, 0, sizeof(n));
	n.id = id;
	snprintf(n.name, sizeof(n.name), "%s", name);
	snprintf(n.tag, sizeof(n.tag), "%s", tag);
	n.ipv4 = 0x64400000u + (uint32_t)id;
	return n;
}

/* Index = id - 1. web's tag came from an auth key made with --tag web, ci1's with tag:ci, ci2's
 * with ci: all three spellings are how aliases see them ("tag:web", "tag:ci"). */
static struct wm_store_node nodes[6];
#define N_NODES 6

static void make_nodes(void)
{
	nodes[0] = mk(1, "web", "web");
	nodes[1] = mk(2, "db", "");
	nodes[2] = mk(3, "laptop", "");
	nodes[3] = mk(4, "ci1", "tag:ci");
	nodes[4] = mk(5, "ci2", "ci");
	nodes[5] = mk(6, "printer", "");
}

/* Parses and compiles; NULL with err filled when either fails. */
static struct wm_policy *load(const char *text, bool strict, char err[ERR_LEN], int *ret)
{
	struct wm_policy *p = NULL;
	int r = wm_policy_parse(&p, text, strlen(text), err, ERR_LEN);

	if (!r)
		r = wm_policy_compile(p, nodes, N_NODES, NULL, 0, NULL, 0, strict, err, ERR_LEN);
	if (ret)
		*ret = r;
	if (r) {
		wm_policy_free(p);
		return NULL;
	}
	return p;
}

static struct wm_policy *load_ok(const char *text)
{
	char err[ERR_LEN] = "";
	struct wm_policy *p = load(text, true, err, NULL);

	ck_assert_msg(p, "policy refused: %s", err);
	return p;
}

/* --- refused files ------------------------------------------------------------------------ */

#define ACL(src, proto, dst) \
	"{\"acls\":[{\"action\":\"accept\",\"src\":[" src "],\"proto\":\"" proto "\",\"dst\":[" dst "]}]}"
#define WITH_TESTS(t) \
	"{\"acls\":[{\"action\":\"accept\",\"src\":[\"laptop\"],\"proto\":\"tcp\",\"dst\":[\"web:80\"]}]," \
	"\"tests\":[" t "]}"

static const struct {
	const char *text, *want;
} bad_files[] = {
	{ "{", "line 1, column" },
	{ "{\"acls\":[]", "line 1, column" },
	{ "[]", "must be a JSON object" },
	{ "{\"acls\":[],\"acl\":[]}", "unknown top-level key \"acl\"" },
	{ "{\"acls\":[],\"acls\":[]}", "duplicate" },
	{ "{}", "missing \"acls\"" },
	{ "{\"acls\":{}}", "acls: must be a list" },
	{ "{\"acls\":[1]}", "acls[0]: must be an object" },
	{ "{\"acls\":[{\"action\":\"deny\",\"src\":[\"*\"],\"dst\":[\"*:*\"]}]}", "acls[0].action: must be \"accept\"" },
	{ "{\"acls\":[{\"action\":\"accept\",\"src\":[\"*\"],\"dst\":[\"*:*\"],\"users\":[]}]}", "acls[0]: unknown key \"users\"" },
	{ "{\"acls\":[{\"action\":\"accept\",\"src\":[\"*\"]}]}", "acls[0]: missing \"dst\"" },
	{ ACL("", "tcp", "\"web:80\""), "acls[0].src: must not be empty" },
	{ ACL("\"web\"", "tcp", ""), "acls[0].dst: must not be empty" },
	{ ACL("\"web\"", "sctp", "\"web:80\""), "acls[0].proto: must be" },
	{ ACL("\"web\"", "tcp", "1"), "acls[0].dst[0]: must be a string" },
	{ ACL("\"web\"", "tcp", "\"db:80\",\"web:90-80\""), "acls[0].dst[1]: port range \"90-80\" is reversed" },
	{ ACL("\"web\"", "tcp", "\"web:65536\""), "acls[0].dst[0]: port 65536 is out of range" },
	{ ACL("\"web\"", "tcp", "\"web:80-99999\""), "port 99999 is out of range" },
	{ ACL("\"web\"", "tcp", "\"web:80,,81\""), "acls[0].dst[0]: empty item in ports \"80,,81\"" },
	{ ACL("\"web\"", "tcp", "\"web:80,\""), "empty item" },
	{ ACL("\"web\"", "tcp", "\"web:80,*\""), "\"*\" cannot be one item of a list" },
	{ ACL("\"web\"", "tcp", "\"web:8a\""), "acls[0].dst[0]: \"8a\" is not a port or range" },
	{ ACL("\"web\"", "tcp", "\"web:-80\""), "\"web:-80\" needs ports" },
	{ ACL("\"web\"", "tcp", "\"web:80-\""), "\"80-\" is not a port or range" },
	{ ACL("\"web\"", "tcp", "\"web:1-2-3\""), "\"1-2-3\" is not a port or range" },
	{ ACL("\"web\"", "tcp", "\"web:http\""), "acls[0].dst[0]: \"web:http\" needs ports" },
	{ ACL("\"web\"", "tcp", "\"web\""), "\"web\" needs ports" },
	{ ACL("\"web\"", "tcp", "\"tag:web\""), "\"tag:web\" needs ports" },
	{ ACL("\"web\"", "tcp", "\"[fd77::1]\""), "needs ports" },
	{ ACL("\"web\"", "tcp", "\"[fd77::1\""), "expected [ADDRESS]:PORTS" },
	{ ACL("\"web\"", "*", "\"db:80\""), "acls[0].dst[0]: ports mean nothing with \"proto\": \"*\"" },
	{ ACL("\"web\"", "icmp", "\"db:80\""), "icmp has no ports" },
	{ ACL("\"10.0.0.1/8\"", "tcp", "\"db:80\""), "acls[0].src[0]: \"10.0.0.1/8\" has bits set past /8 (did you mean 10.0.0.0/8?)" },
	{ ACL("\"10.0.0.0/33\"", "tcp", "\"db:80\""), "\"10.0.0.0/33\" is not a valid address or prefix" },
	{ ACL("\"1.2.3\"", "tcp", "\"db:80\""), "\"1.2.3\" is not a valid address" },
	{ ACL("\"fd77::/x\"", "tcp", "\"db:80\""), "is not a valid address" },
	{ ACL("\"group:nope\"", "tcp", "\"db:80\""), "acls[0].src[0]: unknown group \"group:nope\"" },
	{ ACL("\"Web_Server\"", "tcp", "\"db:80\""), "acls[0].src[0]: unknown alias \"Web_Server\"" },
	{ ACL("\"\"", "tcp", "\"db:80\""), "acls[0].src[0]: empty alias" },
	{ ACL("\"tag:\"", "tcp", "\"db:80\""), "is not a tag" },
	{ ACL("\"tag:a b\"", "tcp", "\"db:80\""), "is not a tag" },
	{ ACL("\"web\"", "tcp", "\":80\""), "acls[0].dst[0]: empty alias" },
	{ ACL("\"web\"", "tcp", "\"web:1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64,65\""),
	  "more than 64 items" },
	{ "{\"groups\":{\"eng\":[]},\"acls\":[]}", "groups: \"eng\" must be named \"group:NAME\"" },
	{ "{\"groups\":{\"group:a\":[\"group:b\"]},\"acls\":[]}", "groups[\"group:a\"][0]: a group holds node names and tags, not other groups" },
	{ "{\"groups\":{\"group:a\":[\"10.0.0.1\"]},\"acls\":[]}", "groups[\"group:a\"][0]: \"10.0.0.1\" is not a node name or tag" },
	{ "{\"groups\":{\"group:a\":\"web\"},\"acls\":[]}", "groups[\"group:a\"]: must be a list of strings" },
	{ "{\"tags\":{\"web\":[]},\"acls\":[]}", "tags: \"web\" must be named \"tag:NAME\"" },
	{ "{\"tags\":{\"tag:a\":[\"tag:b\"]},\"acls\":[]}", "tags[\"tag:a\"][0]: \"tag:b\" is not a node name" },
	{ "{\"hosts\":{\"1.2.3.4\":\"10.0.0.1\"},\"acls\":[]}", "hosts: \"1.2.3.4\" is not a host name" },
	{ "{\"hosts\":{\"h\":\"nope\"},\"acls\":[]}", "hosts[\"h\"]: \"nope\" is not a valid address or prefix" },
	{ "{\"hosts\":{\"h\":\"10.0.0.1/8\"},\"acls\":[]}", "hosts[\"h\"]: \"10.0.0.1/8\" has bits set" },
	{ "{\"hosts\":{\"h\":5},\"acls\":[]}", "hosts[\"h\"]: must be an address or prefix string" },
	{ "{\"hosts\":[],\"acls\":[]}", "hosts: must be an object" },
	{ WITH_TESTS("{\"src\":\"*\",\"accept\":[\"web:80\"]}"), "tests[0].src: \"*\" cannot be a test's source" },
	{ WITH_TESTS("{\"src\":\"10.0.0.0/8\",\"accept\":[\"web:80\"]}"), "tests[0].src: a test's source must be one address" },
	{ WITH_TESTS("{\"src\":\"laptop\"}"), "tests[0]: nothing to test" },
	{ WITH_TESTS("{\"src\":\"laptop\",\"accept\":[]}"), "tests[0]: nothing to test" },
	{ WITH_TESTS("{\"src\":\"laptop\",\"proto\":\"*\",\"accept\":[\"web:80\"]}"), "tests[0].proto" },
	{ WITH_TESTS("{\"src\":\"laptop\",\"accept\":[\"web\"]}"), "tests[0].accept[0]: \"web\" needs ports" },
	{ WITH_TESTS("{\"src\":\"laptop\",\"deny\":[\"web:90-80\"]}"), "tests[0].deny[0]: port range \"90-80\" is reversed" },
	{ WITH_TESTS("{\"src\":\"laptop\",\"accept\":[\"web:80\"],\"expect\":1}"), "tests[0]: unknown key \"expect\"" },
	{ WITH_TESTS("{\"src\":5,\"accept\":[\"web:80\"]}"), "tests[0].src: missing, or not a string" },
	{ "{\"acls\":[],\"tests\":{}}", "tests: must be a list" },
	{ "{\"acls\":[\"a\\u0000b\"]}", "line 1" },
};

START_TEST(refused)
{
	const char *text = bad_files[_i].text;
	struct wm_policy *p = NULL;
	char err[ERR_LEN] = "";

	ck_assert_int_eq(wm_policy_parse(&p, text, strlen(text), err, sizeof(err)), -EBADMSG);
	ck_assert_ptr_null(p);
	ck_assert_msg(strstr(err, bad_files[_i].want), "%s\n  said: %s\n  want: %s", text, err,
		      bad_files[_i].want);
}
END_TEST

/* Names are checked against the mesh when strict (check/set), tolerated when serving. */
static const struct {
	const char *text, *want;
} unknown_names[] = {
	{ ACL("\"laptop\"", "tcp", "\"web:80\",\"dbb:5432\""), "acls[0].dst[1]: unknown alias \"dbb\"" },
	{ ACL("\"tag:nope\"", "tcp", "\"web:80\""), "acls[0].src[0]: unknown tag \"tag:nope\"" },
	{ "{\"tags\":{\"tag:x\":[\"nope\"]},\"acls\":[]}", "tags[\"tag:x\"][0]: unknown alias \"nope\"" },
	{ "{\"groups\":{\"group:g\":[\"laptop\",\"tag:zz\"]},\"acls\":[]}", "groups[\"group:g\"][1]: unknown tag \"tag:zz\"" },
	{ "{\"hosts\":{\"web\":\"10.0.0.1\"},\"acls\":[]}", "hosts[\"web\"]: \"web\" is also a node's name" },
	{ WITH_TESTS("{\"src\":\"lapto\",\"accept\":[\"web:80\"]}"), "tests[0].src: unknown alias \"lapto\"" },
	{ WITH_TESTS("{\"src\":\"laptop\",\"accept\":[\"web:80\"],\"deny\":[\"tag:x:22\"]}"), "tests[0].deny[0]: unknown tag \"tag:x\"" },
};

START_TEST(unknown_name)
{
	char err[ERR_LEN] = "";
	struct wm_policy *p;
	int ret;

	p = load(unknown_names[_i].text, true, err, &ret);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(ret, -EBADMSG);
	ck_assert_msg(strstr(err, unknown_names[_i].want), "said: %s\nwant: %s", err,
		      unknown_names[_i].want);
	/* The same file in force (not strict) compiles: the unknown name matches nothing. */
	p = load(unknown_names[_i].text, false, err, &ret);
	ck_assert_msg(p, "lenient: %s", err);
	wm_policy_free(p);
}
END_TEST

START_TEST(known_tags_and_limits)
{
	const char *text = ACL("\"tag:fromkey\"", "tcp", "\"web:80\"");
	const char *known[] = { "other", "fromkey" };
	char err[ERR_LEN], *big;
	struct wm_policy *p = NULL;
	size_t len = 0;

	/* A tag only an auth key carries (no node joined with it yet) may be used. */
	ck_assert_int_eq(wm_policy_parse(&p, text, strlen(text), err, sizeof(err)), 0);
	ck_assert_int_eq(wm_policy_compile(p, nodes, N_NODES, NULL, 0, NULL, 0, true, err, sizeof(err)),
			 -EBADMSG);
	ck_assert_int_eq(wm_policy_compile(p, nodes, N_NODES, NULL, 0, known, 2, true, err, sizeof(err)), 0);
	wm_policy_free(p);

	/* Over 1 MiB: refused before parsing, with the size. */
	big = malloc(WM_POLICY_FILE_MAX + 2);
	memset(big, ' ', WM_POLICY_FILE_MAX + 1);
	big[WM_POLICY_FILE_MAX + 1] = '\0';
	ck_assert_int_eq(wm_policy_parse(&p, big, WM_POLICY_FILE_MAX + 1, err, sizeof(err)),
			 -EFBIG);
	ck_assert_ptr_nonnull(strstr(err, "at most 1048576"));

	/* 1025 ACLs: over the count. */
	len = (size_t)sprintf(big, "{\"acls\":[");
	for (int i = 0; i <= WM_POLICY_MAX_ACLS; i++)
		len += (size_t)sprintf(big + len, "%s{\"action\":\"accept\",\"src\":[\"*\"],\"dst\":[\"*:*\"]}",
				       i ? "," : "");
	len += (size_t)sprintf(big + len, "]}");
	ck_assert_int_eq(wm_policy_parse(&p, big, len, err, sizeof(err)), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err, "acls: 1025 entries (at most 1024)"));
	free(big);
}
END_TEST

/* --- decisions ---------------------------------------------------------------------------- */

static const char base_policy[] =
	"{\"hosts\": {\"office\": \"10.0.0.0/8\", \"one\": \"100.64.0.3\"},"
	" \"tags\": {\"tag:db\": [\"db\"], \"tag:spare\": []},"
	" \"groups\": {\"group:eng\": [\"laptop\", \"tag:ci\"]},"
	" \"acls\": ["
	"  {\"action\": \"accept\", \"src\": [\"laptop\"], \"proto\": \"tcp\", \"dst\": [\"tag:web:80\"]},"
	"  {\"action\": \"accept\", \"src\": [\"tag:web\"], \"proto\": \"tcp\", \"dst\": [\"tag:db:5432\"]},"
	"  {\"action\": \"accept\", \"src\": [\"group:eng\"], \"proto\": \"tcp\", \"dst\": [\"web:8000-8100, 9000\"]},"
	"  {\"action\": \"accept\", \"src\": [\"office\"], \"proto\": \"udp\", \"dst\": [\"db:53\"]},"
	"  {\"action\": \"accept\", \"src\": [\"100.64.0.6\"], \"proto\": \"icmp\", \"dst\": [\"*:*\"]},"
	"  {\"action\": \"accept\", \"src\": [\"fd77:6d65:7368::6440:4/128\"], \"dst\": [\"printer:*\"]},"
	"  {\"action\": \"accept\", \"src\": [\"*\"], \"proto\": \"udp\", \"dst\": [\"printer:631,9100-9102,9101-9200\"]},"
	"  {\"action\": \"accept\", \"src\": [\"laptop\"], \"proto\": \"tcp\", \"dst\": [\"fd77:6d65:7368::6440:2/127:22\", \"[100.64.0.5]:23\"]}"
	" ]}";

static const struct {
	const char *src, *dst;
	enum wm_policy_proto proto;
	int acl;		/* the deciding ACL, -1: denied */
} decisions[] = {
	{ "laptop", "web:80", WM_POLICY_TCP, 0 },		/* node → tag (auth key "web") */
	{ "laptop", "web:81", WM_POLICY_TCP, -1 },
	{ "laptop", "web:79", WM_POLICY_TCP, -1 },
	{ "laptop", "web:80", WM_POLICY_UDP, -1 },		/* protocol must match */
	{ "laptop", "db:5432", WM_POLICY_TCP, -1 },
	{ "web", "db:5432", WM_POLICY_TCP, 1 },			/* tag → tag ("tags" section) */
	{ "100.64.0.1", "db:5432", WM_POLICY_TCP, 1 },		/* an address as the source */
	{ "fd77:6d65:7368::6440:1", "db:5432", WM_POLICY_TCP, 1 },
	{ "web", "db:5433", WM_POLICY_TCP, -1 },
	{ "db", "web:5432", WM_POLICY_TCP, -1 },		/* one direction only */
	{ "ci1", "web:8000", WM_POLICY_TCP, 2 },		/* group → its tag ("tag:ci") */
	{ "ci2", "web:8100", WM_POLICY_TCP, 2 },		/* stored as "ci": the same tag */
	{ "ci2", "web:8101", WM_POLICY_TCP, -1 },
	{ "laptop", "web:9000", WM_POLICY_TCP, 2 },		/* group → its node; a list */
	{ "laptop", "web:8999", WM_POLICY_TCP, -1 },
	{ "db", "web:8000", WM_POLICY_TCP, -1 },
	{ "tag:ci", "web:8050", WM_POLICY_TCP, 2 },
	{ "group:eng", "web:9000", WM_POLICY_TCP, 2 },
	{ "one", "web:80", WM_POLICY_TCP, 0 },			/* a host is its address */
	{ "10.1.2.3", "db:53", WM_POLICY_UDP, 3 },		/* a host prefix as the source */
	{ "10.1.2.3", "db:53", WM_POLICY_TCP, -1 },
	{ "11.0.0.1", "db:53", WM_POLICY_UDP, -1 },
	{ "10.1.2.3", "100.64.0.2:53", WM_POLICY_UDP, 3 },	/* a node's address as the dst */
	{ "printer", "laptop", WM_POLICY_ICMP, 4 },		/* icmp: no port */
	{ "printer", "tag:web", WM_POLICY_ICMP, 4 },
	{ "laptop", "printer", WM_POLICY_ICMP, -1 },
	{ "printer", "laptop:22", WM_POLICY_TCP, -1 },
	{ "fd77:6d65:7368::6440:4", "printer:22", WM_POLICY_TCP, 5 },	/* proto "*" */
	{ "fd77:6d65:7368::6440:4", "printer:53", WM_POLICY_UDP, 5 },
	{ "fd77:6d65:7368::6440:4", "printer", WM_POLICY_ICMP, 5 },	/* the first ACL */
	{ "100.64.0.4", "printer:22", WM_POLICY_TCP, -1 },	/* the v6 prefix only */
	{ "laptop", "printer:631", WM_POLICY_UDP, 6 },		/* "*" as the source */
	{ "10.9.9.9", "printer:9150", WM_POLICY_UDP, 6 },	/* overlapping ranges merged */
	{ "laptop", "printer:9200", WM_POLICY_UDP, 6 },
	{ "laptop", "printer:9201", WM_POLICY_UDP, -1 },
	{ "laptop", "printer:632", WM_POLICY_UDP, -1 },
	{ "laptop", "db:22", WM_POLICY_TCP, 7 },		/* dst prefix names db (…:2/127) */
	{ "web", "laptop:22", WM_POLICY_TCP, -1 },		/* …:3 (laptop) in it, web not src */
	{ "laptop", "ci1:22", WM_POLICY_TCP, -1 },
	{ "laptop", "web:22", WM_POLICY_TCP, -1 },		/* …:1 is outside the /127 */
	{ "laptop", "ci2:23", WM_POLICY_TCP, 7 },		/* [v4]:port */
};

/* The ACL in the first line of explain's answer, -1 for "denied". */
static int decide(struct wm_policy *p, const char *src, const char *dst,
		  enum wm_policy_proto proto)
{
	char err[ERR_LEN] = "", *out = NULL, *at;
	int acl = -1;

	ck_assert_msg(wm_policy_explain(p, src, dst, proto, &out, err, sizeof(err)) == 0,
		      "explain %s %s: %s", src, dst, err);
	at = strstr(out, "allowed by acls[");
	if (at && at < strchr(out, '\n'))
		acl = atoi(at + 16);
	else
		ck_assert_msg(strstr(out, "denied: no ACL allows it"), "%s", out);
	free(out);
	return acl;
}

/* A node of an auth key with several tags (--tags tag:ci,server) is every one of them; a known
 * tag list of an unused key makes each of its tags usable. */
START_TEST(several_tags)
{
	struct wm_store_node mine[3] = { mk(1, "runner", "tag:ci,server"), mk(2, "db", "db"),
					 mk(3, "laptop", "") };
	const char *text = "{\"acls\":["
		"{\"action\":\"accept\",\"src\":[\"tag:ci\"],\"proto\":\"tcp\",\"dst\":[\"tag:db:5432\"]},"
		"{\"action\":\"accept\",\"src\":[\"laptop\"],\"proto\":\"tcp\",\"dst\":[\"tag:server:22\"]},"
		"{\"action\":\"accept\",\"src\":[\"tag:later\"],\"proto\":\"tcp\",\"dst\":[\"db:1\"]}]}";
	const char *known[] = { "tag:soon,tag:later" };
	char err[ERR_LEN] = "";
	struct wm_policy *p = NULL;

	ck_assert_int_eq(wm_policy_parse(&p, text, strlen(text), err, sizeof(err)), 0);
	ck_assert_int_eq(wm_policy_compile(p, mine, 3, NULL, 0, NULL, 0, true, err, sizeof(err)),
			 -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err, "unknown tag \"tag:later\""));
	ck_assert_int_eq(wm_policy_compile(p, mine, 3, NULL, 0, known, 1, true, err, sizeof(err)), 0);
	ck_assert_int_eq(decide(p, "runner", "db:5432", WM_POLICY_TCP), 0);	/* as tag:ci */
	ck_assert_int_eq(decide(p, "laptop", "runner:22", WM_POLICY_TCP), 1);	/* as tag:server */
	ck_assert_int_eq(decide(p, "laptop", "db:5432", WM_POLICY_TCP), -1);
	ck_assert_int_eq(decide(p, "db", "runner:22", WM_POLICY_TCP), -1);
	ck_assert(wm_policy_same_nodes(p, mine, 3, NULL, 0));
	snprintf(mine[0].tag, sizeof(mine[0].tag), "tag:ci");
	ck_assert(!wm_policy_same_nodes(p, mine, 3, NULL, 0));	/* a tag less: recompile */
	wm_policy_free(p);
}
END_TEST

START_TEST(decision)
{
	struct wm_policy *p = load_ok(base_policy);

	ck_assert_int_eq(decide(p, decisions[_i].src, decisions[_i].dst, decisions[_i].proto),
			 decisions[_i].acl);
	wm_policy_free(p);
}
END_TEST

START_TEST(explain_lines_and_errors)
{
	struct wm_policy *p = load_ok(base_policy);
	char err[ERR_LEN], *out;

	/* ci1 reaches printer:22 over IPv6 only: its two addresses get a line each. */
	ck_assert_int_eq(wm_policy_explain(p, "ci1", "printer:22", WM_POLICY_TCP, &out, err,
					   sizeof(err)), 0);
	ck_assert_str_eq(out, "ci1 (100.64.0.4) -> printer:22 (tcp): denied: no ACL allows it\n"
			      "ci1 (fd77:6d65:7368::6440:4) -> printer:22 (tcp): allowed by acls[5]: "
			      "{\"action\":\"accept\",\"src\":[\"fd77:6d65:7368::6440:4/128\"],\"dst\":[\"printer:*\"]}\n");
	free(out);
	/* A tag: one line per node carrying it. */
	ck_assert_int_eq(wm_policy_explain(p, "tag:ci", "web:8000", WM_POLICY_TCP, &out, err,
					   sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(out, "ci1 -> web:8000 (tcp): allowed by acls[2]"));
	ck_assert_ptr_nonnull(strstr(out, "ci2 -> web:8000 (tcp): allowed by acls[2]"));
	free(out);
	ck_assert_int_eq(wm_policy_explain(p, "*", "web:80", WM_POLICY_TCP, &out, err, sizeof(err)),
			 -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err, "SRC: give a node, tag, group or one address"));
	ck_assert_int_eq(wm_policy_explain(p, "office", "web:80", WM_POLICY_TCP, &out, err,
					   sizeof(err)), -EBADMSG);
	ck_assert_int_eq(wm_policy_explain(p, "lapto", "web:80", WM_POLICY_TCP, &out, err,
					   sizeof(err)), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err, "SRC: no node is named \"lapto\""));
	ck_assert_int_eq(wm_policy_explain(p, "laptop", "web:80-81", WM_POLICY_TCP, &out, err,
					   sizeof(err)), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err, "DST: give one port"));
	ck_assert_int_eq(wm_policy_explain(p, "laptop", "web", WM_POLICY_TCP, &out, err,
					   sizeof(err)), -EBADMSG);
	ck_assert_int_eq(wm_policy_explain(p, "laptop", "tag:nothing:80", WM_POLICY_TCP, &out, err,
					   sizeof(err)), -EBADMSG);
	ck_assert_int_eq(wm_policy_explain(p, "web", "web:80", WM_POLICY_TCP, &out, err,
					   sizeof(err)), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err, "the source is the destination"));
	wm_policy_free(p);
}
END_TEST

/* --- the tests section -------------------------------------------------------------------- */

static const struct {
	const char *tests, *want;	/* want NULL: they pass */
} test_sections[] = {
	{ "{\"src\":\"laptop\",\"accept\":[\"web:80\",\"web:8000-8100\"],\"deny\":[\"web:22\",\"db:5432\",\"web:79\"]}", NULL },
	{ "{\"src\":\"tag:ci\",\"accept\":[\"web:9000\",\"tag:web:8000,8050\"]}", NULL },
	{ "{\"src\":\"group:eng\",\"deny\":[\"db:5432\",\"tag:db:5000-6000\"]}", NULL },
	{ "{\"src\":\"10.0.0.9\",\"proto\":\"udp\",\"accept\":[\"db:53\"],\"deny\":[\"db:54\"]}", NULL },
	{ "{\"src\":\"100.64.0.6\",\"proto\":\"icmp\",\"accept\":[\"laptop\",\"tag:web\",\"db:*\"]}", NULL },
	{ "{\"src\":\"printer\",\"proto\":\"icmp\",\"accept\":[\"laptop\"]}",
	  "no ACL allows it (fd77:6d65:7368::6440:6 to laptop)" },	/* ACL 4 names the v4 only */
	{ "{\"src\":\"laptop\",\"proto\":\"udp\",\"accept\":[\"printer:9100-9200,631\"]}", NULL },
	{ "{\"src\":\"laptop\",\"accept\":[\"web:81\"]}",
	  "tests[0].accept[0]: expected \"web:81\" (tcp) to be accepted from \"laptop\", but no ACL allows it (100.64.0.3 to web, port 81)" },
	{ "{\"src\":\"laptop\",\"accept\":[\"web:8000-8101\"]}", "but no ACL allows it (100.64.0.3 to web, port 8101)" },
	{ "{\"src\":\"laptop\",\"deny\":[\"web:22\",\"web:79-81\"]}",
	  "tests[0].deny[1]: expected \"web:79-81\" (tcp) to be denied from \"laptop\", but acls[0] allows it (100.64.0.3 to web, port 80)" },
	{ "{\"src\":\"ci1\",\"accept\":[\"printer:22\"]}", "(100.64.0.4 to printer, port 22)" },
	{ "{\"src\":\"laptop\",\"proto\":\"icmp\",\"accept\":[\"printer\"]}",
	  "tests[0].accept[0]: expected \"printer\" (icmp) to be accepted from \"laptop\", but no ACL allows it (100.64.0.3 to printer)" },
	{ "{\"src\":\"tag:spare\",\"accept\":[\"web:80\"]}", "tests[0].src: \"tag:spare\" is no node" },
	{ "{\"src\":\"laptop\",\"accept\":[\"office:80\"]}", "tests[0].accept[0]: \"office\" is no node" },
	{ "{\"src\":\"laptop\",\"accept\":[\"webb:80\"]}", "tests[0].accept[0]: unknown alias \"webb\"" },
	{ "{\"src\":\"web\",\"accept\":[\"web:80\"]}", "tests[0].accept[0]: the source is the destination itself" },
	{ "{\"src\":\"laptop\",\"accept\":[\"web:80\"]},{\"src\":\"db\",\"accept\":[\"web:80\"]}",
	  "tests[1].accept[0]: expected \"web:80\" (tcp) to be accepted from \"db\"" },
};

START_TEST(tests_section)
{
	char text[4096], err[ERR_LEN] = "";
	struct wm_policy *p;
	int ret;

	/* base_policy with a tests section before its closing brace. */
	snprintf(text, sizeof(text), "%.*s,\"tests\":[%s]}", (int)strlen(base_policy) - 1,
		 base_policy, test_sections[_i].tests);
	p = load(text, true, err, &ret);
	if (p)
		ret = wm_policy_run_tests(p, err, sizeof(err));
	if (!test_sections[_i].want)
		ck_assert_msg(ret == 0, "%s", err);
	else
		ck_assert_msg(ret == -EBADMSG && strstr(err, test_sections[_i].want),
			      "said: %s\nwant: %s", err, test_sections[_i].want);
	wm_policy_free(p);
}
END_TEST

/* --- what nodes get ----------------------------------------------------------------------- */

static uint64_t visible(struct wm_policy *p, size_t node)
{
	uint64_t bits[2] = { 0, 0 };

	wm_policy_visible(p, node, bits, 2);
	ck_assert_uint_eq(bits[1], 0);
	return bits[0];
}

START_TEST(visibility)
{
	/* web db laptop ci1 ci2 printer = bits 0..5 */
	static const uint64_t want[N_NODES] = { 0x3e, 0x25, 0x33, 0x21, 0x25, 0x1f };
	struct wm_policy *p = load_ok(base_policy);

	for (size_t i = 0; i < N_NODES; i++)
		ck_assert_msg(visible(p, i) == want[i], "node %zu sees %#llx, want %#llx", i,
			      (unsigned long long)visible(p, i), (unsigned long long)want[i]);
	wm_policy_free(p);
	/* An empty ACL list: nothing allowed, nobody seen. */
	p = load_ok("{\"acls\":[]}");
	for (size_t i = 0; i < N_NODES; i++)
		ck_assert_uint_eq(visible(p, i), 0);
	wm_policy_free(p);
	/* Everyone to everyone: all but self. */
	p = load_ok("{\"acls\":[{\"action\":\"accept\",\"src\":[\"*\"],\"dst\":[\"*:*\"]}]}");
	for (size_t i = 0; i < N_NODES; i++)
		ck_assert_uint_eq(visible(p, i), 0x3f & ~(UINT64_C(1) << i));
	wm_policy_free(p);
	/* A host outside the mesh as the source makes nobody visible. */
	p = load_ok("{\"hosts\":{\"office\":\"10.0.0.0/8\"},"
		    "\"acls\":[{\"action\":\"accept\",\"src\":[\"office\"],\"dst\":[\"*:*\"]}]}");
	for (size_t i = 0; i < N_NODES; i++)
		ck_assert_uint_eq(visible(p, i), 0);
	wm_policy_free(p);
}
END_TEST

static char *filter_of(struct wm_policy *p, size_t node)
{
	bool truncated = true;
	size_t len = 0;
	char *text = wm_policy_filter(p, node, &len, &truncated);

	ck_assert_ptr_nonnull(text);
	ck_assert(!truncated);
	ck_assert_uint_eq(strlen(text), len);
	return text;
}

/* The worked example of docs/policy.md, byte for byte. */
/* --- destinations behind routers and exit nodes ------------------------------------------ */

static struct wm_filter *served_filter(const struct wm_policy *p, size_t i, char **text);

static struct wm_store_route rt(int64_t node, const char *prefix, bool approved)
{
	struct wm_store_route r = { .node_id = node, .advertised = true, .approved = approved };

	ck_assert(wm_netmap_prefix_parse(&r.prefix, prefix));
	return r;
}

static bool routed_allows(const struct wm_filter *f, int family, const char *src, const char *dst,
			  uint8_t proto, uint16_t port)
{
	uint8_t a[16], d[16];

	ck_assert(inet_pton(family, src, a) == 1 && inet_pton(family, dst, d) == 1);
	return wm_filter_allows(f, family, a, d, proto, port);
}

/* gw (100.64.0.1) routes 192.168.50.0/24, ex (.2) is an exit node, laptop .3, phone .4; an
 * unapproved route of laptop's counts for nothing. */
START_TEST(routed_destinations)
{
	static const char text[] =
		"{\"acls\": ["
		" {\"action\": \"accept\", \"src\": [\"laptop\"], \"proto\": \"tcp\", \"dst\": [\"gw:22\"]},"
		" {\"action\": \"accept\", \"src\": [\"laptop\"], \"proto\": \"tcp\", \"dst\": [\"192.168.50.0/25:80\"]},"
		" {\"action\": \"accept\", \"src\": [\"phone\"], \"dst\": [\"autogroup:internet:*\"]},"
		" {\"action\": \"accept\", \"src\": [\"laptop\"], \"proto\": \"udp\", \"dst\": [\"10.9.0.0/16:53\"]}],"
		" \"tests\": ["
		"  {\"src\": \"laptop\", \"accept\": [\"192.168.50.10:80\", \"gw:22\"],"
		"   \"deny\": [\"192.168.50.200:80\", \"192.168.50.10:22\", \"198.51.100.1:80\"]},"
		"  {\"src\": \"phone\", \"accept\": [\"198.51.100.1:443\"], \"deny\": [\"192.168.50.10:80\", \"ex:22\"]}]}";
	struct wm_store_node ns[4] = { mk(1, "gw", ""), mk(2, "ex", ""), mk(3, "laptop", ""),
				       mk(4, "phone", "") };
	struct wm_store_route routes[4] = { rt(1, "192.168.50.0/24", true), rt(2, "0.0.0.0/0", true),
					    rt(2, "::/0", true), rt(3, "10.9.0.0/16", false) };
	struct wm_policy *p = NULL;
	struct wm_filter *gw, *ex, *laptop;
	char err[ERR_LEN] = "", *t;
	uint64_t bits;

	ck_assert_int_eq(wm_policy_parse(&p, text, strlen(text), err, sizeof(err)), 0);
	ck_assert_msg(wm_policy_compile(p, ns, 4, routes, 4, NULL, 0, true, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_msg(wm_policy_run_tests(p, err, sizeof(err)) == 0, "%s", err);
	gw = served_filter(p, 0, &t);
	ck_assert_msg(strstr(t, "\"dst\":[\"192.168.50.0/25\"]"), "%s", t);	/* the narrower */
	free(t);
	ex = served_filter(p, 1, &t);
	free(t);
	laptop = served_filter(p, 2, &t);
	ck_assert_str_eq(t, "{\"rules\":[],\"reach\":{\"1\":[{\"proto\":\"tcp\",\"ports\":[[22,22]],\"acl\":0}]}}");
	free(t);

	/* The router: its own port 22, and port 80 on the lower half of its LAN only. */
	ck_assert(routed_allows(gw, AF_INET, "100.64.0.3", "100.64.0.1", 6, 22));
	ck_assert(routed_allows(gw, AF_INET, "100.64.0.3", "192.168.50.10", 6, 80));
	ck_assert(!routed_allows(gw, AF_INET, "100.64.0.3", "192.168.50.10", 6, 22));
	ck_assert(!routed_allows(gw, AF_INET, "100.64.0.3", "192.168.50.200", 6, 80));
	ck_assert(!routed_allows(gw, AF_INET, "100.64.0.3", "100.64.0.1", 6, 80));
	ck_assert(!routed_allows(gw, AF_INET, "100.64.0.4", "192.168.50.10", 6, 80));
	/* The exit node: public addresses for phone, not its own address nor private ones. */
	ck_assert(routed_allows(ex, AF_INET, "100.64.0.4", "9.9.9.9", 6, 443));
	ck_assert(routed_allows(ex, AF_INET, "100.64.0.4", "198.51.100.1", 17, 53));
	ck_assert(routed_allows(ex, AF_INET6, "fd77:6d65:7368::6440:4", "2001:db8::1", 6, 443));
	ck_assert(!routed_allows(ex, AF_INET, "100.64.0.4", "100.64.0.2", 6, 22));
	ck_assert(!routed_allows(ex, AF_INET, "100.64.0.4", "10.1.2.3", 6, 443));
	ck_assert(!routed_allows(ex, AF_INET, "100.64.0.4", "192.168.1.1", 6, 443));
	ck_assert(!routed_allows(ex, AF_INET, "100.64.0.4", "127.0.0.1", 6, 443));
	ck_assert(!routed_allows(ex, AF_INET, "100.64.0.4", "224.0.0.1", 17, 443));
	ck_assert(!routed_allows(ex, AF_INET6, "fd77:6d65:7368::6440:4", "fd77:6d65:7368::6440:2", 6, 22));
	ck_assert(!routed_allows(ex, AF_INET, "100.64.0.3", "9.9.9.9", 6, 443));
	/* Peers: laptop sees gw only, phone ex only; the unapproved route makes laptop nothing. */
	wm_policy_visible(p, 2, &bits, 1);
	ck_assert_uint_eq(bits, 0x1);
	wm_policy_visible(p, 3, &bits, 1);
	ck_assert_uint_eq(bits, 0x2);
	/* explain names the router an address behind it is reached through. */
	ck_assert_int_eq(wm_policy_explain(p, "laptop", "192.168.50.10:80", WM_POLICY_TCP, &t, err,
					   sizeof(err)), 0);
	ck_assert_msg(strstr(t, "laptop (100.64.0.3) -> 192.168.50.10:80 via gw (tcp): allowed by acls[1]"),
		      "%s", t);
	free(t);
	ck_assert_int_eq(wm_policy_explain(p, "phone", "192.168.50.10:80", WM_POLICY_TCP, &t, err,
					   sizeof(err)), 0);
	ck_assert_msg(strstr(t, "-> 192.168.50.10:80 via gw (tcp): denied"), "%s", t);
	free(t);
	ck_assert(wm_policy_same_nodes(p, ns, 4, routes, 4));
	routes[0].approved = false;
	ck_assert(!wm_policy_same_nodes(p, ns, 4, routes, 4));
	wm_filter_free(gw);
	wm_filter_free(ex);
	wm_filter_free(laptop);
	wm_policy_free(p);
}
END_TEST

static void expect_refused(const char *text, const char *want)
{
	struct wm_policy *p = NULL;
	char err[ERR_LEN] = "";
	int ret = wm_policy_parse(&p, text, strlen(text), err, sizeof(err));

	wm_policy_free(p);
	ck_assert_msg(ret == -EBADMSG, "accepted: %s", text);
	ck_assert_msg(strstr(err, want), "error \"%s\" does not say \"%s\"", err, want);
}

START_TEST(routed_refusals)
{
	expect_refused("{\"acls\": [{\"action\": \"accept\", \"src\": [\"autogroup:internet\"], \"dst\": [\"*:*\"]}]}",
		       "acls[0].src[0]: autogroup:internet is a destination only");
	expect_refused("{\"acls\": [{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"autogroup:lan:*\"]}]}",
		       "unknown autogroup \"autogroup:lan\"");
	expect_refused("{\"acls\": [], \"autoApprovers\": {\"routes\": {\"0.0.0.0/0\": [\"gw\"]}}}",
		       "a default route is an exit node");
	expect_refused("{\"acls\": [], \"autoApprovers\": {\"routes\": {\"192.168.1.1/24\": [\"gw\"]}}}",
		       "autoApprovers.routes[\"192.168.1.1/24\"]: has bits set");
	expect_refused("{\"acls\": [], \"autoApprovers\": {\"routes\": {\"100.64.1.0/24\": [\"gw\"]}}}",
		       "autoApprovers.routes[\"100.64.1.0/24\"]: ");
	expect_refused("{\"acls\": [], \"autoApprovers\": {\"routes\": {\"10.0.0.0/8\": [\"10.1.0.0/16\"]}}}",
		       "is not a node name, tag or group");
	expect_refused("{\"acls\": [], \"autoApprovers\": {\"exitNode\": []}}",
		       "autoApprovers.exitNode: must be a non-empty list");
	expect_refused("{\"acls\": [], \"autoApprovers\": {\"exitnode\": [\"gw\"]}}",
		       "autoApprovers: unknown key \"exitnode\"");
	expect_refused("{\"acls\": [], \"tests\": [{\"src\": \"autogroup:internet\", \"accept\": [\"gw:22\"]}]}",
		       "cannot be a test's source");
}
END_TEST

START_TEST(auto_approvers)
{
	static const char text[] =
		"{\"acls\": [], \"groups\": {\"group:ops\": [\"tag:router\"]},"
		" \"autoApprovers\": {\"routes\": {\"192.168.0.0/16\": [\"gw\"], \"10.0.0.0/8\": [\"group:ops\"]},"
		" \"exitNode\": [\"ex\"]}}";
	struct wm_store_node ns[3] = { mk(1, "gw", ""), mk(2, "ex", ""), mk(3, "r2", "router") };
	struct wm_netmap_prefix lan, wide, ten, def4, def6;
	struct wm_policy *p = NULL;
	char err[ERR_LEN] = "";

	ck_assert(wm_netmap_prefix_parse(&lan, "192.168.50.0/24"));
	ck_assert(wm_netmap_prefix_parse(&wide, "192.0.0.0/8"));
	ck_assert(wm_netmap_prefix_parse(&ten, "10.20.0.0/16"));
	ck_assert(wm_netmap_prefix_parse(&def4, "0.0.0.0/0"));
	ck_assert(wm_netmap_prefix_parse(&def6, "::/0"));
	ck_assert_int_eq(wm_policy_parse(&p, text, strlen(text), err, sizeof(err)), 0);
	ck_assert(!wm_policy_auto_approves(p, 0, &lan));	/* not compiled yet */
	ck_assert_msg(wm_policy_compile(p, ns, 3, NULL, 0, NULL, 0, true, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert(wm_policy_auto_approves(p, 0, &lan));
	ck_assert(!wm_policy_auto_approves(p, 0, &wide));	/* wider than the entry */
	ck_assert(!wm_policy_auto_approves(p, 0, &ten));
	ck_assert(!wm_policy_auto_approves(p, 0, &def4));
	ck_assert(wm_policy_auto_approves(p, 1, &def4));
	ck_assert(wm_policy_auto_approves(p, 1, &def6));
	ck_assert(!wm_policy_auto_approves(p, 1, &lan));
	ck_assert(wm_policy_auto_approves(p, 2, &ten));	/* through its tag's group */
	ck_assert(!wm_policy_auto_approves(p, 2, &lan));
	ck_assert(!wm_policy_auto_approves(p, 7, &lan));
	wm_policy_free(p);
	/* A name that is no node is an error when checked, nothing when served. */
	p = NULL;
	ck_assert_int_eq(wm_policy_parse(&p, text, strlen(text), err, sizeof(err)), 0);
	ck_assert_int_eq(wm_policy_compile(p, ns + 1, 2, NULL, 0, NULL, 0, true, err, sizeof(err)),
			 -EBADMSG);
	ck_assert_msg(strstr(err, "autoApprovers.routes[0]"), "%s", err);
	ck_assert_int_eq(wm_policy_compile(p, ns + 1, 2, NULL, 0, NULL, 0, false, err, sizeof(err)), 0);
	wm_policy_free(p);
}
END_TEST

START_TEST(example_filters)
{
	static const char example[] =
		"{\"tags\": {\"tag:db\": [\"db\"]},"
		" \"groups\": {\"group:admins\": [\"laptop\"]},"
		" \"acls\": ["
		"  {\"action\": \"accept\", \"src\": [\"group:admins\"], \"proto\": \"tcp\", \"dst\": [\"tag:web:80\"]},"
		"  {\"action\": \"accept\", \"src\": [\"tag:web\"], \"proto\": \"tcp\", \"dst\": [\"tag:db:5432\"]}],"
		" \"tests\": ["
		"  {\"src\": \"laptop\", \"accept\": [\"web:80\"], \"deny\": [\"web:22\", \"db:5432\"]},"
		"  {\"src\": \"web\", \"accept\": [\"db:5432\"], \"deny\": [\"db:22\", \"laptop:22\"]},"
		"  {\"src\": \"db\", \"deny\": [\"web:80\", \"laptop:22\"]}]}";
	static const char *const want[3] = {
		"{\"rules\":[{\"src\":[\"100.64.0.2/32\",\"fd77:6d65:7368::6440:2/128\"],\"dst\":[\"100.64.0.1/32\",\"fd77:6d65:7368::6440:1/128\"],\"proto\":\"tcp\",\"ports\":[[5432,5432]],\"acl\":1}],\"reach\":{}}",
		"{\"rules\":[{\"src\":[\"100.64.0.3/32\",\"fd77:6d65:7368::6440:3/128\"],\"dst\":[\"100.64.0.2/32\",\"fd77:6d65:7368::6440:2/128\"],\"proto\":\"tcp\",\"ports\":[[80,80]],\"acl\":0}],\"reach\":{\"1\":[{\"proto\":\"tcp\",\"ports\":[[5432,5432]],\"acl\":1}]}}",
		"{\"rules\":[],\"reach\":{\"2\":[{\"proto\":\"tcp\",\"ports\":[[80,80]],\"acl\":0}]}}",
	};
	struct wm_store_node ex[3] = { mk(1, "db", ""), mk(2, "web", "web"), mk(3, "laptop", "") };
	struct wm_policy *p = NULL;
	char err[ERR_LEN];

	ck_assert_int_eq(wm_policy_parse(&p, example, strlen(example), err, sizeof(err)), 0);
	ck_assert_msg(wm_policy_compile(p, ex, 3, NULL, 0, NULL, 0, true, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(wm_policy_run_tests(p, err, sizeof(err)) == 0, "%s", err);
	for (size_t i = 0; i < 3; i++) {
		char *text = filter_of(p, i);
		uint64_t bits = 0;

		ck_assert_str_eq(text, want[i]);
		free(text);
		wm_policy_visible(p, i, &bits, 1);
		ck_assert_uint_eq(bits, i == 1 ? 0x5 : 0x2);	/* web sees both; they see web */
	}
	ck_assert(wm_policy_same_nodes(p, ex, 3, NULL, 0));
	snprintf(ex[2].name, sizeof(ex[2].name), "laptop-2");
	ck_assert(!wm_policy_same_nodes(p, ex, 3, NULL, 0));
	wm_policy_free(p);
}
END_TEST

START_TEST(prefixes_aggregated)
{
	struct wm_policy *p = load_ok(
		"{\"hosts\":{\"one\":\"100.64.0.3\"},\"groups\":{\"group:pair\":[\"db\",\"laptop\"]},"
		"\"acls\":[{\"action\":\"accept\",\"src\":[\"group:pair\",\"laptop\",\"one\"],\"proto\":\"udp\",\"dst\":[\"web:53,53,52-53\"]},"
		"{\"action\":\"accept\",\"src\":[\"web\",\"db\",\"laptop\",\"ci1\",\"*\"],\"proto\":\"icmp\",\"dst\":[\"printer:*\"]},"
		"{\"action\":\"accept\",\"src\":[\"web\",\"db\",\"laptop\",\"ci1\"],\"proto\":\"*\",\"dst\":[\"printer:*\"]}]}");
	char *text = filter_of(p, 0);

	/* .2 and .3: one /31 (and /127); the duplicates gone; ports merged. */
	ck_assert_str_eq(text, "{\"rules\":[{\"src\":[\"100.64.0.2/31\",\"fd77:6d65:7368::6440:2/127\"],\"dst\":[\"100.64.0.1/32\",\"fd77:6d65:7368::6440:1/128\"],\"proto\":\"udp\",\"ports\":[[52,53]],\"acl\":0}],\"reach\":{\"6\":[{\"proto\":\"icmp\",\"ports\":[],\"acl\":1},{\"proto\":\"*\",\"ports\":[],\"acl\":2}]}}");
	free(text);
	/* "*" covers the rest; .1-.4 is .1/32 .2/31 .4/32. */
	text = filter_of(p, 5);
	ck_assert_str_eq(text, "{\"rules\":[{\"src\":[\"0.0.0.0/0\",\"::/0\"],\"dst\":[\"100.64.0.6/32\",\"fd77:6d65:7368::6440:6/128\"],\"proto\":\"icmp\",\"ports\":[],\"acl\":1},"
			       "{\"src\":[\"100.64.0.1/32\",\"100.64.0.2/31\",\"100.64.0.4/32\",\"fd77:6d65:7368::6440:1/128\",\"fd77:6d65:7368::6440:2/127\",\"fd77:6d65:7368::6440:4/128\"],\"dst\":[\"100.64.0.6/32\",\"fd77:6d65:7368::6440:6/128\"],\"proto\":\"*\",\"ports\":[],\"acl\":2}],\"reach\":{}}");
	free(text);
	wm_policy_free(p);
}
END_TEST

/* n nodes at every other address (so nothing aggregates), all in "group:many". */
static struct wm_store_node *spread_nodes(size_t n)
{
	struct wm_store_node *v = calloc(n, sizeof(*v));
	char name[16];

	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "n%zu", i);
		v[i] = mk((int)(2 * i + 1), name, "many");
	}
	return v;
}

START_TEST(rules_split_at_bounds)
{
	struct wm_store_node *v = spread_nodes(70);
	char text[2048], err[ERR_LEN], *filter;
	struct wm_policy *p = NULL;
	size_t len = 0, n_rules = 0;
	bool truncated;
	json_t *o, *rules;

	/* 140 source prefixes and 66 port ranges: 3 × 2 rules, none over 64 of either. */
	len = (size_t)sprintf(text, "{\"acls\":[{\"action\":\"accept\",\"src\":[\"tag:many\"],\"proto\":\"tcp\",\"dst\":[");
	for (int e = 0; e < 2; e++) {
		len += (size_t)sprintf(text + len, "%s\"n0:", e ? "," : "");
		for (int k = 0; k < 33; k++)
			len += (size_t)sprintf(text + len, "%s%d", k ? "," : "", 1000 * e + 2 * k + 1);
		len += (size_t)sprintf(text + len, "\"");
	}
	len += (size_t)sprintf(text + len, "]}]}");
	ck_assert_int_eq(wm_policy_parse(&p, text, len, err, sizeof(err)), 0);
	ck_assert_msg(wm_policy_compile(p, v, 70, NULL, 0, NULL, 0, true, err, sizeof(err)) == 0, "%s", err);
	filter = wm_policy_filter(p, 0, &len, &truncated);
	ck_assert(!truncated);
	o = json_loads(filter, 0, NULL);
	ck_assert_ptr_nonnull(o);
	rules = json_object_get(o, "rules");
	n_rules = json_array_size(rules);
	ck_assert_uint_eq(n_rules, 6);
	for (size_t i = 0; i < n_rules; i++) {
		json_t *r = json_array_get(rules, i);

		ck_assert_uint_le(json_array_size(json_object_get(r, "src")), WM_POLICY_RULE_SRC_MAX);
		ck_assert_uint_le(json_array_size(json_object_get(r, "ports")), WM_POLICY_RULE_PORTS_MAX);
	}
	json_decref(o);
	free(filter);
	wm_policy_free(p);
	free(v);
}
END_TEST

START_TEST(filter_over_bounds)
{
	struct wm_store_node *v = spread_nodes(200);
	size_t cap = 600000, len = 0, flen;
	char *text = malloc(cap), err[ERR_LEN], *filter;
	struct wm_policy *p = NULL;
	bool truncated = false;
	json_t *o;

	/* 400 ACLs × 400 source prefixes each would be ~6 MiB of filter on n0. */
	len = (size_t)sprintf(text, "{\"acls\":[");
	for (int i = 0; i < 400; i++)
		len += (size_t)sprintf(text + len, "%s{\"action\":\"accept\",\"src\":[\"tag:many\"],\"proto\":\"tcp\",\"dst\":[\"n0:%d\"]}",
				       i ? "," : "", i);
	len += (size_t)sprintf(text + len, "]}");
	ck_assert_int_eq(wm_policy_parse(&p, text, len, err, sizeof(err)), 0);
	/* Strict (policy set): refused, naming the node. */
	ck_assert_int_eq(wm_policy_compile(p, v, 200, NULL, 0, NULL, 0, true, err, sizeof(err)), -EBADMSG);
	ck_assert_msg(strstr(err, "node \"n0\": its filter would be over the bounds"), "%s", err);
	/* In force (serving): cut short, still valid JSON, within the node's limit. */
	ck_assert_int_eq(wm_policy_compile(p, v, 200, NULL, 0, NULL, 0, false, err, sizeof(err)), 0);
	filter = wm_policy_filter(p, 0, &flen, &truncated);
	ck_assert(truncated);
	ck_assert_uint_le(flen, WM_PACKET_FILTER_MAX);
	o = json_loads(filter, 0, NULL);
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_gt(json_array_size(json_object_get(o, "rules")), 0);
	json_decref(o);
	free(filter);
	wm_policy_free(p);
	free(text);
	free(v);
}
END_TEST

/*
 * Mutations of a good file (fixed seed). Whatever they make, parse refuses it naming the place or
 * accepts it; what it accepts compiles as served, and when checked compiles or is refused naming
 * the place; the same text compiles to the same filters again; every filter is one the node's
 * parser takes, agrees with `policy explain` on laptop -> web:80 and with visibility; what each
 * node sees never includes itself and goes both ways. Leaks show in the sanitizer run.
 */

/* An error names where the problem is: a line and column, a section's entry, or the top level. */
static bool names_place(const char *err)
{
	static const char *const sections[] = { "acls", "tests", "groups", "tags", "hosts" };
	static const char *const whole[] = {
		"unknown top-level key", "missing \"acls\"", "the policy must be a JSON object",
		"node \"",
	};
	unsigned line, column;

	if (sscanf(err, "line %u, column %u: ", &line, &column) == 2)
		return true;
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		size_t n = strlen(sections[i]);

		if (!strncmp(err, sections[i], n) && err[n] && strchr("[.:", err[n]))
			return true;
	}
	for (size_t i = 0; i < sizeof(whole) / sizeof(whole[0]); i++)
		if (!strncmp(err, whole[i], strlen(whole[i])))
			return true;
	return false;
}

/* Node i's filter from p, parsed by the node's own parser (filter/filter.h). */
static struct wm_filter *served_filter(const struct wm_policy *p, size_t i, char **text)
{
	struct wm_filter *f = NULL;
	char err[256] = "";
	bool truncated;
	size_t len;

	*text = wm_policy_filter(p, i, &len, &truncated);
	ck_assert_ptr_nonnull(*text);
	ck_assert_uint_eq(len, strlen(*text));
	ck_assert_uint_le(len, WM_PACKET_FILTER_MAX);
	ck_assert_msg(wm_filter_parse(&f, *text, len, err, sizeof(err)) == 0,
		      "node %zu's filter is refused by the node: %s\n%s", i, err, *text);
	ck_assert_ptr_nonnull(f);
	return f;
}

/* Whether f (the filter of node to) lets from reach to's own address in family. */
static bool node_allows(const struct wm_filter *f, const struct wm_store_node *from,
			const struct wm_store_node *to, int family, uint8_t proto, uint16_t port)
{
	struct in_addr a4 = { .s_addr = htonl(from->ipv4) }, b4 = { .s_addr = htonl(to->ipv4) };
	struct in6_addr a6, b6;

	wm_coord_ipv6_for(&a6, a4);
	wm_coord_ipv6_for(&b6, b4);
	return family == AF_INET
		       ? wm_filter_allows(f, AF_INET, (const uint8_t *)&a4, (const uint8_t *)&b4,
					  proto, port)
		       : wm_filter_allows(f, AF_INET6, a6.s6_addr, b6.s6_addr, proto, port);
}

/* The served policy's invariants (p compiled against nodes); the filters' texts into texts. */
static void check_served(const struct wm_policy *p, const char *file, char *texts[N_NODES])
{
	const size_t laptop = 2, web = 0;
	uint64_t vis[N_NODES];
	char err[ERR_LEN], *out;
	bool v4 = false, v6 = false;

	for (size_t i = 0; i < N_NODES; i++) {
		struct wm_filter *f = served_filter(p, i, &texts[i]);

		if (i == web) {
			v4 = node_allows(f, &nodes[laptop], &nodes[web], AF_INET, 6, 80);
			v6 = node_allows(f, &nodes[laptop], &nodes[web], AF_INET6, 6, 80);
		}
		wm_filter_free(f);
		vis[i] = 0;
		wm_policy_visible(p, i, &vis[i], 1);
		ck_assert_msg(!(vis[i] >> i & 1), "node %zu sees itself\n%s", i, file);
		ck_assert_uint_eq(vis[i] >> N_NODES, 0);
	}
	for (size_t i = 0; i < N_NODES; i++)
		for (size_t j = 0; j < N_NODES; j++)
			ck_assert_msg((vis[i] >> j & 1) == (vis[j] >> i & 1),
				      "node %zu sees %zu but not the other way\n%s", i, j, file);
	/* What web enforces is what explain says, and who may talk sees each other. */
	ck_assert_msg(wm_policy_explain((struct wm_policy *)p, "laptop", "web:80", WM_POLICY_TCP,
					&out, err, sizeof(err)) == 0, "explain: %s\n%s", err, file);
	ck_assert_msg(!!strstr(out, "allowed") == (v4 || v6) &&
		      !!strstr(out, "denied") == (!v4 || !v6),
		      "web's filter allows laptop:80 %s/%s, explain says %s\n%s", v4 ? "yes" : "no",
		      v6 ? "yes" : "no", out, file);
	free(out);
	if (v4 || v6)
		ck_assert_msg((vis[laptop] >> web & 1) && (vis[web] >> laptop & 1),
			      "laptop may reach web but they do not see each other\n%s", file);
}

START_TEST(mutations_hold_invariants)
{
	size_t len = strlen(base_policy);
	char *text = malloc(len + 1), err[ERR_LEN];
	uint32_t seed = 12345;
	int parsed = 0, parse_refused = 0, strict_refused = 0;

	for (int round = 0; round < 6000; round++) {
		struct wm_policy *p = NULL, *again = NULL;
		char *first[N_NODES], *second[N_NODES];
		bool strict = round % 2;
		int ret;

		memcpy(text, base_policy, len + 1);
		for (int k = 0; k < 1 + round % 4; k++) {
			size_t at;

			seed = seed * 1103515245u + 12345u;
			at = (seed >> 8) % len;
			if (round % 3) {
				text[at] = "\"{}[],:*-/0123456789abtg "[(seed >> 20) % 25];
				continue;
			}
			/* Every third round edits names, addresses and ports only, so more parse. */
			while (!isalnum((unsigned char)text[at]))
				at = (at + 1) % len;
			text[at] = "0123456789abtg:-/*."[(seed >> 20) % 19];
		}
		err[0] = '\0';
		ret = wm_policy_parse(&p, text, len, err, sizeof(err));
		if (ret) {
			ck_assert_msg(ret == -EBADMSG, "parse returned %d\n%s", ret, text);
			ck_assert_ptr_null(p);
			ck_assert_msg(names_place(err), "the error names no place: \"%s\"\n%s", err,
				      text);
			parse_refused++;
			continue;
		}
		parsed++;
		ck_assert_ptr_nonnull(p);
		/* As served: unknown names match nothing, so it always compiles. */
		ck_assert_msg(wm_policy_compile(p, nodes, N_NODES, NULL, 0, NULL, 0, false, err,
						sizeof(err)) == 0, "served: %s\n%s", err, text);
		check_served(p, text, first);
		/* The same text parses and compiles to the same filters. */
		ck_assert_int_eq(wm_policy_parse(&again, text, len, err, sizeof(err)), 0);
		ck_assert_int_eq(wm_policy_compile(again, nodes, N_NODES, NULL, 0, NULL, 0, false, err,
						   sizeof(err)), 0);
		check_served(again, text, second);
		for (size_t i = 0; i < N_NODES; i++) {
			ck_assert_str_eq(first[i], second[i]);
			free(first[i]);
			free(second[i]);
		}
		wm_policy_free(again);
		/* As checked: compiles (and its tests pass or fail naming one) or names the place. */
		err[0] = '\0';
		ret = wm_policy_compile(p, nodes, N_NODES, NULL, 0, NULL, 0, strict, err, sizeof(err));
		if (ret) {
			ck_assert_msg(ret == -EBADMSG, "compile returned %d\n%s", ret, text);
			ck_assert_msg(names_place(err), "the error names no place: \"%s\"\n%s", err,
				      text);
			strict_refused++;
		} else {
			check_served(p, text, first);
			for (size_t i = 0; i < N_NODES; i++)
				free(first[i]);
			err[0] = '\0';
			ret = wm_policy_run_tests(p, err, sizeof(err));
			ck_assert(ret == 0 || (ret == -EBADMSG && !strncmp(err, "tests[", 6)));
		}
		wm_policy_free(p);
	}
	/* The mutations reach both sides of each decision. */
	ck_assert_int_gt(parsed, 200);
	ck_assert_int_gt(parse_refused, 2000);
	ck_assert_int_gt(strict_refused, 10);
	free(text);
}
END_TEST

/* --- the store and the netmap cache -------------------------------------------------------- */

static char dir[64], path[96];
static struct wm_store *s;

static void store_setup(void)
{
	char err[256];

	strcpy(dir, "/tmp/wm-policy-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/coord.db", dir);
	ck_assert_msg(wm_store_open(&s, path, 1000, err, sizeof(err)) == 0, "%s", err);
}

static void store_teardown(void)
{
	char cmd[128];

	wm_store_close(s);
	s = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static int refuse(void *ctx, struct wm_store *st)
{
	(void)st;
	++*(int *)ctx;
	return -EBADMSG;
}

static void count_row(void *ctx, const struct wm_store_policy *p, size_t size)
{
	(void)p;
	(void)size;
	++*(int *)ctx;
}

START_TEST(store_history)
{
	struct wm_store_policy cur;
	uint64_t v0 = wm_store_netmap_version(s);
	int64_t id = 0, first;
	int calls = 0, rows = 0;
	char text[64];

	ck_assert_int_eq(wm_store_policy_current(s, &cur), 0);
	ck_assert_ptr_null(cur.text);
	ck_assert_int_eq(cur.id, 0);
	ck_assert_int_eq(wm_store_policy_set(s, "{\"acls\":[]}", NOW, NULL, NULL, &first), 0);
	ck_assert_uint_eq(wm_store_netmap_version(s), v0 + 1);
	/* A refused one changes nothing. */
	ck_assert_int_eq(wm_store_policy_set(s, "{\"acls\":[1]}", NOW, refuse, &calls, &id),
			 -EBADMSG);
	ck_assert_int_eq(calls, 1);
	ck_assert_uint_eq(wm_store_netmap_version(s), v0 + 1);
	ck_assert_int_eq(wm_store_policy_current(s, &cur), 0);
	ck_assert_int_eq(cur.id, first);
	ck_assert_str_eq(cur.text, "{\"acls\":[]}");
	ck_assert(cur.current);
	wm_store_policy_free(&cur);
	/* Cleared: no text; the old one stays in history. */
	ck_assert_int_eq(wm_store_policy_set(s, NULL, NOW + 1, NULL, NULL, &id), 0);
	ck_assert_int_eq(wm_store_policy_current(s, &cur), 0);
	ck_assert_ptr_null(cur.text);
	ck_assert_int_eq(cur.id, id);
	ck_assert_int_eq(wm_store_policy_get(s, first, &cur), 0);
	ck_assert_str_eq(cur.text, "{\"acls\":[]}");
	ck_assert(!cur.current);
	wm_store_policy_free(&cur);
	ck_assert_int_eq(wm_store_policy_get(s, 9999, &cur), -ENOENT);
	/* The newest WM_STORE_POLICY_HISTORY are kept. */
	for (int i = 0; i < WM_STORE_POLICY_HISTORY + 5; i++) {
		snprintf(text, sizeof(text), "{\"acls\":[],\"n\":%d}", i);
		ck_assert_int_eq(wm_store_policy_set(s, text, NOW + 2, NULL, NULL, &id), 0);
	}
	ck_assert_int_eq(wm_store_policy_history(s, count_row, &rows), 0);
	ck_assert_int_eq(rows, WM_STORE_POLICY_HISTORY);
	ck_assert_int_eq(wm_store_policy_get(s, first, &cur), -ENOENT);
	ck_assert_int_eq(wm_store_policy_current(s, &cur), 0);
	ck_assert_int_eq(cur.id, id);
	wm_store_policy_free(&cur);
}
END_TEST

START_TEST(store_migrates_v1)
{
	struct wm_store_policy cur;
	char err[256];
	sqlite3 *db;
	int64_t id;

	/* A version 1 file (before policy and routes): migrated in place on open. */
	wm_store_close(s);
	s = NULL;
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "DROP TABLE routes; DROP TABLE policy; DROP TABLE dns; "
				      "UPDATE schema_version SET version = 1",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_msg(wm_store_open(&s, path, 1000, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(wm_store_schema_version(s), WM_STORE_SCHEMA_VERSION);
	ck_assert_int_eq(wm_store_policy_set(s, "{\"acls\":[]}", NOW, NULL, NULL, &id), 0);
	ck_assert_int_eq(wm_store_policy_current(s, &cur), 0);
	ck_assert_str_eq(cur.text, "{\"acls\":[]}");
	wm_store_policy_free(&cur);
}
END_TEST

static void join(int n, const char *key, const char *host)
{
	struct wm_coord_register_req r = { 0 };
	struct wm_store_refusal why;
	struct wm_store_node node;
	uint8_t k[WM_KEY_LEN] = { (uint8_t)n, [31] = 0x40 };

	snprintf(r.auth_key, sizeof(r.auth_key), "%s", key);
	memset(r.disco_key, 9, sizeof(r.disco_key));
	snprintf(r.hostname, sizeof(r.hostname), "%s", host);
	strcpy(r.os, "linux");
	strcpy(r.version, "1");
	ck_assert_int_eq(wm_store_node_register(s, k, &r, NOW, &node, &why), 0);
}

/* The netmap node (by index) gets, parsed back as the node's client does. */
static void netmap_of(struct wm_coord_cache *c, size_t idx, struct wm_coord_poll_resp *r,
		      char **text)
{
	uint8_t id[WM_COORD_REQ_ID_LEN] = { 1 };
	char err[WM_COORD_ERR_LEN];
	size_t len;

	*text = wm_coord_cache_netmap(c, &c->nodes[idx], id, &len);
	ck_assert_ptr_nonnull(*text);
	ck_assert_msg(wm_coord_poll_resp_parse(r, *text, len, err, sizeof(err)) == 0, "%s", err);
}

START_TEST(cache_serves_policy)
{
	struct wm_store_authkey_opts web_opts = { .reusable = true, .tag = "web" };
	struct wm_store_authkey_opts any_opts = { .reusable = true };
	char web_key[WM_STORE_AUTHKEY_LEN + 1], key[WM_STORE_AUTHKEY_LEN + 1], *text;
	struct wm_coord_cache c = { 0 };
	struct wm_coord_poll_resp r;
	struct wm_coord_poll_req poll = { 0 };
	const struct wm_policy *compiled;
	bool urgent, lazy;
	sqlite3 *db;
	int64_t id;

	ck_assert_int_eq(wm_store_authkey_create(s, &web_opts, NOW, web_key, NULL), 0);
	ck_assert_int_eq(wm_store_authkey_create(s, &any_opts, NOW, key, NULL), 0);
	join(1, key, "db");
	join(2, web_key, "web");
	join(3, key, "laptop");

	/* No policy: every peer and "packet_filter": null, exactly as before policies. */
	ck_assert_int_eq(wm_coord_cache_rebuild(&c, s, NOW, 0), 0);
	ck_assert_ptr_null(c.policy);
	netmap_of(&c, 2, &r, &text);
	ck_assert_ptr_nonnull(strstr(text, ",\"packet_filter\":null,\"peers\":[{\"id\":1,"));
	ck_assert_uint_eq(r.netmap.n_peers, 2);
	ck_assert_ptr_null(r.netmap.packet_filter);
	wm_netmap_free(&r.netmap);
	free(text);

	ck_assert_int_eq(wm_store_policy_set(s, "{\"tags\":{\"tag:db\":[\"db\"]},\"acls\":["
					     "{\"action\":\"accept\",\"src\":[\"laptop\"],\"proto\":\"tcp\",\"dst\":[\"tag:web:80\"]},"
					     "{\"action\":\"accept\",\"src\":[\"tag:web\"],\"proto\":\"tcp\",\"dst\":[\"tag:db:5432\"]}]}",
					     NOW, NULL, NULL, &id), 0);
	ck_assert_int_eq(wm_coord_cache_rebuild(&c, s, NOW, 1), 0);
	ck_assert_ptr_nonnull(c.policy);
	netmap_of(&c, 2, &r, &text);	/* laptop: web only */
	ck_assert_uint_eq(r.netmap.n_peers, 1);
	ck_assert_str_eq(r.netmap.peers[0].name, "web");
	ck_assert_str_eq(r.netmap.packet_filter,
			 "{\"rules\":[],\"reach\":{\"2\":[{\"proto\":\"tcp\",\"ports\":[[80,80]],\"acl\":0}]}}");
	wm_netmap_free(&r.netmap);
	free(text);
	netmap_of(&c, 1, &r, &text);	/* web: both */
	ck_assert_uint_eq(r.netmap.n_peers, 2);
	wm_netmap_free(&r.netmap);
	free(text);

	/* Endpoints change: the compiled policy is kept; a rename recompiles it. */
	compiled = c.policy;
	ck_assert_int_eq(wm_endpoint_parse(&poll.endpoints[0], "192.0.2.1:41641"), 0);
	poll.n_endpoints = 1;
	ck_assert_int_eq(wm_store_node_polled(s, 1, &poll, NOW, &urgent, &lazy), 0);
	ck_assert_int_eq(wm_coord_cache_rebuild(&c, s, NOW, 2), 0);
	ck_assert_ptr_eq(c.policy, compiled);
	ck_assert_int_eq(wm_store_node_rename(s, 3, "laptop-2"), 0);
	ck_assert_int_eq(wm_coord_cache_rebuild(&c, s, NOW, 3), 0);
	netmap_of(&c, 1, &r, &text);	/* web: the renamed laptop no longer reaches it */
	ck_assert_uint_eq(r.netmap.n_peers, 1);
	ck_assert_str_eq(r.netmap.peers[0].name, "db");
	wm_netmap_free(&r.netmap);
	free(text);

	/* A stored policy that no longer parses (edited by hand): everything denied. */
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "UPDATE policy SET text = '{\"acls\":[' WHERE current = 1",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(wm_coord_cache_rebuild(&c, s, NOW, 4), 0);
	ck_assert_int_eq(wm_coord_cache_rebuild(&c, s, NOW, 5), 0);	/* noted once */
	netmap_of(&c, 1, &r, &text);
	ck_assert_uint_eq(r.netmap.n_peers, 0);
	ck_assert_str_eq(r.netmap.packet_filter, "{\"rules\":[],\"reach\":{}}");
	wm_netmap_free(&r.netmap);
	free(text);

	/* Cleared: back to all peers and null. */
	ck_assert_int_eq(wm_store_policy_set(s, NULL, NOW, NULL, NULL, &id), 0);
	ck_assert_int_eq(wm_coord_cache_rebuild(&c, s, NOW, 6), 0);
	ck_assert_ptr_null(c.policy);
	netmap_of(&c, 0, &r, &text);
	ck_assert_uint_eq(r.netmap.n_peers, 2);
	ck_assert_ptr_null(r.netmap.packet_filter);
	wm_netmap_free(&r.netmap);
	free(text);
	wm_coord_cache_free(&c);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("coord_policy");
	TCase *tc = tcase_create("policy"), *ts = tcase_create("store");
	SRunner *sr;
	int failures;

	if (sodium_init() < 0)
		return 1;
	make_nodes();
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, refused, 0, sizeof(bad_files) / sizeof(bad_files[0]));
	tcase_add_loop_test(tc, unknown_name, 0, sizeof(unknown_names) / sizeof(unknown_names[0]));
	tcase_add_test(tc, known_tags_and_limits);
	tcase_add_test(tc, several_tags);
	tcase_add_loop_test(tc, decision, 0, sizeof(decisions) / sizeof(decisions[0]));
	tcase_add_test(tc, explain_lines_and_errors);
	tcase_add_loop_test(tc, tests_section, 0, sizeof(test_sections) / sizeof(test_sections[0]));
	tcase_add_test(tc, visibility);
	tcase_add_test(tc, example_filters);
	tcase_add_test(tc, prefixes_aggregated);
	tcase_add_test(tc, rules_split_at_bounds);
	tcase_add_test(tc, filter_over_bounds);
	tcase_add_test(tc, routed_destinations);
	tcase_add_test(tc, routed_refusals);
	tcase_add_test(tc, auto_approvers);
	tcase_add_test(tc, mutations_hold_invariants);
	suite_add_tcase(su, tc);
	tcase_add_checked_fixture(ts, store_setup, store_teardown);
	tcase_set_timeout(ts, 30);
	tcase_add_test(ts, store_history);
	tcase_add_test(ts, store_migrates_v1);
	tcase_add_test(ts, cache_serves_policy);
	suite_add_tcase(su, ts);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
