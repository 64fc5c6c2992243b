/* SPDX-License-Identifier: MIT */
#include "daemon/startup.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/sd_notify.h"

/* --- options and environment -------------------------------------------------------------- */

void wm_startup_init(struct wm_startup *s, const char *prog, const char *ifname)
{
	memset(s, 0, sizeof(*s));
	s->prog = prog;
	s->node.ifname = ifname;
	s->node.tun_fd = -1;
	s->node.uapi_fd = -1;
	s->log_level = WM_LOG_ERROR;
	s->ready_fd = -1;
}

int wm_startup_option(struct wm_startup *s, int opt, const char *arg)
{
	char *end;
	long n;

	switch (opt) {
	case 'f':
		s->foreground = true;
		return 1;
	case 't':
		errno = 0;
		n = strtol(arg, &end, 10);
		if (errno || !*arg || *end || n < 1 || n > 256) {
			fprintf(stderr, "%s: --threads takes 1-256 (got '%s')\n", s->prog, arg);
			return -1;
		}
		s->node.threads = (unsigned)n;
		return 1;
	case WM_STARTUP_OPT_NO_OFFLOAD:
		s->node.no_offload = true;
		return 1;
	case WM_STARTUP_OPT_RELAY_CA:
		if (strlen(arg) >= sizeof(s->node.relays.ca_file)) {
			fprintf(stderr, "%s: --relay-ca: the path is longer than %zu characters\n",
				s->prog, sizeof(s->node.relays.ca_file) - 1);
			return -1;
		}
		strcpy(s->node.relays.ca_file, arg);
		return 1;
	default:
		return 0;
	}
}

int wm_startup_environment(struct wm_startup *s)
{
	const char *level = getenv("LOG_LEVEL"), *fg = getenv("WG_PROCESS_FOREGROUND");
	int parsed;

	if (level) {
		if ((parsed = wm_log_parse_level(level)) < 0) {
			fprintf(stderr, "%s: LOG_LEVEL must be debug, verbose, error or silent "
				"(got '%s')\n", s->prog, level);
			return 2;
		}
		s->log_level = (enum wm_log_level)parsed;
		s->log_to_stderr = s->log_level != WM_LOG_SILENT;
	}
	if (fg && !strcmp(fg, "1"))
		s->foreground = true;
	if (!s->node.threads) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);

		s->node.threads = cores > 0 && cores <= 256 ? (unsigned)cores : 1;
	}
	wm_log_init(s->log_level, s->node.ifname);
	return 0;
}

/* --- detaching ---------------------------------------------------------------------------- */

/*
 * Forks. The parent waits for the child's report, prints its message (stdout when ready,
 * stderr otherwise) and exits 0 or 1; it never returns. The child returns 0 with s->ready_fd
 * to report on, in a new session. -errno when fork fails.
 */
static int detach(struct wm_startup *s)
{
	char message[1024];
	int pipefd[2];
	size_t len = 0;
	ssize_t n;
	pid_t pid;
	char status;

	if (pipe(pipefd) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(pipefd[1]);
		if (read(pipefd[0], &status, 1) != 1)
			status = 1;	/* the child died before it could say */
		while (len < sizeof(message) - 1 &&
		       (n = read(pipefd[0], message + len, sizeof(message) - 1 - len)) > 0)
			len += (size_t)n;
		message[len] = '\0';
		if (len)
			fprintf(status ? stderr : stdout, "%s\n", message);
		fflush(stdout);
		_exit(status ? EXIT_FAILURE : EXIT_SUCCESS);
	}
	close(pipefd[0]);
	setsid();
	s->ready_fd = pipefd[1];
	return 0;
}

/*
 * Nothing of the caller's stays open, as with wireguard-go: whoever waits for end-of-file (a
 * $(…), a pipe, ssh) gets it. stdin and stdout point at /dev/null, and stderr too unless it
 * stays the log (LOG_LEVEL); otherwise errors go to syslog.
 */
static void let_go_of_callers_output(const struct wm_startup *s)
{
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (devnull < 0)
		return;
	if (!s->log_to_stderr) {
		if (wm_log_level() != WM_LOG_SILENT)
			wm_log_use_syslog(s->prog);
		dup2(devnull, STDERR_FILENO);
	}
	dup2(devnull, STDIN_FILENO);
	dup2(devnull, STDOUT_FILENO);
	close(devnull);
}

/* A service manager that cannot be told is logged, once; the node goes on without it. */
static void notify(struct wm_startup *s, int r)
{
	if (r < 0 && !s->notify_failed) {
		s->notify_failed = true;
		wm_log_error("cannot notify the service manager at $NOTIFY_SOCKET: %s",
			     strerror(-r));
	}
}

/*
 * The report as the service manager hears it (Type=notify): READY=1 once, only when up, with
 * the report's first line as the status; a failure is a status only (the exit code tells the
 * rest), also after READY=1.
 */
static void tell_service_manager(struct wm_startup *s, bool ok, const char *message)
{
	char line[600];

	if (!ok) {
		/* "PROG: why" is for a terminal; the manager shows the unit's name already. */
		if (message && !strncmp(message, s->prog, strlen(s->prog)) &&
		    !strncmp(message + strlen(s->prog), ": ", 2))
			message += strlen(s->prog) + 2;
		notify(s, wm_sd_notify_status(message ? message : "failed"));
		return;
	}
	if (s->told_service_manager)
		return;
	s->told_service_manager = true;
	if (message)
		snprintf(line, sizeof(line), "READY=1\nSTATUS=%.*s", (int)strcspn(message, "\n"),
			 message);
	else
		snprintf(line, sizeof(line), "READY=1\nSTATUS=%s is up", s->node.ifname);
	notify(s, wm_sd_notify(line));
}

/*
 * Tells the waiting parent (when none waits, a message goes to stdout or stderr directly),
 * then lets go of the caller's output. Only the first report counts.
 */
static void report(struct wm_startup *s, bool ok, const char *message)
{
	char status = ok ? 0 : 1;

	tell_service_manager(s, ok, message);
	if (s->ready_fd < 0) {
		if (message && *message)
			fprintf(ok ? stdout : stderr, "%s\n", message);
		fflush(stdout);
		return;
	}
	if (write(s->ready_fd, &status, 1) != 1 ||
	    (message && write(s->ready_fd, message, strlen(message)) < 0)) {
		/* The parent is gone; nothing else to tell. */
	}
	close(s->ready_fd);
	s->ready_fd = -1;
	let_go_of_callers_output(s);
}

void wm_startup_progress(struct wm_startup *s, const char *message)
{
	notify(s, wm_sd_notify_status(message));
	/* Until the report, stderr is still the caller's. */
	if (s->ready_fd >= 0 || s->foreground) {
		fprintf(stderr, "%s: %s\n", s->prog, message);
		fflush(stderr);
	}
}

void wm_startup_ready(struct wm_startup *s, const char *message)
{
	report(s, true, message);
}

void wm_startup_fail(struct wm_startup *s, const char *message)
{
	snprintf(s->failure, sizeof(s->failure), "%s", message);
	if (s->loop)
		ev_break(s->loop, EVBREAK_ALL);
}

/* --- the start-up path -------------------------------------------------------------------- */

/* What to do about the node's start-up error, or NULL. */
static const char *hint(int err)
{
	switch (err) {
	case -EPERM:
	case -EACCES:
		return "run as root, give the binary CAP_NET_ADMIN (setcap cap_net_admin+ep), or "
		       "attach to a persistent TUN owned by you (ip tuntap add NAME mode tun user YOU)";
	case -ENOENT:
		return "is the tun module loaded? (/dev/net/tun is missing)";
	case -EADDRINUSE:
		return "another wiremesh or wireguard-go already serves this interface";
	case -EBUSY:
		return "another wiremesh or wireguard-go is already running for this interface";
	default:
		return NULL;
	}
}

int wm_startup_run(struct wm_startup *s, const struct wm_startup_mode *mode, void *ctx)
{
	const char *what = "start", *why;
	struct wm_node node;
	char err[512];
	int r, status = 1;

	if (!s->foreground && (r = detach(s)) < 0) {
		fprintf(stderr, "%s: cannot detach: %s\n", s->prog, strerror(-r));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	s->loop = ev_default_loop(EVFLAG_AUTO);
	if (!s->loop) {
		snprintf(s->failure, sizeof(s->failure), "%s: cannot start the event loop", s->prog);
		goto out;
	}
	r = wm_node_start(&node, s->loop, &s->node, &what);
	if (r < 0) {
		why = hint(r);
		snprintf(s->failure, sizeof(s->failure), "%s: %s: cannot %s: %s%s%s%s%s", s->prog,
			 s->node.ifname, what, strerror(-r), why ? "\n" : "", why ? s->prog : "",
			 why ? ": hint: " : "", why ? why : "");
		goto out;
	}
	if (mode && mode->start) {
		snprintf(err, sizeof(err), "%s started; waiting for it to be up", s->node.ifname);
		notify(s, wm_sd_notify_status(err));
		if (mode->start(ctx, &node, err, sizeof(err)) < 0) {
			wm_startup_fail(s, err);
			goto out_node;
		}
	} else {
		wm_startup_ready(s, NULL);
	}
	if (!s->failure[0])
		ev_run(s->loop, 0);
	status = 0;
	notify(s, wm_sd_notify("STOPPING=1\nSTATUS=stopping"));
	if (mode && mode->stop)
		mode->stop(ctx);
out_node:
	wm_node_stop(&node);
out:
	if (s->failure[0]) {
		report(s, false, s->failure);
		return 1;
	}
	if (s->ready_fd >= 0) {
		snprintf(err, sizeof(err), "%s: stopped before it was up", s->prog);
		report(s, false, err);
	}
	wm_log_verbose("shut down");
	return status;
}
