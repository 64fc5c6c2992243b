/* SPDX-License-Identifier: MIT */
#include "daemon/dns_host.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/json.h"
#include "common/log.h"
#include "daemon/dns.h"

extern char **environ;

#define RESOLV_CONF "/etc/resolv.conf"
#define RESOLVED_DIR "/run/systemd/resolve"
#define RESOLVED_STUB "127.0.0.53"
#define BACKUP_NAME "resolv.conf.orig"
/* The first line of what we write: how a file left by a crashed node is recognised. */
#define HEADER "# Written by wiremesh"

/* --- resolv.conf text ------------------------------------------------------------------- */

/* The next line of text[*at..len) into line (cut at cap - 1), moving *at past it. */
static bool next_line(const char *text, size_t len, size_t *at, char *line, size_t cap)
{
	size_t start = *at, n;

	if (start >= len)
		return false;
	while (*at < len && text[*at] != '\n')
		(*at)++;
	n = *at - start;
	if (*at < len)
		(*at)++;
	if (n >= cap)
		n = cap - 1;
	memcpy(line, text + start, n);
	line[n] = '\0';
	return true;
}

/* The line's first word is key; *rest points past it and its blanks. */
static bool keyword(const char *line, const char *key, const char **rest)
{
	size_t n = strlen(key);

	line += strspn(line, " \t");
	if (strncmp(line, key, n) || (line[n] != ' ' && line[n] != '\t'))
		return false;
	*rest = line + n + strspn(line + n, " \t");
	return true;
}

static bool is_resolver(const struct wm_endpoint *ep)
{
	static const uint8_t v4[4] = WM_DNS_ADDR4, v6[16] = WM_DNS_ADDR6;

	if (ep->addr.sa.sa_family == AF_INET)
		return !memcmp(&ep->addr.in4.sin_addr, v4, 4);
	return !memcmp(&ep->addr.in6.sin6_addr, v6, 16);
}

size_t wm_dns_host_nameservers(const char *text, size_t len, struct wm_endpoint *out,
			       size_t max)
{
	char line[256], addr[INET6_ADDRSTRLEN + 1];
	const char *rest;
	size_t at = 0, n = 0, k;

	while (n < max && next_line(text, len, &at, line, sizeof(line))) {
		struct wm_endpoint ep;

		if (!keyword(line, "nameserver", &rest))
			continue;
		k = strcspn(rest, " \t\r%");	/* a scope (%eth0) is not kept */
		if (!k || k >= sizeof(addr))
			continue;
		memcpy(addr, rest, k);
		addr[k] = '\0';
		memset(&ep, 0, sizeof(ep));
		if (inet_pton(AF_INET, addr, &ep.addr.in4.sin_addr) == 1) {
			ep.addr.in4.sin_family = AF_INET;
			ep.addr.in4.sin_port = htons(WM_DNS_PORT);
		} else if (inet_pton(AF_INET6, addr, &ep.addr.in6.sin6_addr) == 1) {
			ep.addr.in6.sin6_family = AF_INET6;
			ep.addr.in6.sin6_port = htons(WM_DNS_PORT);
		} else {
			continue;
		}
		if (!is_resolver(&ep))
			out[n++] = ep;
	}
	return n;
}

char *wm_dns_host_resolv_conf(const char *original, const char *suffix, const char *ifname)
{
	size_t len = strlen(original), at = 0, cap = len + strlen(suffix) + 512;
	char *out = malloc(cap), line[1024], search[1024] = "";
	const char *rest;
	size_t n;

	if (!out)
		return NULL;
	n = (size_t)snprintf(out, cap, HEADER " (wiremesh up --accept-dns) for %s: the mesh's "
			     "resolver answers NAME.%s\n# and forwards the rest; wiremesh down puts "
			     "the previous file back.\nnameserver 100.100.100.100\n", ifname, suffix);
	/* The original's search domains after ours (the last search line wins in glibc). */
	while (next_line(original, len, &at, line, sizeof(line))) {
		if (keyword(line, "search", &rest) || keyword(line, "domain", &rest))
			snprintf(search, sizeof(search), "%s", rest);
	}
	n += (size_t)snprintf(out + n, cap - n, "search %s%s%s\n", suffix, *search ? " " : "",
			      search);
	at = 0;
	while (next_line(original, len, &at, line, sizeof(line)) && n < cap - 1) {
		if (keyword(line, "options", &rest))
			n += (size_t)snprintf(out + n, cap - n, "%s\n", line);
	}
	return out;
}

/* --- files ------------------------------------------------------------------------------ */

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = malloc(WM_DNS_RESOLV_CONF_MAX + 1);
	n = buf ? fread(buf, 1, WM_DNS_RESOLV_CONF_MAX, f) : 0;
	fclose(f);
	if (buf)
		buf[n] = '\0';
	return buf;
}

/* In place (truncate and write), never by rename: the file may be a bind mount. */
static int write_in_place(const char *path, const char *text, mode_t create_mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, create_mode);
	size_t len = strlen(text), done = 0;
	ssize_t w;

	if (fd < 0)
		return -errno;
	while (done < len) {
		w = write(fd, text + done, len - done);
		if (w < 0) {
			w = -errno;
			close(fd);
			return (int)w;
		}
		done += (size_t)w;
	}
	return close(fd) < 0 ? -errno : 0;
}

/* The state directory's copy: a temporary file, synced, renamed over it (as state.c does). */
static int write_atomically(const char *path, const char *text)
{
	char tmp[320];
	int fd, err;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((err = write_in_place(tmp, text, 0600)) < 0)
		return err;
	fd = open(tmp, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	if (rename(tmp, path) < 0) {
		err = -errno;
		unlink(tmp);
		return err;
	}
	return 0;
}

/* --- systemd-resolved ------------------------------------------------------------------- */

/* Runs resolvectl with args (NULL-terminated after the program name); its exit status or -1. */
static int resolvectl(char *const argv[])
{
	pid_t pid;
	int status;

	if (posix_spawnp(&pid, "resolvectl", NULL, NULL, argv, environ))
		return -1;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool resolvectl_found(void)
{
	const char *path = getenv("PATH");
	char dir[512], file[600];

	for (path = path ? path : "/usr/bin:/bin"; *path; path += *path == ':') {
		size_t n = strcspn(path, ":");

		snprintf(dir, sizeof(dir), "%.*s", (int)n, path);
		path += n;
		snprintf(file, sizeof(file), "%s/resolvectl", *dir ? dir : ".");
		if (!access(file, X_OK))
			return true;
	}
	return false;
}

/* resolved runs and the host's stub resolver is it (resolv.conf names 127.0.0.53). */
static bool resolved_in_use(const char *dir, const char *text)
{
	struct stat st;
	struct wm_endpoint eps[WM_DNS_MAX_UPSTREAMS];
	size_t n = wm_dns_host_nameservers(text, strlen(text), eps, WM_DNS_MAX_UPSTREAMS);
	char addr[INET_ADDRSTRLEN];

	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || !resolvectl_found())
		return false;
	for (size_t i = 0; i < n; i++)
		if (eps[i].addr.sa.sa_family == AF_INET &&
		    inet_ntop(AF_INET, &eps[i].addr.in4.sin_addr, addr, sizeof(addr)) &&
		    !strcmp(addr, RESOLVED_STUB))
			return true;
	return false;
}

static void apply_resolved(struct wm_dns_host *h, const char *suffix)
{
	char routing[WM_NETMAP_DNS_SUFFIX_MAX + 2];
	char *dns[] = { "resolvectl", "dns", h->ifname, "100.100.100.100", "fd77:6d65:7368::53",
			NULL };
	char *domain[] = { "resolvectl", "domain", h->ifname, (char *)suffix, routing, NULL };
	char *default_route[] = { "resolvectl", "default-route", h->ifname, "false", NULL };

	snprintf(routing, sizeof(routing), "~%s", suffix);
	if (resolvectl(dns) || resolvectl(domain) || resolvectl(default_route)) {
		snprintf(h->note, sizeof(h->note), "resolvectl failed for %s; the host does not "
			 "use the mesh's resolver", h->ifname);
		wm_log_error("dns: %s", h->note);
		return;
	}
	snprintf(h->note, sizeof(h->note), "systemd-resolved: DNS 100.100.100.100 and domain %s "
		 "on %s", suffix, h->ifname);
}

/* --- the host --------------------------------------------------------------------------- */

int wm_dns_host_start(struct wm_dns_host *h, enum wm_dns_accept accept, const char *ifname,
		      const char *state_dir, const struct wm_dns_host_paths *paths)
{
	const char *resolv_conf = paths ? paths->resolv_conf : NULL;
	const char *resolved_dir = paths ? paths->resolved_dir : NULL;
	char *text, *backup;

	memset(h, 0, sizeof(*h));
	h->accept = accept;
	snprintf(h->ifname, sizeof(h->ifname), "%s", ifname);
	snprintf(h->resolv_conf, sizeof(h->resolv_conf), "%s", resolv_conf ? resolv_conf :
		 RESOLV_CONF);
	snprintf(h->resolved_dir, sizeof(h->resolved_dir), "%s", resolved_dir ? resolved_dir :
		 RESOLVED_DIR);
	snprintf(h->backup, sizeof(h->backup), "%s/" BACKUP_NAME, state_dir);
	text = read_text(h->resolv_conf);
	if (!text && !(text = strdup("")))
		return -ENOMEM;
	/* Ours, left by a node that did not stop cleanly: the text before it is the backup. */
	if (!strncmp(text, HEADER, strlen(HEADER)) && (backup = read_text(h->backup))) {
		wm_log_error("dns: %s still points at the mesh's resolver; the copy in %s is "
			     "taken as the host's own", h->resolv_conf, h->backup);
		free(text);
		text = backup;
	}
	h->n_upstreams = wm_dns_host_nameservers(text, strlen(text), h->upstreams,
						 WM_DNS_MAX_UPSTREAMS);
	if (accept == WM_DNS_ACCEPT_NO) {
		snprintf(h->note, sizeof(h->note), "--accept-dns=false: the host's DNS is left "
			 "alone");
	} else if (resolved_in_use(h->resolved_dir, text)) {
		h->mode = WM_DNS_HOST_RESOLVED;
	} else if (accept == WM_DNS_ACCEPT_YES) {
		h->mode = WM_DNS_HOST_RESOLV_CONF;
		h->original = text;
		text = NULL;
	} else {
		snprintf(h->note, sizeof(h->note), "no systemd-resolved: %s is left alone "
			 "(wiremesh up --accept-dns points it at 100.100.100.100)", h->resolv_conf);
	}
	free(text);
	return 0;
}

static void apply_resolv_conf(struct wm_dns_host *h, const char *suffix)
{
	char *text = wm_dns_host_resolv_conf(h->original, suffix, h->ifname);
	int err;

	if (!text)
		return;
	/* The host's own text first, so that a crash before down loses nothing. */
	if (!h->written && (err = write_atomically(h->backup, h->original)) < 0) {
		snprintf(h->note, sizeof(h->note), "cannot keep a copy of %s in %s (%s); left it "
			 "alone", h->resolv_conf, h->backup, strerror(-err));
		wm_log_error("dns: %s", h->note);
		free(text);
		return;
	}
	if ((err = write_in_place(h->resolv_conf, text, 0644)) < 0) {
		snprintf(h->note, sizeof(h->note), "cannot write %s: %s", h->resolv_conf,
			 strerror(-err));
		wm_log_error("dns: %s", h->note);
		free(text);
		return;
	}
	free(h->written);
	h->written = text;
	snprintf(h->note, sizeof(h->note), "%s points at 100.100.100.100 with search domain %s "
		 "(restored on down)", h->resolv_conf, suffix);
}

void wm_dns_host_apply(struct wm_dns_host *h, const char *suffix)
{
	if (!suffix[0] || !strcmp(suffix, h->suffix))
		return;
	snprintf(h->suffix, sizeof(h->suffix), "%s", suffix);
	if (h->mode == WM_DNS_HOST_RESOLVED)
		apply_resolved(h, suffix);
	else if (h->mode == WM_DNS_HOST_RESOLV_CONF)
		apply_resolv_conf(h, suffix);
}

static void restore_resolv_conf(struct wm_dns_host *h)
{
	char *now = read_text(h->resolv_conf);
	int err;

	if (!now || strcmp(now, h->written)) {
		wm_log_error("dns: %s changed since wiremesh wrote it: left as it is (the text "
			     "from before is in %s)", h->resolv_conf, h->backup);
	} else if ((err = write_in_place(h->resolv_conf, h->original, 0644)) < 0) {
		wm_log_error("dns: cannot put %s back: %s (the text is in %s)", h->resolv_conf,
			     strerror(-err), h->backup);
	} else {
		unlink(h->backup);
	}
	free(now);
}

void wm_dns_host_stop(struct wm_dns_host *h)
{
	char *revert[] = { "resolvectl", "revert", h->ifname, NULL };

	if (h->mode == WM_DNS_HOST_RESOLVED && h->suffix[0] && resolvectl(revert))
		wm_log_error("dns: resolvectl revert %s failed", h->ifname);
	if (h->mode == WM_DNS_HOST_RESOLV_CONF && h->written)
		restore_resolv_conf(h);
	free(h->original);
	free(h->written);
	h->original = h->written = NULL;
	h->suffix[0] = '\0';
}

const char *wm_dns_host_mode_name(enum wm_dns_host_mode mode)
{
	switch (mode) {
	case WM_DNS_HOST_UNTOUCHED:
		return "untouched";
	case WM_DNS_HOST_RESOLVED:
		return "systemd-resolved";
	case WM_DNS_HOST_RESOLV_CONF:
		return "resolv.conf";
	}
	return "?";
}

json_t *wm_dns_host_json(const struct wm_dns_host *h)
{
	json_t *o = json_object();

	wm_json_put(o, "host", json_string(wm_dns_host_mode_name(h->mode)));
	wm_json_put(o, "host_note", json_string(h->note));
	wm_json_put(o, "upstreams", wm_json_endpoints_new(h->upstreams, h->n_upstreams));
	return o;
}
