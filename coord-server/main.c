/* SPDX-License-Identifier: MIT */
/* wiremesh-coord: the coordination server and its admin commands. */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "coord-server/admin.h"
#include "coord-server/server.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: wiremesh-coord COMMAND [ARGS]\n"
		"\n"
		"The coordination server of a wiremesh mesh: the public-key directory that hands\n"
		"every node its addresses and tells it about the others. State is one SQLite file.\n"
		"\n"
		"Commands:\n"
		"  serve --db PATH [--listen ADDR:PORT] (--cert FILE --key FILE | --plain)\n"
		"  authkey create|list|revoke   keys that let nodes join\n"
		"  nodes list|remove|delete|rename|expire\n"
		"  relays set FILE|get          the relay (DERP) map nodes receive\n"
		"  policy check|set FILE|get|history|clear|explain\n"
		"                               who may reach whom (docs/policy.md)\n"
		"  routes list|approve|unapprove\n"
		"                               subnet routes nodes offer (docs/routes.md)\n"
		"  dns set SUFFIX|get           the mesh's DNS suffix: nodes are NAME.SUFFIX\n"
		"                               (docs/dns.md)\n"
		"  key                          the server's public key (hex), for ?key= in URLs\n"
		"\n"
		"Every command takes --db PATH and --help. The admin commands work while serve runs.\n"
		"\n"
		"For tests only: WIREMESH_COORD_TEST_TIME_OFFSET=SECONDS moves the clock used for\n"
		"key expiry, presence and ephemeral nodes (docs/identity.md).\n");
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (sodium_init() < 0) {
		fprintf(stderr, "wiremesh-coord: libsodium failed to initialise\n");
		return 1;
	}
	if (!cmd) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "serve"))
		return wm_coord_serve_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "authkey"))
		return wm_coord_admin_authkey(argc - 1, argv + 1);
	if (!strcmp(cmd, "nodes"))
		return wm_coord_admin_nodes(argc - 1, argv + 1);
	if (!strcmp(cmd, "relays"))
		return wm_coord_admin_relays(argc - 1, argv + 1);
	if (!strcmp(cmd, "policy"))
		return wm_coord_admin_policy(argc - 1, argv + 1);
	if (!strcmp(cmd, "routes"))
		return wm_coord_admin_routes(argc - 1, argv + 1);
	if (!strcmp(cmd, "dns"))
		return wm_coord_admin_dns(argc - 1, argv + 1);
	if (!strcmp(cmd, "key"))
		return wm_coord_admin_key(argc - 1, argv + 1);
	fprintf(stderr, "wiremesh-coord: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
