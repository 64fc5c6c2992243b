/* SPDX-License-Identifier: MIT */
/*
 * An endpoint is where a peer's datagrams go and come from: an IPv4 or IPv6
 * address and UDP port. Kept as a sockaddr union so the I/O layer can hand it
 * straight to sendmsg(); the protocol cores only compare and copy it.
 */
#ifndef WM_ENDPOINT_H
#define WM_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

struct wm_endpoint {
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	} addr;
	/*
	 * Our own address the peer's packets arrived at, so replies leave from it
	 * ("sticky" source, as the kernel implementation does on multi-homed
	 * hosts); all zeros lets the kernel choose. Not part of equality.
	 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} src;
	uint32_t src_ifindex;
};

/* True when a source address is remembered. */
bool wm_endpoint_has_src(const struct wm_endpoint *ep);

/* Forgets the source address (it stopped being ours). */
void wm_endpoint_clear_src(struct wm_endpoint *ep);

/* Longest text form: "[" + IPv6 with scope + "]:" + port + NUL. */
#define WM_ENDPOINT_STR_LEN 72

/* True when the endpoint holds an IPv4 or IPv6 address. */
static inline bool wm_endpoint_is_set(const struct wm_endpoint *ep)
{
	return ep->addr.sa.sa_family == AF_INET || ep->addr.sa.sa_family == AF_INET6;
}

/* Length of the sockaddr inside, for sendmsg(); 0 when unset. */
socklen_t wm_endpoint_socklen(const struct wm_endpoint *ep);

/* True when both hold the same family, address and port. */
bool wm_endpoint_equal(const struct wm_endpoint *a, const struct wm_endpoint *b);

/* Parses "1.2.3.4:51820" or "[2001:db8::1]:51820" (no name lookup). 0 or -EINVAL. */
int wm_endpoint_parse(struct wm_endpoint *ep, const char *text);

/* Formats as the parser accepts it; "(none)" when unset. */
void wm_endpoint_format(const struct wm_endpoint *ep, char out[WM_ENDPOINT_STR_LEN]);

/*
 * Writes the address and port bytes (network order) that identify the source
 * for cookies and rate limiting: 6 bytes for IPv4, 18 for IPv6. Returns the count.
 */
size_t wm_endpoint_source_bytes(const struct wm_endpoint *ep, uint8_t out[18]);

#endif
