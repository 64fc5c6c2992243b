/* SPDX-License-Identifier: MIT */
/* The commands' dispatch and option parsing, and `wiremesh up`. */
#include "daemon/cli.h"

#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/tcp_listener.h"
#include "daemon/control.h"
#include "daemon/mesh.h"
#include "daemon/node.h"
#include "daemon/startup.h"
#include "daemon/state.h"

const char *wm_cli_prog = "wiremesh";

int wm_cli_getopt(const char *cmd, int argc, char **argv, const char *shorts,
		  const struct option *longs, void (*usage)(FILE *out))
{
	char spec[64];
	const char *word;
	int opt, name_len;

	/* A leading ':' makes getopt tell a missing value (':') from an unknown option. */
	snprintf(spec, sizeof(spec), ":%s", shorts);
	opterr = 0;
	opt = getopt_long(argc, argv, spec, longs, NULL);
	if (opt != '?' && opt != ':')
		return opt;
	/* What getopt stopped at: a long option is the word just passed; a short one, optopt. */
	word = optind > 1 && optind <= argc ? argv[optind - 1] : "";
	if (strncmp(word, "--", 2)) {
		fprintf(stderr, opt == ':' ? "%s%s%s: -%c needs a value\n" :
			"%s%s%s: unknown option '-%c'\n", wm_cli_prog, cmd ? " " : "", cmd ? cmd : "",
			optopt);
	} else {
		name_len = (int)strcspn(word, "=");
		if (opt == ':')
			fprintf(stderr, "%s%s%s: %.*s needs a value\n", wm_cli_prog, cmd ? " " : "",
				cmd ? cmd : "", name_len, word);
		else if (optopt)	/* a known option given a value it does not take */
			fprintf(stderr, "%s%s%s: %.*s takes no value\n", wm_cli_prog, cmd ? " " : "",
				cmd ? cmd : "", name_len, word);
		else
			fprintf(stderr, "%s%s%s: unknown option '%.*s'\n", wm_cli_prog,
				cmd ? " " : "", cmd ? cmd : "", name_len, word);
	}
	if (opt == '?' && usage) {
		fputc('\n', stderr);
		usage(stderr);
	}
	return '?';
}

/* up */

static void print_up_usage(FILE *out)
{
	fprintf(out,
		"Usage: %s up --coord URL [--authkey KEY] [options]\n"
		"\n"
		"Joins the mesh of the coordination server at URL: creates the interface (wm0),\n"
		"gets this node's 100.x address, and reaches every other node directly or through a\n"
		"relay. Returns once the node is up; it then runs in the background (-f: in front).\n"
		"The node key, the pinned server key and the last netmap are kept in the state\n"
		"directory, so a restarted node keeps its identity and addresses.\n"
		"\n"
		"Options:\n"
		"      --coord URL        http(s)://host[:port][?key=HEX] of wiremesh-coord\n"
		"      --authkey KEY      an auth key from `wiremesh-coord authkey create`\n"
		"                         (file:PATH reads it from a file); not needed once the\n"
		"                         node is registered\n"
		"      --hostname NAME    this node's name in the mesh (default: the host name)\n"
		"      --state DIR        state directory (default %s, or\n"
		"                         $WIREMESH_STATE_DIR)\n"
		"      --ifname NAME      the interface (default %s)\n"
		"      --port N           WireGuard UDP port (default %d, or any free one)\n"
		"      --advertise-routes PREFIX,...\n"
		"                         offer to route to these prefixes (a LAN behind this\n"
		"                         node) once an administrator approves them\n"
		"                         (`wiremesh-coord routes approve`)\n"
		"      --snat-subnet-routes=false\n"
		"                         keep the mesh addresses as the source towards the\n"
		"                         advertised routes (default: this host's address, so\n"
		"                         the LAN needs no route back to the mesh)\n"
		"      --accept-routes    use the subnet routes other nodes serve\n"
		"      --accept-dns[=false]\n"
		"                         without systemd-resolved, point /etc/resolv.conf at\n"
		"                         the node's resolver (100.100.100.100: NAME.SUFFIX of\n"
		"                         every node, the rest forwarded); put back on down.\n"
		"                         With systemd-resolved the interface gets its DNS\n"
		"                         settings anyway; =false leaves the host's DNS alone\n"
		"      --advertise-exit-node\n"
		"                         offer to route all traffic of other nodes to the\n"
		"                         internet (0.0.0.0/0, ::/0) once an administrator\n"
		"                         approves it; source NAT as for routes\n"
		"      --exit-node NAME|MESH-IP\n"
		"                         send all of this host's traffic through that node\n"
		"                         while it offers to be an exit node (policy routing:\n"
		"                         table and fwmark 41641; removed on down)\n"
		"      --exit-node-allow-lan-access\n"
		"                         with --exit-node, reach the host's own LANs (every\n"
		"                         route of the main table but the default) directly\n"
		"      --mtu N            the largest packet the tunnel carries (default %d,\n"
		"                         which fits any path of 1280 bytes); TCP is clamped to\n"
		"                         it and larger IPv4 packets are answered with ICMP\n"
		"                         \"fragmentation needed\"; the interface gets at least\n"
		"                         1280 (IPv6 needs it); below 1280, N is rounded down\n"
		"                         to a multiple of 16\n"
		"      --metrics-listen ADDR:PORT\n"
		"                         serve Prometheus metrics at /metrics and readiness at\n"
		"                         /healthz (200 once up, 503 before) over plain HTTP;\n"
		"                         e.g. 127.0.0.1:9101 (docs/metrics.md)\n"
		"      --force-reauth     register again (with --authkey, an expired node gets a\n"
		"                         fresh expiry) and then move to a new node key; the\n"
		"                         node keeps its name and addresses. A node already\n"
		"                         up with this state directory is stopped first\n"
		"      --coord-ca FILE    trust this CA (or self-signed certificate) for https://\n"
		"      --operator-group G members of group G may run status/ip/down too\n"
		"      --timeout SECONDS  how long to wait for the coordination server (default\n"
		"                         %d); a node that never reached it gives up then and\n"
		"                         exits 1\n"
		WM_STARTUP_OPTIONS_HELP
		"  -h, --help             this help\n"
		"\n"
		"Environment:\n"
		"  LOG_LEVEL=debug|verbose|error|silent\n"
		"                         what to log (default: errors, to syslog once detached;\n"
		"                         with LOG_LEVEL set the node keeps logging to this\n"
		"                         command's stderr)\n"
		"  WG_PROCESS_FOREGROUND=1\n"
		"                         same as --foreground\n"
		"  WIREMESH_AUTHKEY=KEY|file:PATH\n"
		"                         the auth key when --authkey is not given\n"
		"  NOTIFY_SOCKET=PATH     tell systemd (Type=notify) READY=1 once up, and\n"
		"                         STATUS= lines on the way\n"
		"\n"
		"Example:\n"
		"  %s up --coord https://coord.example.com --authkey file:/etc/wiremesh/authkey\n"
		"  %s status\n",
		wm_cli_prog, WM_STATE_DEFAULT_DIR, WM_CLI_DEFAULT_IFNAME, WM_MESH_DEFAULT_PORT,
		WM_MESH_DEFAULT_MTU,
		(int)WM_MESH_READY_TIMEOUT_S, wm_cli_prog, wm_cli_prog);
}

struct up {
	struct wm_startup start;
	struct wm_mesh_options mesh_opt;
	const char *state_dir;
	char authkey[256];
	struct wm_netmap_prefix routes[WM_NETMAP_MAX_ROUTES];	/* --advertise-routes */
	struct wm_state state;
	struct wm_mesh mesh;
};

/* Said to whoever waits for `up` (its stderr is still the caller's until the node is up). */
static void on_progress(void *ctx, const char *message)
{
	struct up *u = ctx;

	wm_startup_progress(&u->start, message);
}

static void on_ready(void *ctx, bool ok, const char *message)
{
	struct up *u = ctx;
	char line[700];

	/* The report reaches the user (through the waiting parent, or stderr): logged only in
	 * a verbose log, so that it is not said twice. */
	wm_log_verbose("%s", message);
	if (ok) {
		wm_startup_ready(&u->start, message);
		return;
	}
	snprintf(line, sizeof(line), "%s: %s", wm_cli_prog, message);
	wm_startup_fail(&u->start, line);
}

static int start_mesh(void *ctx, struct wm_node *node, char *err, size_t errlen)
{
	struct up *u = ctx;
	char why[512];
	int r;

	u->mesh_opt.on_progress = on_progress;
	r = wm_mesh_start(&u->mesh, node, &u->state, &u->mesh_opt, on_ready, u, why, sizeof(why));
	if (r < 0)
		snprintf(err, errlen, "%s: %s", wm_cli_prog, why);
	return r;
}

static void stop_mesh(void *ctx)
{
	struct up *u = ctx;

	wm_mesh_stop(&u->mesh);
}

static const struct wm_startup_mode mesh_mode = { .start = start_mesh, .stop = stop_mesh };

/* Reads an auth key given as file:PATH (keeps it out of `ps`). */
static int read_authkey_file(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f) {
		fprintf(stderr, "%s: --authkey file:%s: %s\n", wm_cli_prog, path, strerror(errno));
		return -1;
	}
	n = fread(out, 1, cap - 1, f);
	fclose(f);
	out[n] = '\0';
	out[strcspn(out, "\r\n")] = '\0';
	if (!out[0]) {
		fprintf(stderr, "%s: --authkey file:%s is empty\n", wm_cli_prog, path);
		return -1;
	}
	return 0;
}

static bool parse_number(const char *text, long min, long max, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(text, &end, 10);
	return !errno && *text && !*end && *out >= min && *out <= max;
}

enum {
	OPT_COORD = 0x2100, OPT_AUTHKEY, OPT_HOSTNAME, OPT_IFNAME, OPT_PORT, OPT_COORD_CA,
	OPT_OPERATOR_GROUP, OPT_TIMEOUT, OPT_MTU, OPT_ADVERTISE_ROUTES, OPT_ACCEPT_ROUTES,
	OPT_SNAT_SUBNET_ROUTES, OPT_ACCEPT_DNS, OPT_ADVERTISE_EXIT_NODE, OPT_EXIT_NODE,
	OPT_EXIT_NODE_ALLOW_LAN, OPT_FORCE_REAUTH, OPT_METRICS_LISTEN,
};

/* One of up's own options (not a node option); 0, or 2 once it said what is wrong. */
static int up_option(struct up *u, int opt, const char *arg)
{
	struct group *g;
	char why[256];
	long n;

	switch (opt) {
	case OPT_COORD: u->mesh_opt.coord_url = arg; break;
	case OPT_HOSTNAME: u->mesh_opt.hostname = arg; break;
	case OPT_IFNAME: u->start.node.ifname = arg; break;
	case OPT_COORD_CA: u->mesh_opt.coord_ca = arg; break;
	case WM_CLI_OPT_STATE: u->state_dir = arg; break;
	case OPT_AUTHKEY:
		if (!strncmp(arg, "file:", 5)) {
			if (read_authkey_file(arg + 5, u->authkey, sizeof(u->authkey)) < 0)
				return 2;
		} else {
			snprintf(u->authkey, sizeof(u->authkey), "%s", arg);
		}
		u->mesh_opt.auth_key = u->authkey;
		break;
	case OPT_PORT:
		if (!parse_number(arg, 1, 65535, &n)) {
			fprintf(stderr, "%s: --port takes 1-65535 (got '%s')\n", wm_cli_prog, arg);
			return 2;
		}
		u->mesh_opt.port = (uint16_t)n;
		break;
	case OPT_MTU:
		if (!parse_number(arg, WM_MESH_MIN_MTU, WM_MESH_MAX_MTU, &n)) {
			fprintf(stderr, "%s: --mtu takes %d-%d bytes (got '%s')\n", wm_cli_prog,
				WM_MESH_MIN_MTU, WM_MESH_MAX_MTU, arg);
			return 2;
		}
		u->mesh_opt.mtu = (unsigned)n;
		break;
	case OPT_ADVERTISE_ROUTES:
		if (wm_routes_parse_list(arg, u->routes, &u->mesh_opt.routes.n_advertise, why,
					 sizeof(why)) < 0) {
			fprintf(stderr, "%s: --advertise-routes: %s\n", wm_cli_prog, why);
			return 2;
		}
		u->mesh_opt.routes.advertise = u->routes;
		break;
	case OPT_ACCEPT_ROUTES: u->mesh_opt.routes.accept = true; break;
	case OPT_ADVERTISE_EXIT_NODE: u->mesh_opt.routes.advertise_exit = true; break;
	case OPT_EXIT_NODE:
		if (!*arg || strlen(arg) > WM_NETMAP_NAME_MAX) {
			fprintf(stderr, "%s: --exit-node takes a node's name or mesh address (got "
				"'%.80s')\n", wm_cli_prog, arg);
			return 2;
		}
		u->mesh_opt.exit_node = arg;
		break;
	case OPT_EXIT_NODE_ALLOW_LAN: u->mesh_opt.exit_allow_lan = true; break;
	case OPT_METRICS_LISTEN: {
		struct wm_endpoint ep;

		if (wm_listen_addr_parse(&ep, arg)) {
			fprintf(stderr, "%s: --metrics-listen takes ADDR:PORT, [V6ADDR]:PORT or :PORT "
				"(got '%.80s')\n", wm_cli_prog, arg);
			return 2;
		}
		u->mesh_opt.metrics_listen = arg;
		break;
	}
	case OPT_FORCE_REAUTH: u->mesh_opt.force_reauth = true; break;
	case OPT_SNAT_SUBNET_ROUTES:
		if (strcmp(arg, "true") && strcmp(arg, "false")) {
			fprintf(stderr, "%s: --snat-subnet-routes takes true or false (got '%s')\n",
				wm_cli_prog, arg);
			return 2;
		}
		u->mesh_opt.routes.no_snat = !strcmp(arg, "false");
		break;
	case OPT_ACCEPT_DNS:
		if (arg && strcmp(arg, "true") && strcmp(arg, "false")) {
			fprintf(stderr, "%s: --accept-dns takes true or false (got '%s')\n",
				wm_cli_prog, arg);
			return 2;
		}
		u->mesh_opt.accept_dns = arg && !strcmp(arg, "false") ? WM_DNS_ACCEPT_NO :
					 WM_DNS_ACCEPT_YES;
		break;
	case OPT_TIMEOUT:
		if (!parse_number(arg, 1, 3600, &n)) {
			fprintf(stderr, "%s: --timeout takes 1-3600 seconds (got '%s')\n", wm_cli_prog,
				arg);
			return 2;
		}
		u->mesh_opt.ready_timeout_s = (double)n;
		break;
	case OPT_OPERATOR_GROUP:
		g = getgrnam(arg);
		if (!g) {
			fprintf(stderr, "%s: --operator-group: no group named '%s'\n", wm_cli_prog, arg);
			return 2;
		}
		u->mesh_opt.operator_gid = g->gr_gid;
		break;
	default:
		return 2;	/* '?': wm_cli_getopt said why */
	}
	return 0;
}

static int parse_up(struct up *u, int argc, char **argv)
{
	static const struct option longs[] = {
		WM_STARTUP_LONG_OPTIONS,
		{ "coord", required_argument, NULL, OPT_COORD },
		{ "authkey", required_argument, NULL, OPT_AUTHKEY },
		{ "hostname", required_argument, NULL, OPT_HOSTNAME },
		{ "state", required_argument, NULL, WM_CLI_OPT_STATE },
		{ "ifname", required_argument, NULL, OPT_IFNAME },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "coord-ca", required_argument, NULL, OPT_COORD_CA },
		{ "operator-group", required_argument, NULL, OPT_OPERATOR_GROUP },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "mtu", required_argument, NULL, OPT_MTU },
		{ "advertise-routes", required_argument, NULL, OPT_ADVERTISE_ROUTES },
		{ "accept-routes", no_argument, NULL, OPT_ACCEPT_ROUTES },
		{ "snat-subnet-routes", required_argument, NULL, OPT_SNAT_SUBNET_ROUTES },
		{ "accept-dns", optional_argument, NULL, OPT_ACCEPT_DNS },
		{ "advertise-exit-node", no_argument, NULL, OPT_ADVERTISE_EXIT_NODE },
		{ "exit-node", required_argument, NULL, OPT_EXIT_NODE },
		{ "exit-node-allow-lan-access", no_argument, NULL, OPT_EXIT_NODE_ALLOW_LAN },
		{ "metrics-listen", required_argument, NULL, OPT_METRICS_LISTEN },
		{ "force-reauth", no_argument, NULL, OPT_FORCE_REAUTH },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, r;

	while ((opt = wm_cli_getopt("up", argc, argv, WM_STARTUP_SHORT_OPTIONS "h", longs,
				    print_up_usage)) != -1) {
		if (opt == 'h') {
			print_up_usage(stdout);
			return 0;
		}
		if ((r = wm_startup_option(&u->start, opt, optarg)) < 0)
			return 2;
		if (!r && (r = up_option(u, opt, optarg)))
			return r;
	}
	if (optind < argc) {
		fprintf(stderr, "%s up: unexpected argument '%s'\n\n", wm_cli_prog, argv[optind]);
		print_up_usage(stderr);
		return 2;
	}
	if (u->mesh_opt.exit_node && u->mesh_opt.routes.advertise_exit) {
		fprintf(stderr, "%s up: --exit-node and --advertise-exit-node together: a node "
			"either offers to be an exit node or uses one\n", wm_cli_prog);
		return 2;
	}
	if (u->mesh_opt.exit_allow_lan && !u->mesh_opt.exit_node) {
		fprintf(stderr, "%s up: --exit-node-allow-lan-access goes with --exit-node NAME\n",
			wm_cli_prog);
		return 2;
	}
	if (!u->mesh_opt.coord_url) {
		fprintf(stderr, "%s up: --coord URL is needed (the wiremesh-coord server to "
			"join)\n\n", wm_cli_prog);
		print_up_usage(stderr);
		return 2;
	}
	if (strncmp(u->mesh_opt.coord_url, "http://", 7) &&
	    strncmp(u->mesh_opt.coord_url, "https://", 8)) {
		fprintf(stderr, "%s up: --coord takes an http:// or https:// URL (got '%s')\n",
			wm_cli_prog, u->mesh_opt.coord_url);
		return 2;
	}
	return -1;	/* go on */
}

/* --force-reauth on a running node (typically one whose key expired): it goes down first. */
static bool stop_running_node(const char *path)
{
	char *reply = NULL;
	size_t len;

	if (wm_control_request(path, "down", 10.0, &reply, &len) < 0)
		return false;
	free(reply);
	for (int i = 0; i < 200; i++) {	/* the socket goes as the daemon exits */
		if (access(path, F_OK) < 0)
			return true;
		usleep(50 * 1000);
	}
	return false;
}

/* Errors about the state directory are the user's to fix: said before detaching. */
static int open_state(struct up *u)
{
	char err[512], path[512], *reply;
	size_t reply_len;

	if (wm_state_open(&u->state, u->state_dir, u->mesh_opt.operator_gid, err,
			  sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", wm_cli_prog, err);
		return 1;
	}
	if (wm_cli_socket_path(u->state_dir, path, sizeof(path)) == 0 &&
	    wm_control_request(path, "ip", 2.0, &reply, &reply_len) == 0) {
		free(reply);
		if (u->mesh_opt.force_reauth && stop_running_node(path))
			return 0;
		fprintf(stderr, "%s: a node is already up with the state directory %s "
			"(`%s status` shows it; `%s down` stops it)\n", wm_cli_prog, u->state_dir,
			wm_cli_prog, wm_cli_prog);
		wm_state_close(&u->state);
		return 1;
	}
	return 0;
}

/* WIREMESH_AUTHKEY (KEY or file:PATH) stands for a missing --authkey: a service's
 * EnvironmentFile, or a container's environment, keeps it out of the command line. */
static int authkey_from_environment(struct up *u)
{
	const char *env = getenv("WIREMESH_AUTHKEY");

	if (u->mesh_opt.auth_key || !env || !*env)
		return 0;
	return up_option(u, OPT_AUTHKEY, env);
}

static int cmd_up(int argc, char **argv)
{
	/* Static: the mesh is large, and there is one per process. */
	static struct up u;
	int status;

	wm_startup_init(&u.start, wm_cli_prog, WM_CLI_DEFAULT_IFNAME);
	u.mesh_opt.operator_gid = (gid_t)-1;
	u.state_dir = wm_cli_default_state_dir();
	if ((status = parse_up(&u, argc, argv)) >= 0 || (status = authkey_from_environment(&u)) ||
	    (status = wm_startup_environment(&u.start)) || (status = open_state(&u)))
		return status;
	status = wm_startup_run(&u.start, &mesh_mode, &u);
	wm_state_close(&u.state);
	return status;
}

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "ping", wm_cli_ping },
	{ "netcheck", wm_cli_netcheck },
	{ "up", cmd_up },
	{ "down", wm_cli_down },
	{ "rotate-key", wm_cli_rotate_key },
	{ "status", wm_cli_status },
	{ "metrics", wm_cli_metrics },
	{ "ip", wm_cli_ip },
	{ "wait", wm_cli_wait },
};

bool wm_cli_is_command(const char *word)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(word, commands[i].name))
			return true;
	return false;
}

int wm_cli_main(int argc, char **argv)
{
	size_t i;

	wm_cli_prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	return 2;
}
