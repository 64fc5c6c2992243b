/* SPDX-License-Identifier: MIT */
#include "common/tls_stream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

struct wm_tls_config {
	mbedtls_ssl_config conf;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_x509_crt certs;		/* client: trusted CAs; server: own chain */
	mbedtls_pk_context key;		/* server only */
};

struct wm_tls {
	mbedtls_ssl_context ssl;
	int fd;
	bool want_write;
	size_t retry_len;	/* length of a write that returned WANT_WRITE */
	char error[160];
};

static void describe(char *out, size_t len, const char *what, int ret)
{
	char buf[100];

	mbedtls_strerror(ret, buf, sizeof(buf));
	snprintf(out, len, "%s: %s", what, buf);
}

static struct wm_tls_config *config_new(int endpoint, char *err, size_t errlen)
{
	static const char pers[] = "wiremesh-tls";
	struct wm_tls_config *cfg = calloc(1, sizeof(*cfg));
	int ret;

	if (!cfg) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	mbedtls_ssl_config_init(&cfg->conf);
	mbedtls_entropy_init(&cfg->entropy);
	mbedtls_ctr_drbg_init(&cfg->drbg);
	mbedtls_x509_crt_init(&cfg->certs);
	mbedtls_pk_init(&cfg->key);
	ret = mbedtls_ctr_drbg_seed(&cfg->drbg, mbedtls_entropy_func, &cfg->entropy,
				    (const unsigned char *)pers, sizeof(pers) - 1);
	if (!ret)
		ret = mbedtls_ssl_config_defaults(&cfg->conf, endpoint, MBEDTLS_SSL_TRANSPORT_STREAM,
						  MBEDTLS_SSL_PRESET_DEFAULT);
	if (ret) {
		describe(err, errlen, "TLS setup", ret);
		wm_tls_config_free(cfg);
		return NULL;
	}
	mbedtls_ssl_conf_rng(&cfg->conf, mbedtls_ctr_drbg_random, &cfg->drbg);
	/* cmd/derper: MinVersion TLS 1.2. No ALPN: the upgrade needs HTTP/1.1, never h2. */
	mbedtls_ssl_conf_min_version(&cfg->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
				     MBEDTLS_SSL_MINOR_VERSION_3);
	return cfg;
}

struct wm_tls_config *wm_tls_client_config_new(const char *ca_file, char *err, size_t errlen)
{
	struct wm_tls_config *cfg = config_new(MBEDTLS_SSL_IS_CLIENT, err, errlen);
	const char *file = ca_file ? ca_file : WM_TLS_SYSTEM_CA_FILE;
	int ret;

	if (!cfg)
		return NULL;
	ret = mbedtls_x509_crt_parse_file(&cfg->certs, file);
	/* A positive count means some certificates of a bundle did not parse: keep the rest. */
	if (ret < 0 || cfg->certs.version == 0) {
		char what[300];

		snprintf(what, sizeof(what), "CA file %s", file);
		describe(err, errlen, what, ret < 0 ? ret : MBEDTLS_ERR_X509_INVALID_FORMAT);
		wm_tls_config_free(cfg);
		return NULL;
	}
	mbedtls_ssl_conf_authmode(&cfg->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&cfg->conf, &cfg->certs, NULL);
	return cfg;
}

struct wm_tls_config *wm_tls_server_config_new(const char *cert_file, const char *key_file,
					       char *err, size_t errlen)
{
	struct wm_tls_config *cfg = config_new(MBEDTLS_SSL_IS_SERVER, err, errlen);
	char what[300];
	int ret;

	if (!cfg)
		return NULL;
	ret = mbedtls_x509_crt_parse_file(&cfg->certs, cert_file);
	if (ret) {
		snprintf(what, sizeof(what), "certificate %s", cert_file);
		describe(err, errlen, what, ret < 0 ? ret : MBEDTLS_ERR_X509_INVALID_FORMAT);
		goto fail;
	}
	ret = mbedtls_pk_parse_keyfile(&cfg->key, key_file, NULL);
	if (ret) {
		snprintf(what, sizeof(what), "private key %s", key_file);
		describe(err, errlen, what, ret);
		goto fail;
	}
	ret = mbedtls_ssl_conf_own_cert(&cfg->conf, &cfg->certs, &cfg->key);
	if (ret) {
		snprintf(what, sizeof(what), "certificate %s with key %s", cert_file, key_file);
		describe(err, errlen, what, ret);
		goto fail;
	}
	return cfg;
fail:
	wm_tls_config_free(cfg);
	return NULL;
}

void wm_tls_config_free(struct wm_tls_config *cfg)
{
	if (!cfg)
		return;
	mbedtls_ssl_config_free(&cfg->conf);
	mbedtls_x509_crt_free(&cfg->certs);
	mbedtls_pk_free(&cfg->key);
	mbedtls_ctr_drbg_free(&cfg->drbg);
	mbedtls_entropy_free(&cfg->entropy);
	free(cfg);
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct wm_tls *t = ctx;
	ssize_t n = send(t->fd, buf, len, MSG_NOSIGNAL);

	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	return errno == EPIPE || errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET
						     : MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct wm_tls *t = ctx;
	ssize_t n = recv(t->fd, buf, len, 0);

	if (n >= 0)
		return (int)n;	/* 0 is the end of the stream */
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_READ;
	return errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_RECV_FAILED;
}

struct wm_tls *wm_tls_new(struct wm_tls_config *cfg, int fd, const char *hostname)
{
	struct wm_tls *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->fd = fd;
	mbedtls_ssl_init(&t->ssl);
	if (mbedtls_ssl_setup(&t->ssl, &cfg->conf) ||
	    (hostname && mbedtls_ssl_set_hostname(&t->ssl, hostname))) {
		wm_tls_free(t);
		return NULL;
	}
	mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
	return t;
}

void wm_tls_free(struct wm_tls *t)
{
	if (!t)
		return;
	mbedtls_ssl_free(&t->ssl);
	free(t);
}

/* Maps an mbedTLS result; non-negative results pass through. */
static int map_result(struct wm_tls *t, int ret, const char *what)
{
	if (ret >= 0)
		return ret;
	if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
		t->want_write = ret == MBEDTLS_ERR_SSL_WANT_WRITE;
		return -EAGAIN;
	}
	if (ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
		char info[120];

		mbedtls_x509_crt_verify_info(info, sizeof(info), "",
					     mbedtls_ssl_get_verify_result(&t->ssl));
		info[strcspn(info, "\n")] = '\0';
		snprintf(t->error, sizeof(t->error), "%s: certificate not trusted (%s)", what, info);
		return -EPROTO;
	}
	describe(t->error, sizeof(t->error), what, ret);
	if (ret == MBEDTLS_ERR_NET_CONN_RESET || ret == MBEDTLS_ERR_SSL_CONN_EOF)
		return -ECONNRESET;
	return -EPROTO;
}

int wm_tls_handshake(struct wm_tls *t)
{
	return map_result(t, mbedtls_ssl_handshake(&t->ssl), "TLS handshake");
}

ssize_t wm_tls_read(struct wm_tls *t, void *buf, size_t len)
{
	int ret = mbedtls_ssl_read(&t->ssl, buf, len);

	if (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || ret == MBEDTLS_ERR_SSL_CONN_EOF)
		return 0;
	return map_result(t, ret, "TLS read");
}

ssize_t wm_tls_write(struct wm_tls *t, const void *buf, size_t len)
{
	int ret;

	/* mbedTLS resumes a blocked record only when called with the same length again. */
	if (t->retry_len && len >= t->retry_len)
		len = t->retry_len;
	ret = mbedtls_ssl_write(&t->ssl, buf, len);
	if (ret == MBEDTLS_ERR_SSL_WANT_WRITE || ret == MBEDTLS_ERR_SSL_WANT_READ)
		t->retry_len = len;
	else
		t->retry_len = 0;
	return map_result(t, ret, "TLS write");
}

bool wm_tls_wants_write(const struct wm_tls *t)
{
	return t->want_write;
}

bool wm_tls_has_pending(const struct wm_tls *t)
{
	return mbedtls_ssl_check_pending(&t->ssl) != 0;
}

const char *wm_tls_error(const struct wm_tls *t)
{
	return t->error;
}

/* A plain socket's errno as the stream result: the would-block family becomes -EAGAIN. */
static ssize_t plain_result(ssize_t n)
{
	if (n >= 0)
		return n;
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN : -errno;
}

ssize_t wm_stream_read(struct wm_tls *t, int fd, void *buf, size_t len)
{
	return t ? wm_tls_read(t, buf, len) : plain_result(recv(fd, buf, len, 0));
}

ssize_t wm_stream_write(struct wm_tls *t, int fd, const void *buf, size_t len)
{
	return t ? wm_tls_write(t, buf, len) : plain_result(send(fd, buf, len, MSG_NOSIGNAL));
}

bool wm_stream_wants_write(const struct wm_tls *t, bool was_writing)
{
	return t ? wm_tls_wants_write(t) : was_writing;
}
