/* SPDX-License-Identifier: MIT */
/*
 * TLS over a non-blocking socket with mbedTLS (2.28, TLS 1.2), for a libev loop: every call
 * returns -EAGAIN instead of blocking, and wm_tls_wants_write() says which readiness to wait
 * for. One config (certificates, RNG) is shared by many sessions on one thread.
 *
 * Used by the relay client and server and by the coordination client and server.
 */
#ifndef WM_TLS_STREAM_H
#define WM_TLS_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define WM_TLS_SYSTEM_CA_FILE "/etc/ssl/certs/ca-certificates.crt"

struct wm_tls_config;
struct wm_tls;

/* A client config trusting the CAs (or pinned self-signed certificate) in ca_file, or the
 * system store when NULL. NULL on failure, with the reason in err. */
struct wm_tls_config *wm_tls_client_config_new(const char *ca_file, char *err, size_t errlen);

/* A server config with a PEM certificate chain and private key. NULL on failure, reason in err. */
struct wm_tls_config *wm_tls_server_config_new(const char *cert_file, const char *key_file,
					       char *err, size_t errlen);

void wm_tls_config_free(struct wm_tls_config *cfg);

/* A session over fd (not owned). Clients pass the host name for SNI and certificate checks,
 * servers NULL. NULL when out of memory. */
struct wm_tls *wm_tls_new(struct wm_tls_config *cfg, int fd, const char *hostname);

void wm_tls_free(struct wm_tls *t);

/* Advances the handshake: 0 when done, -EAGAIN to wait for I/O, -EPROTO (or another negative
 * errno) on failure, with the reason from wm_tls_error(). */
int wm_tls_handshake(struct wm_tls *t);

/* Plaintext bytes read, 0 at the end of the stream, -EAGAIN, or a negative errno. */
ssize_t wm_tls_read(struct wm_tls *t, void *buf, size_t len);

/*
 * Plaintext bytes taken from buf (perhaps fewer than len), -EAGAIN, or a negative errno. After
 * -EAGAIN, call again with buf still starting with the same bytes (more may follow).
 */
ssize_t wm_tls_write(struct wm_tls *t, const void *buf, size_t len);

/* Whether the last -EAGAIN waits for the socket to become writable (else readable). */
bool wm_tls_wants_write(const struct wm_tls *t);

/* True when records are buffered inside TLS: read again without waiting for the socket. */
bool wm_tls_has_pending(const struct wm_tls *t);

/*
 * A connection that is TLS or plain: reads from / writes to the session t, or
 * the plain socket fd when t is NULL. Bytes, 0 at the end of the stream (read),
 * -EAGAIN when the socket is not ready, or another negative errno. Writes
 * never raise SIGPIPE.
 */
ssize_t wm_stream_read(struct wm_tls *t, int fd, void *buf, size_t len);
ssize_t wm_stream_write(struct wm_tls *t, int fd, const void *buf, size_t len);

/* After -EAGAIN from one of those: wait for writability (else readability). */
bool wm_stream_wants_write(const struct wm_tls *t, bool was_writing);

/* The last failure as text. */
const char *wm_tls_error(const struct wm_tls *t);

#endif
