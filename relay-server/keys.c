/* SPDX-License-Identifier: MIT */
#include "relay-server/keys.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/encoding.h"
#include "common/key.h"
#include "common/secret_file.h"
#include "common/json.h"

#define KEY_FILE_MAX 4096

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

bool wm_relay_parse_key(const char *text, uint8_t key[32])
{
	if (!strncmp(text, "nodekey:", 8) || !strncmp(text, "privkey:", 8))
		return wm_key_from_hex(key, text + 8);
	return wm_key_from_base64(key, text) || wm_key_from_hex(key, text);
}

struct json_key {
	char text[80];
	bool found;
};

/* derper reads its config with Go's encoding/json: the key matches in any case, the last wins. */
static int take_private_key(void *ctx, const json_t *v)
{
	struct json_key *jk = ctx;

	if (json_is_string(v) && json_string_length(v) < sizeof(jk->text)) {
		memcpy(jk->text, json_string_value(v), json_string_length(v) + 1);
		jk->found = true;
	}
	return 0;
}

/* The private key in derper's JSON, into jk (found stays false when there is none). */
static void read_json_key(const char *text, struct json_key *jk)
{
	json_t *o;

	wm_json_secret_begin();
	o = wm_json_load_object(text, strlen(text), 0, NULL, 0);
	if (o)
		wm_json_foreach_nocase(o, "PrivateKey", take_private_key, jk);
	json_decref(o);
	wm_json_secret_end();
}

static int create_key_file(const char *path, uint8_t key[32], char *err, size_t errlen)
{
	char b64[WM_KEY_B64_LEN + 1];
	int ret;

	randombytes_buf(key, 32);
	wm_key_clamp(key);
	wm_key_to_base64(b64, key);
	strcat(b64, "\n");
	ret = wm_secret_file_write(path, b64, strlen(b64), WM_SECRET_FILE_CREATE);
	sodium_memzero(b64, sizeof(b64));
	if (ret < 0)
		snprintf(err, errlen, "cannot create key file %s: %s", path, strerror(-ret));
	return ret;
}

int wm_relay_key_file_load(const char *path, uint8_t key[32], bool *created, char *err,
			   size_t errlen)
{
	char buf[KEY_FILE_MAX + 1], *text;
	struct json_key jk = { .found = false };
	struct stat st;
	ssize_t n;
	int fd, ret = 0;

	*created = false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		*created = true;
		return create_key_file(path, key, err, errlen);
	}
	if (fd < 0) {
		snprintf(err, errlen, "cannot open key file %s: %s", path, strerror(errno));
		return -errno;
	}
	if (!fstat(fd, &st) && (st.st_mode & 077))
		fprintf(stderr, "warning: key file %s is readable by others (mode %03o); "
			"chmod 600 it\n", path, (unsigned)(st.st_mode & 0777));
	n = read(fd, buf, KEY_FILE_MAX + 1);
	close(fd);
	if (n < 0 || n > KEY_FILE_MAX) {
		snprintf(err, errlen, "cannot read key file %s: %s", path,
			 n < 0 ? strerror(errno) : "longer than 4 KiB");
		return n < 0 ? -errno : -EFBIG;
	}
	buf[n] = '\0';
	text = trim(buf);
	if (text[0] == '{') {
		read_json_key(text, &jk);
		if (!jk.found)
			jk.text[0] = '\0';
		text = jk.text;
	}
	if (!wm_relay_parse_key(text, key)) {
		snprintf(err, errlen, "key file %s: expected a private key in base64 (wg genkey), "
			 "64 hex digits, or derper's {\"PrivateKey\":\"privkey:…\"}", path);
		ret = -EINVAL;
	}
	sodium_memzero(buf, sizeof(buf));
	sodium_memzero(&jk, sizeof(jk));
	return ret;
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

int wm_relay_allowlist_load(struct wm_relay_allowlist *al, const char *path, char *err,
			    size_t errlen)
{
	FILE *f = fopen(path, "re");
	char line[256];
	size_t cap = 0, lineno = 0;

	memset(al, 0, sizeof(*al));
	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		char *text;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%zu: line too long", path, lineno);
			goto bad;
		}
		text = line;
		text[strcspn(text, "#")] = '\0';
		text = trim(text);
		if (!*text)
			continue;
		if (al->count == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			void *p = realloc(al->keys, ncap * sizeof(*al->keys));

			if (!p) {
				snprintf(err, errlen, "%s: out of memory", path);
				goto bad;
			}
			al->keys = p;
			cap = ncap;
		}
		if (!wm_relay_parse_key(text, al->keys[al->count])) {
			snprintf(err, errlen, "%s:%zu: '%.60s' is not a public key (base64, 64 hex "
				 "digits, or nodekey:hex)", path, lineno, text);
			goto bad;
		}
		al->count++;
	}
	fclose(f);
	qsort(al->keys, al->count, sizeof(*al->keys), key_cmp);
	return 0;
bad:
	fclose(f);
	wm_relay_allowlist_free(al);
	return -EINVAL;
}

bool wm_relay_allowlist_has(const struct wm_relay_allowlist *al, const uint8_t key[32])
{
	return al->count && bsearch(key, al->keys, al->count, sizeof(*al->keys), key_cmp);
}

void wm_relay_allowlist_free(struct wm_relay_allowlist *al)
{
	free(al->keys);
	memset(al, 0, sizeof(*al));
}
