/* SPDX-License-Identifier: MIT */
#include "daemon/state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/encoding.h"
#include "common/secret_file.h"
#include "coord-client/coord_msg.h"
#include "engine/crypto.h"

#define NODE_KEY "node.key"
#define SERVER_KEY "server.key"
#define NETMAP "netmap.json"
#define COORD_URL "coord.url"

/* A key file is one short line; anything longer is not one. */
#define KEY_FILE_MAX 128

static int __attribute__((format(printf, 4, 5)))
say(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* Absolute, without trailing slashes, so the socket path stays valid after a chdir. */
static int set_dir(struct wm_state *st, const char *dir)
{
	char cwd[WM_STATE_DIR_MAX];
	size_t n = strlen(dir);
	int len;

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (!n)
		return -EINVAL;
	if (dir[0] == '/') {
		len = snprintf(st->dir, sizeof(st->dir), "%.*s", (int)n, dir);
	} else {
		if (!getcwd(cwd, sizeof(cwd)))
			return errno == ERANGE ? -ENAMETOOLONG : -errno;
		len = snprintf(st->dir, sizeof(st->dir), "%s%s%.*s", cwd,
			       strcmp(cwd, "/") ? "/" : "", (int)n, dir);
	}
	return len < 0 || (size_t)len >= sizeof(st->dir) ? -ENAMETOOLONG : 0;
}

static int mkdir_failed(const struct wm_state *st, int e, char *err, size_t errlen)
{
	if (e == ENOENT)
		return say(err, errlen, -e, "cannot create the state directory %s: its parent does "
			   "not exist (create the parent, or choose another --state directory)",
			   st->dir);
	return say(err, errlen, -e, "cannot create the state directory %s: %s (run as root, or "
		   "choose another --state directory)", st->dir, strerror(e));
}

int wm_state_open(struct wm_state *st, const char *dir, gid_t operator_gid, char *err,
		  size_t errlen)
{
	const mode_t want = operator_gid == (gid_t)-1 ? 0700 : 0710;
	struct stat sb;
	int ret;

	st->dirfd = -1;
	st->dir[0] = '\0';
	ret = set_dir(st, dir);
	if (ret == -EINVAL)
		return say(err, errlen, ret, "the state directory must not be empty");
	if (ret)
		return say(err, errlen, ret, "state directory %s: the path is too long (at most %d "
			   "characters): choose a shorter --state directory", dir,
			   WM_STATE_DIR_MAX - 1);
	if (mkdir(st->dir, 0700) && errno != EEXIST)
		return mkdir_failed(st, errno, err, errlen);
	st->dirfd = open(st->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->dirfd < 0) {
		ret = -errno;
		if (ret == -ENOTDIR)
			return say(err, errlen, ret, "%s is not a directory: remove it, or choose "
				   "another --state directory", st->dir);
		return say(err, errlen, ret, "cannot open the state directory %s: %s", st->dir,
			   strerror(-ret));
	}
	if (fstat(st->dirfd, &sb)) {
		ret = say(err, errlen, -errno, "cannot stat %s: %s", st->dir, strerror(errno));
		goto fail;
	}
	/* Someone else's directory could hold a key they chose: never adopt it. */
	if (sb.st_uid != geteuid()) {
		ret = say(err, errlen, -EPERM, "the state directory %s belongs to uid %u, not to "
			  "this user (uid %u): chown it, or choose another --state directory",
			  st->dir, (unsigned int)sb.st_uid, (unsigned int)geteuid());
		goto fail;
	}
	if (operator_gid != (gid_t)-1 && sb.st_gid != operator_gid) {
		if (fchown(st->dirfd, (uid_t)-1, operator_gid) || fstat(st->dirfd, &sb)) {
			ret = say(err, errlen, -errno, "cannot give the state directory %s to "
				  "group %u: %s (run as root, or choose a group this user is in)",
				  st->dir, (unsigned int)operator_gid, strerror(errno));
			goto fail;
		}
	}
	/* 0710: the operator group may reach the control socket by name, list or read nothing. */
	if ((sb.st_mode & 07777) != want && fchmod(st->dirfd, want)) {
		ret = say(err, errlen, -errno, "cannot set the state directory %s to mode %04o: %s",
			  st->dir, (unsigned int)want, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	close(st->dirfd);
	st->dirfd = -1;
	return ret;
}

void wm_state_close(struct wm_state *st)
{
	if (st->dirfd >= 0)
		close(st->dirfd);
	st->dirfd = -1;
}

/* --- files ------------------------------------------------------------------------------ */

/* O_NONBLOCK so that a FIFO planted under a file's name cannot hang the daemon. */
static int open_file(const struct wm_state *st, const char *name, struct stat *sb)
{
	int fd = openat(st->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);

	if (fd < 0)
		return -errno;
	if (fstat(fd, sb)) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	if (!S_ISREG(sb->st_mode)) {
		close(fd);
		return -EBADMSG;
	}
	return fd;
}

/* Reads to the end into buf; -EFBIG when the file holds more than cap bytes. */
static int read_fd(int fd, char *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	ssize_t r;
	char extra;

	for (;;) {
		r = n < cap ? read(fd, buf + n, cap - n) : read(fd, &extra, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		if (n == cap)
			return -EFBIG;
		n += (size_t)r;
	}
	*len = n;
	return 0;
}

/* Every file of the state directory is written whole or not at all, mode 0600. */
static int write_atomic(struct wm_state *st, const char *name, const char *data, size_t len)
{
	return wm_secret_file_write_at(st->dirfd, name, data, len, WM_SECRET_FILE_REPLACE);
}

/*
 * Reads a one-line key file: 0 with the text (without its newline) in buf, -ENOENT, -EBADMSG
 * when it is not a short regular file, or -errno. A private key file readable by others is
 * set to 0600 before anything is read from it.
 */
static int read_key_file(const struct wm_state *st, const char *name, bool secret,
			 char buf[KEY_FILE_MAX + 1], size_t *len)
{
	struct stat sb;
	int fd = open_file(st, name, &sb), ret;

	if (fd < 0)
		return fd;
	ret = secret && (sb.st_mode & 077) && fchmod(fd, 0600) ? -errno : 0;
	if (!ret)
		ret = read_fd(fd, buf, KEY_FILE_MAX, len);
	close(fd);
	if (ret == -EFBIG)
		return -EBADMSG;
	if (ret)
		return ret;
	if (*len && buf[*len - 1] == '\n')
		(*len)--;
	buf[*len] = '\0';
	return 0;
}

/* --- node.key --------------------------------------------------------------------------- */

static int create_node_key(struct wm_state *st, uint8_t key[WM_KEY_LEN], bool *created,
			   char *err, size_t errlen)
{
	uint8_t pub[WM_KEY_LEN];
	int ret;

	if (wm_crypto_init())
		return say(err, errlen, -EIO, "cannot initialise libsodium to make a node key");
	wm_crypto_generate_keypair(key, pub, &wm_rng_system);
	ret = wm_state_save_node_key(st, key);
	if (ret) {
		wm_crypto_wipe(key, WM_KEY_LEN);
		return say(err, errlen, ret, "cannot write a new node key to %s/" NODE_KEY ": %s",
			   st->dir, strerror(-ret));
	}
	*created = true;
	return 0;
}

int wm_state_node_key(struct wm_state *st, uint8_t key[WM_KEY_LEN], bool *created, char *err,
		      size_t errlen)
{
	char text[KEY_FILE_MAX + 1];
	size_t len = 0;
	int ret;

	*created = false;
	ret = read_key_file(st, NODE_KEY, true, text, &len);
	if (ret == -ENOENT)
		return create_node_key(st, key, created, err, errlen);
	if (ret == -EBADMSG ||
	    (!ret && (len != WM_KEY_B64_LEN - 1 || !wm_key_from_base64(key, text)))) {
		ret = say(err, errlen, -EBADMSG, "%s/" NODE_KEY " is not a WireGuard private key "
			  "(one line of base64, as `wg genkey` writes it): repair it, or remove it "
			  "to give this node a new identity", st->dir);
	} else if (ret) {
		say(err, errlen, ret, "cannot read %s/" NODE_KEY ": %s", st->dir, strerror(-ret));
	} else if (wm_key_is_zero(key)) {
		ret = say(err, errlen, -EBADMSG, "%s/" NODE_KEY " holds the all-zero key: remove "
			  "it to give this node a new identity", st->dir);
	}
	if (ret)
		wm_crypto_wipe(key, WM_KEY_LEN);
	wm_crypto_wipe(text, sizeof(text));
	return ret;
}

int wm_state_save_node_key(struct wm_state *st, const uint8_t key[WM_KEY_LEN])
{
	char text[WM_KEY_B64_LEN + 1];
	int ret;

	wm_key_to_base64(text, key);
	text[WM_KEY_B64_LEN - 1] = '\n';
	ret = write_atomic(st, NODE_KEY, text, WM_KEY_B64_LEN);
	wm_crypto_wipe(text, sizeof(text));
	return ret;
}

/* --- server.key ------------------------------------------------------------------------- */

int wm_state_load_server_key(struct wm_state *st, uint8_t key[WM_KEY_LEN], bool *found,
			     char *err, size_t errlen)
{
	char text[KEY_FILE_MAX + 1];
	size_t len = 0;
	int ret = read_key_file(st, SERVER_KEY, false, text, &len);

	*found = false;
	if (ret == -ENOENT)
		return 0;
	if (ret == -EBADMSG || (!ret && (len != WM_KEY_HEX_LEN - 1 ||
					 !wm_key_from_hex(key, text) || wm_key_is_zero(key))))
		return say(err, errlen, -EBADMSG, "%s/" SERVER_KEY " is not a public key (64 hex "
			   "digits): remove it to pin the server's key again on the next start",
			   st->dir);
	if (ret)
		return say(err, errlen, ret, "cannot read %s/" SERVER_KEY ": %s", st->dir,
			   strerror(-ret));
	*found = true;
	return 0;
}

int wm_state_save_server_key(struct wm_state *st, const uint8_t key[WM_KEY_LEN])
{
	char text[WM_KEY_HEX_LEN + 1];

	wm_key_to_hex(text, key);
	text[WM_KEY_HEX_LEN - 1] = '\n';
	return write_atomic(st, SERVER_KEY, text, WM_KEY_HEX_LEN);
}

/* --- netmap.json ------------------------------------------------------------------------ */

int wm_state_save_netmap(struct wm_state *st, const struct wm_netmap *nm)
{
	struct wm_coord_poll_resp r;
	char *text;
	int ret;

	/*
	 * Version 0 is "no netmap" (the protocol's word for none; the poll answer cannot carry it):
	 * forget the old one, so that a node logged out or refused does not restart with its peers.
	 */
	if (!nm->version) {
		if (unlinkat(st->dirfd, NETMAP, 0) && errno != ENOENT)
			return -errno;
		return fsync(st->dirfd) ? -errno : 0;
	}
	memset(&r, 0, sizeof(r));
	r.version = nm->version;
	r.netmap = *nm;			/* borrowed: the encoder only reads it */
	text = wm_coord_poll_resp_encode(&r);
	if (!text)
		return -ENOMEM;
	ret = write_atomic(st, NETMAP, text, strlen(text));
	free(text);
	return ret;
}

int wm_state_load_netmap(struct wm_state *st, struct wm_netmap *nm, bool *found, char *err,
			 size_t errlen)
{
	struct wm_coord_poll_resp r;
	char perr[WM_COORD_ERR_LEN] = "";
	struct stat sb;
	size_t len = 0;
	char *text;
	int fd, ret;

	*found = false;
	memset(nm, 0, sizeof(*nm));
	fd = open_file(st, NETMAP, &sb);
	if (fd == -ENOENT)
		return 0;
	if (fd == -EBADMSG)
		return say(err, errlen, fd, "%s/" NETMAP " is not a regular file: remove it",
			   st->dir);
	if (fd < 0)
		return say(err, errlen, fd, "cannot open %s/" NETMAP ": %s", st->dir,
			   strerror(-fd));
	if (sb.st_size < 0 || (uint64_t)sb.st_size > WM_COORD_RESPONSE_MAX) {
		close(fd);
		return say(err, errlen, -EFBIG, "%s/" NETMAP " is too large (%lld bytes, at "
			   "most %u)", st->dir, (long long)sb.st_size,
			   (unsigned int)WM_COORD_RESPONSE_MAX);
	}
	text = malloc((size_t)sb.st_size + 1);
	if (!text) {
		close(fd);
		return say(err, errlen, -ENOMEM, "out of memory reading %s/" NETMAP, st->dir);
	}
	/* A file that grew since fstat() is being written by someone else: read none of it. */
	ret = read_fd(fd, text, (size_t)sb.st_size, &len);
	close(fd);
	if (ret) {
		free(text);
		return say(err, errlen, ret, "cannot read %s/" NETMAP ": %s", st->dir,
			   strerror(-ret));
	}
	ret = wm_coord_poll_resp_parse(&r, text, len, perr, sizeof(perr));
	free(text);
	if (ret)
		return say(err, errlen, -EBADMSG, "%s/" NETMAP " is damaged: %s", st->dir, perr);
	if (r.unchanged)
		return say(err, errlen, -EBADMSG, "%s/" NETMAP " holds no netmap", st->dir);
	*nm = r.netmap;
	*found = true;
	return 0;
}

/* --- coord.url -------------------------------------------------------------------------- */

/* One line of printable ASCII without spaces, as a URL is. */
static bool url_ok(const char *url, size_t len)
{
	if (!len || len > WM_STATE_URL_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f)
			return false;
	return true;
}

int wm_state_load_url(struct wm_state *st, char *url, size_t cap, bool *found)
{
	char text[WM_STATE_URL_MAX + 2];
	struct stat sb;
	size_t len = 0;
	int fd, ret;

	*found = false;
	fd = open_file(st, COORD_URL, &sb);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	ret = read_fd(fd, text, sizeof(text), &len);
	close(fd);
	if (ret == -EFBIG)
		return -EBADMSG;
	if (ret)
		return ret;
	if (len && text[len - 1] == '\n')
		len--;
	if (!url_ok(text, len))
		return -EBADMSG;
	if (len >= cap)
		return -ERANGE;
	memcpy(url, text, len);
	url[len] = '\0';
	*found = true;
	return 0;
}

int wm_state_save_url(struct wm_state *st, const char *url)
{
	size_t len = strnlen(url, WM_STATE_URL_MAX + 1);
	char text[WM_STATE_URL_MAX + 1];

	if (!url_ok(url, len))
		return -EINVAL;
	memcpy(text, url, len);
	text[len] = '\n';
	return write_atomic(st, COORD_URL, text, len + 1);
}

/* --- the control socket ----------------------------------------------------------------- */

int wm_state_socket_path(const struct wm_state *st, char *out, size_t cap)
{
	const size_t sun_max = sizeof(((struct sockaddr_un *)NULL)->sun_path);
	int n = snprintf(out, cap, "%s/" WM_STATE_SOCKET_NAME, st->dir);

	if (n < 0 || (size_t)n >= cap || (size_t)n >= sun_max) {
		if (cap)
			out[0] = '\0';
		return -ENAMETOOLONG;
	}
	return 0;
}
