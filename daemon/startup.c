/* SPDX-License-Identifier: MIT */
#include "daemon/startup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

/* What the detached child does with its stderr once it has reported (wm_startup_detach). */
static bool keep_stderr;
static const char *syslog_ident;

int wm_startup_detach(int *ready_fd, bool keep_logs_on_stderr, const char *ident)
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
	*ready_fd = pipefd[1];
	keep_stderr = keep_logs_on_stderr;
	syslog_ident = ident;
	return 0;
}

/* Nothing of the caller's stays open: whoever waits for end-of-file (a $(…), a pipe, ssh) gets it. */
static void let_go_of_callers_output(void)
{
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (devnull < 0)
		return;
	if (!keep_stderr) {
		if (wm_log_level() != WM_LOG_SILENT)
			wm_log_use_syslog(syslog_ident);
		dup2(devnull, STDERR_FILENO);
	}
	dup2(devnull, STDIN_FILENO);
	dup2(devnull, STDOUT_FILENO);
	close(devnull);
}

void wm_startup_report(int *ready_fd, bool ok, const char *message)
{
	char status = ok ? 0 : 1;

	if (*ready_fd < 0) {
		if (message && *message)
			fprintf(ok ? stdout : stderr, "%s\n", message);
		fflush(stdout);
		return;
	}
	if (write(*ready_fd, &status, 1) != 1 ||
	    (message && write(*ready_fd, message, strlen(message)) < 0)) {
		/* The parent is gone; nothing else to tell. */
	}
	close(*ready_fd);
	*ready_fd = -1;
	let_go_of_callers_output();
}

const char *wm_startup_hint(int err)
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
