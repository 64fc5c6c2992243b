/* SPDX-License-Identifier: MIT */
/*
 * `wiremesh-coord policy check|set|get|history|clear|explain`: the admin commands about the
 * access policy (docs/policy.md). The other admin commands and the helpers all of them share
 * are in admin.c.
 */
#include "coord-server/admin.h"
#include "coord-server/admin_int.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coord-client/coord_msg.h"
#include "coord-server/admin_policy.h"
#include "coord-server/admin_print.h"
#include "coord-server/policy.h"
#include "coord-server/store.h"

/* --- policy ----------------------------------------------------------------------------- */

static void usage_policy(FILE *f)
{
	fprintf(f,
		"Usage: wiremesh-coord policy check --db PATH FILE\n"
		"       wiremesh-coord policy set --db PATH FILE\n"
		"       wiremesh-coord policy get --db PATH [--id ID]\n"
		"       wiremesh-coord policy history --db PATH [--json]\n"
		"       wiremesh-coord policy clear --db PATH\n"
		"       wiremesh-coord policy explain --db PATH [--proto tcp|udp|icmp] [--file FILE] SRC DST:PORT\n"
		"\n"
		"Who may reach whom in the mesh (docs/policy.md). Without a policy every node reaches\n"
		"every other. FILE is JSON ('-' reads standard input).\n"
		"  check    validate FILE and run its tests against the nodes in the database\n"
		"  set      the same, then put it in force: every node gets it within a second\n"
		"           (a FILE that fails changes nothing)\n"
		"  get      print the policy in force as it was set, or the one with ID from history\n"
		"  history  the policies set so far (the newest %d are kept)\n"
		"  clear    back to no policy: every node reaches every other\n"
		"  explain  whether SRC (a node, tag, group, host or address) may reach DST (a node, tag,\n"
		"           group or address) on PORT over --proto (default tcp), and which ACL decides;\n"
		"           --file asks a candidate FILE instead of the policy in force\n",
		WM_STORE_POLICY_HISTORY);
}

/* Reads FILE into job; false (having said why) when it cannot. */
static bool read_policy(struct wm_coord_policy_job *job, const char *cmd, const char *path)
{
	job->text = admin_read_file(path, WM_POLICY_FILE_MAX, &job->len);
	if (!job->text) {
		fprintf(stderr, "wiremesh-coord %s: %s: %s\n", cmd, path,
			errno == EFBIG ? "the policy is larger than 1 MiB (1048576 bytes)"
				       : strerror(errno));
		return false;
	}
	return true;
}

static int policy_failed(struct wm_store *s, struct wm_coord_policy_job *job, const char *cmd,
			 const char *path, int ret)
{
	if (ret == -EBADMSG || ret == -EFBIG || ret == -ENOMEM)
		fprintf(stderr, "wiremesh-coord %s: %s: %s%s\n", cmd, path, job->err,
			strcmp(cmd, "policy set") ? "" : " (the policy in force is unchanged)");
	else
		fprintf(stderr, "wiremesh-coord %s: database: %s\n", cmd, wm_store_error(s));
	wm_policy_free(job->pol);
	free((char *)job->text);
	wm_store_close(s);
	return 1;
}

static void policy_warnings(const struct wm_coord_policy_job *job, const char *cmd)
{
	for (int i = wm_policy_idle_acl(job->pol, 0); i >= 0;
	     i = wm_policy_idle_acl(job->pol, (size_t)i + 1))
		fprintf(stderr, "wiremesh-coord %s: warning: acls[%d]: no node is among its destinations yet (it allows nothing until one joins)\n",
			cmd, i);
}

/* check and set: the same checks; set then stores it (checking again inside the transaction
 * only if the nodes changed meanwhile). */
static int policy_check_or_set(int argc, char **argv, bool set)
{
	const char *cmd = set ? "policy set" : "policy check";
	struct wm_coord_policy_job job = { .strict = true, .tests = true };
	struct wm_store *s;
	struct admin_opts o;
	int64_t id = 0;
	int ret = admin_parse(argc, argv, cmd, "dh", 1, 1, usage_policy, &o);

	if (ret)
		return ret;
	if (!read_policy(&job, cmd, o.args[0]))
		return 1;
	if (!(s = admin_open_db(o.db))) {
		free((char *)job.text);
		return 1;
	}
	ret = wm_coord_policy_compile(&job, s);
	if (!ret && set)
		ret = wm_store_policy_set(s, job.text, (int64_t)time(NULL), wm_coord_policy_recheck,
					  &job, &id);
	if (ret)
		return policy_failed(s, &job, cmd, o.args[0], ret);
	policy_warnings(&job, cmd);
	if (set)
		printf("policy %lld in force: ", (long long)id);
	else
		printf("%s: ok: ", o.args[0]);
	printf("%zu ACL%s, %zu test%s passed, %zu node%s\n", wm_policy_n_acls(job.pol),
	       wm_policy_n_acls(job.pol) == 1 ? "" : "s", wm_policy_n_tests(job.pol),
	       wm_policy_n_tests(job.pol) == 1 ? "" : "s", job.n_nodes, job.n_nodes == 1 ? "" : "s");
	wm_policy_free(job.pol);
	free((char *)job.text);
	wm_store_close(s);
	return 0;
}

static int policy_check(int argc, char **argv)
{
	return policy_check_or_set(argc, argv, false);
}

static int policy_set(int argc, char **argv)
{
	return policy_check_or_set(argc, argv, true);
}

static int policy_get(int argc, char **argv)
{
	struct wm_store_policy sp;
	struct wm_store *s;
	struct admin_opts o;
	char *end = NULL;
	long long id = 0;
	int ret = admin_parse(argc, argv, "policy get", "dih", 0, 0, usage_policy, &o);

	if (ret)
		return ret;
	if (o.id && ((id = strtoll(o.id, &end, 10)) <= 0 || *end)) {
		fprintf(stderr, "wiremesh-coord policy get: --id wants a number from 'policy history'\n");
		return 2;
	}
	if (!(s = admin_open_db(o.db)))
		return 1;
	ret = id ? wm_store_policy_get(s, id, &sp) : wm_store_policy_current(s, &sp);
	if (ret == -ENOENT) {
		fprintf(stderr, "wiremesh-coord policy get: no policy %lld (see 'policy history')\n", id);
		wm_store_close(s);
		return 1;
	}
	if (ret)
		return admin_db_error(s, "reading the policy");
	if (!sp.text)
		fprintf(stderr, "%s: every node may reach every other\n",
			id ? "that entry cleared the policy" : "no policy is set");
	else
		printf("%s%s", sp.text, sp.text[0] && sp.text[strlen(sp.text) - 1] == '\n' ? "" : "\n");
	wm_store_policy_free(&sp);
	wm_store_close(s);
	return 0;
}

static int policy_history(int argc, char **argv)
{
	struct wm_store *s;
	struct admin_opts o;
	int ret = admin_parse(argc, argv, "policy history", "djh", 0, 0, usage_policy, &o);

	if (ret)
		return ret;
	if (!(s = admin_open_db(o.db)))
		return 1;
	if (wm_coord_print_policy_history(s, o.json))
		return admin_db_error(s, "reading the policy history");
	wm_store_close(s);
	return 0;
}

static int policy_clear(int argc, char **argv)
{
	struct wm_store_policy sp;
	struct wm_store *s;
	struct admin_opts o;
	int64_t id;
	int ret = admin_parse(argc, argv, "policy clear", "dh", 0, 0, usage_policy, &o);

	if (ret)
		return ret;
	if (!(s = admin_open_db(o.db)))
		return 1;
	if (wm_store_policy_current(s, &sp))
		return admin_db_error(s, "reading the policy");
	if (!sp.text) {
		printf("no policy was set: every node may reach every other\n");
		wm_store_close(s);
		return 0;
	}
	wm_store_policy_free(&sp);
	if (wm_store_policy_set(s, NULL, (int64_t)time(NULL), NULL, NULL, &id))
		return admin_db_error(s, "clearing the policy");
	printf("policy cleared: every node may reach every other\n");
	wm_store_close(s);
	return 0;
}

static int policy_explain(int argc, char **argv)
{
	struct wm_coord_policy_job job = { 0 };
	struct wm_store_policy sp = { 0 };
	struct wm_store *s;
	struct admin_opts o;
	char *out = NULL;
	int proto = WM_POLICY_TCP, ret = admin_parse(argc, argv, "policy explain", "dPfh", 2, 2,
					       usage_policy, &o);

	if (ret)
		return ret;
	if (o.proto && (proto = wm_policy_proto_parse(o.proto)) <= 0) {
		fprintf(stderr, "wiremesh-coord policy explain: --proto is tcp, udp or icmp\n");
		return 2;
	}
	if (o.file && !read_policy(&job, "policy explain", o.file))
		return 1;
	if (!(s = admin_open_db(o.db))) {
		free((char *)job.text);
		return 1;
	}
	/* A candidate file is checked as set would; the policy in force is taken as it is. */
	job.strict = o.file;
	if (!o.file) {
		if (wm_store_policy_current(s, &sp))
			return admin_db_error(s, "reading the policy");
		if (!sp.text) {
			printf("allowed: no policy is set (every node may reach every other)\n");
			wm_store_close(s);
			return 0;
		}
		job.text = sp.text;
		job.len = strlen(sp.text);
	}
	ret = wm_coord_policy_compile(&job, s);
	if (!ret)
		ret = wm_policy_explain(job.pol, o.args[0], o.args[1],
					(enum wm_policy_proto)proto, &out, job.err,
					sizeof(job.err));
	if (ret)
		return policy_failed(s, &job, "policy explain", o.file ? o.file : "policy in force",
				     ret);
	fputs(out, stdout);
	free(out);
	wm_policy_free(job.pol);
	free((char *)job.text);
	wm_store_close(s);
	return 0;
}

int wm_coord_admin_policy(int argc, char **argv)
{
	static const char *const subs[] = { "check", "set", "get", "history", "clear", "explain",
					    NULL };
	static int (*const fns[])(int, char **) = { policy_check, policy_set, policy_get,
						    policy_history, policy_clear, policy_explain };

	return admin_group(argc, argv, "policy", usage_policy, subs, fns);
}
