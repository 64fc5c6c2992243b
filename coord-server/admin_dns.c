/* SPDX-License-Identifier: MIT */
/*
 * `wiremesh-coord dns set|get`: the mesh's DNS suffix (docs/dns.md). Every node is
 * NAME.SUFFIX, and every node's resolver answers for those names; a change reaches the nodes
 * with the next netmap, within a second.
 */
#include "coord-server/admin.h"
#include "coord-server/admin_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "coord-client/coord_fields.h"
#include "coord-server/store.h"

static void usage_dns(FILE *f)
{
	fprintf(f,
		"Usage: wiremesh-coord dns set --db PATH SUFFIX\n"
		"       wiremesh-coord dns get --db PATH\n"
		"\n"
		"The mesh's DNS suffix (docs/dns.md): node NAME answers as NAME.SUFFIX on every\n"
		"node's resolver (100.100.100.100), and SUFFIX is the search domain nodes set.\n"
		"The default is %s (.internal is reserved for private use). SUFFIX is a\n"
		"domain name of DNS labels (a-z, 0-9, '-'), at most %d characters, not under .local\n"
		"or .arpa; upper case is taken as lower case and a trailing dot is dropped.\n",
		WM_STORE_DNS_SUFFIX_DEFAULT, WM_NETMAP_DNS_SUFFIX_MAX);
}

static int dns_set(int argc, char **argv)
{
	char suffix[WM_NETMAP_DNS_SUFFIX_MAX + 2], why[160];
	struct wm_store *s;
	struct admin_opts o;
	size_t n;
	int ret = admin_parse(argc, argv, "dns set", "dh", 1, 1, usage_dns, &o);

	if (ret)
		return ret;
	n = strlen(o.args[0]);
	if (n > 1 && o.args[0][n - 1] == '.')
		n--;
	if (n >= sizeof(suffix))
		n = sizeof(suffix) - 1;		/* too long either way: the check says so */
	for (size_t i = 0; i < n; i++) {
		char c = o.args[0][i];

		suffix[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	suffix[n] = '\0';
	if (wm_coord_dns_suffix_check(suffix, why, sizeof(why)) < 0) {
		fprintf(stderr, "wiremesh-coord dns set: \"%s\" %s\n", o.args[0], why);
		return 2;
	}
	if (!(s = admin_open_db(o.db)))
		return 1;
	if ((ret = wm_store_dns_suffix_set(s, suffix, (int64_t)time(NULL))))
		return admin_db_error(s, "storing the DNS suffix");
	printf("DNS suffix set: nodes are NAME.%s\n", suffix);
	wm_store_close(s);
	return 0;
}

static int dns_get(int argc, char **argv)
{
	char suffix[WM_NETMAP_DNS_SUFFIX_MAX + 1];
	struct wm_store *s;
	struct admin_opts o;
	int ret = admin_parse(argc, argv, "dns get", "dh", 0, 0, usage_dns, &o);

	if (ret)
		return ret;
	if (!(s = admin_open_db(o.db)))
		return 1;
	if (wm_store_dns_suffix_get(s, suffix))
		return admin_db_error(s, "reading the DNS suffix");
	printf("%s\n", suffix);
	wm_store_close(s);
	return 0;
}

int wm_coord_admin_dns(int argc, char **argv)
{
	static const char *const subs[] = { "set", "get", NULL };
	static int (*const fns[])(int, char **) = { dns_set, dns_get };

	return admin_group(argc, argv, "dns", usage_dns, subs, fns);
}
