/* SPDX-License-Identifier: MIT */
#include "nat/udp.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/sockmark.h"

enum { MAX_BATCH = 128 };

/* Offloads unless the user asked for none (--no-offload); process-wide. */
static bool offloads_wanted = true;

void wm_udp_init(struct wm_udp *udp)
{
	udp->fd4 = udp->fd6 = -1;
	udp->port = 0;
	udp->fwmark = 0;
	udp->gso = udp->gro = false;
	udp->gso_buf = NULL;
}

static bool enable_gro(int fd)
{
	int one = 1;

	return fd < 0 || setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)) == 0;
}

static void probe_offloads(struct wm_udp *udp)
{
	int fd = udp->fd4 >= 0 ? udp->fd4 : udp->fd6, seg = 0;
	socklen_t len = sizeof(seg);

	udp->gso = offloads_wanted && getsockopt(fd, IPPROTO_UDP, UDP_SEGMENT, &seg, &len) == 0;
	udp->gro = offloads_wanted && enable_gro(udp->fd4) && enable_gro(udp->fd6);
}

void wm_udp_set_offloads(struct wm_udp *udp, bool enable)
{
	int zero = 0;

	offloads_wanted = enable;
	if (!enable) {
		if (udp->fd4 >= 0)
			setsockopt(udp->fd4, IPPROTO_UDP, UDP_GRO, &zero, sizeof(zero));
		if (udp->fd6 >= 0)
			setsockopt(udp->fd6, IPPROTO_UDP, UDP_GRO, &zero, sizeof(zero));
		udp->gso = udp->gro = false;
	} else if (udp->fd4 >= 0 || udp->fd6 >= 0) {
		probe_offloads(udp);
	}
}

static int set_mark(int fd, uint32_t mark)
{
#ifdef SO_MARK
	if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
		return -errno;
	return 0;
#else
	(void)fd;
	return mark ? -EOPNOTSUPP : 0;
#endif
}

/*
 * Bursts of a full batch arrive faster than one loop turn drains them; the
 * default 208 KiB buffers drop them (wireguard-go asks for 7 MiB too). The
 * FORCE variants need CAP_NET_ADMIN; without it the kernel caps the request.
 */
static void grow_buffers(int fd)
{
	int size = 7 << 20;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

static int open_bound(int family, uint16_t port, uint16_t *bound)
{
	struct wm_endpoint ep = { 0 };
	socklen_t len;
	int fd, one = 1, err;

	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Outside an exit node's tunnel (common/sockmark.h); a `fwmark` set later replaces it. */
	if ((err = wm_sockmark_apply(fd)) < 0) {
		close(fd);
		return err;
	}
	if (family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		ep.addr.in6.sin6_family = AF_INET6;
		ep.addr.in6.sin6_port = htons(port);
	} else {
		ep.addr.in4.sin_family = AF_INET;
		ep.addr.in4.sin_port = htons(port);
	}
	grow_buffers(fd);
	/* Learn which of our addresses each datagram came to, for sticky source addresses. */
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	else
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	if (bind(fd, &ep.addr.sa, wm_endpoint_socklen(&ep)) < 0)
		goto fail;
	len = sizeof(ep.addr);
	if (getsockname(fd, &ep.addr.sa, &len) < 0)
		goto fail;
	*bound = ntohs(family == AF_INET6 ? ep.addr.in6.sin6_port : ep.addr.in4.sin_port);
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

/* An unsupported family (no IPv6 in this namespace, say) is not an error. */
static bool family_missing(int err)
{
	return err == -EAFNOSUPPORT || err == -EADDRNOTAVAIL || err == -EPROTONOSUPPORT;
}

int wm_udp_bind(struct wm_udp *udp, uint16_t port, uint32_t fwmark)
{
	int attempt, fd4 = -1, fd6 = -1, err = 0;
	uint16_t bound = 0, bound4;

	/* With port 0, the kernel's choice for IPv6 may be taken for IPv4: retry a few times. */
	for (attempt = 0; attempt < 16; attempt++) {
		fd6 = open_bound(AF_INET6, port, &bound);
		if (fd6 < 0 && !family_missing(fd6))
			return fd6;
		fd4 = open_bound(AF_INET, fd6 >= 0 ? bound : port, &bound4);
		if (fd4 >= 0 || family_missing(fd4)) {
			if (fd6 < 0)
				bound = bound4;
			break;
		}
		err = fd4;
		if (fd6 >= 0)
			close(fd6);
		fd6 = -1;
		if (port != 0 || err != -EADDRINUSE)
			return err;
	}
	if (fd4 < 0 && fd6 < 0)
		return err ? err : -EADDRNOTAVAIL;
	if (fwmark && ((err = set_mark(fd4, fwmark)) < 0 || (err = set_mark(fd6, fwmark)) < 0)) {
		if (fd4 >= 0)
			close(fd4);
		if (fd6 >= 0)
			close(fd6);
		return err;
	}
	udp->fd4 = fd4 >= 0 ? fd4 : -1;
	udp->fd6 = fd6 >= 0 ? fd6 : -1;
	udp->port = bound;
	udp->fwmark = fwmark;
	udp->gso_buf = NULL;
	probe_offloads(udp);
	return 0;
}

int wm_udp_set_fwmark(struct wm_udp *udp, uint32_t fwmark)
{
	int err = set_mark(udp->fd4, fwmark);

	if (!err)
		err = set_mark(udp->fd6, fwmark);
	if (!err)
		udp->fwmark = fwmark;
	return err;
}

/*
 * Reads the control messages of one datagram: the UDP_GRO segment size (0 for
 * a single datagram) and the local address it arrived at.
 */
static uint16_t read_control(struct msghdr *msg, struct wm_endpoint *ep)
{
	struct cmsghdr *c;
	uint16_t segment = 0;

	wm_endpoint_clear_src(ep);
	for (c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO) {
			int seg;

			memcpy(&seg, CMSG_DATA(c), sizeof(seg));
			segment = seg > 0 && seg <= 65535 ? (uint16_t)seg : 0;
		} else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			ep->src.v4 = pi.ipi_addr;
			ep->src_ifindex = (uint32_t)pi.ipi_ifindex;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			ep->src.v6 = pi.ipi6_addr;
			ep->src_ifindex = pi.ipi6_ifindex;
		}
	}
	return segment;
}

/* Room for every control message we ask for, sent or received. */
enum {
	CONTROL_LEN = CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct in6_pktinfo)),
};

/*
 * Writes the control messages for sending to ep: its sticky source address and,
 * when segment > 0, UDP_SEGMENT. Returns the length used.
 */
static size_t write_control(char *buf, size_t cap, const struct wm_endpoint *ep, uint16_t segment)
{
	struct msghdr msg = { .msg_control = buf, .msg_controllen = cap };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	size_t used = 0;

	memset(buf, 0, cap);
	if (segment) {
		c->cmsg_level = IPPROTO_UDP;
		c->cmsg_type = UDP_SEGMENT;
		c->cmsg_len = CMSG_LEN(sizeof(segment));
		memcpy(CMSG_DATA(c), &segment, sizeof(segment));
		used += CMSG_SPACE(sizeof(segment));
		c = (struct cmsghdr *)(buf + used);
	}
	if (wm_endpoint_has_src(ep) && ep->addr.sa.sa_family == AF_INET) {
		struct in_pktinfo pi = { .ipi_spec_dst = ep->src.v4 };

		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		used += CMSG_SPACE(sizeof(pi));
	} else if (wm_endpoint_has_src(ep) && ep->addr.sa.sa_family == AF_INET6) {
		struct in6_pktinfo pi = { .ipi6_addr = ep->src.v6, .ipi6_ifindex = ep->src_ifindex };

		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		used += CMSG_SPACE(sizeof(pi));
	}
	return used;
}

int wm_udp_recv_batch(int fd, struct wm_udp_slot *slots, size_t n)
{
	struct mmsghdr msgs[MAX_BATCH];
	struct iovec iov[MAX_BATCH];
	char control[MAX_BATCH][CONTROL_LEN];
	size_t i;
	int got;

	if (n > MAX_BATCH)
		n = MAX_BATCH;
	memset(msgs, 0, n * sizeof(msgs[0]));
	for (i = 0; i < n; i++) {
		iov[i].iov_base = slots[i].buf;
		iov[i].iov_len = slots[i].cap;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &slots[i].addr.addr;
		msgs[i].msg_hdr.msg_namelen = sizeof(slots[i].addr.addr);
		msgs[i].msg_hdr.msg_control = control[i];
		msgs[i].msg_hdr.msg_controllen = sizeof(control[i]);
	}
	got = recvmmsg(fd, msgs, (unsigned)n, MSG_DONTWAIT, NULL);
	if (got < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
	for (i = 0; i < (size_t)got; i++) {
		slots[i].len = msgs[i].msg_len;
		slots[i].segment = read_control(&msgs[i].msg_hdr, &slots[i].addr);
		if (slots[i].segment >= slots[i].len)
			slots[i].segment = 0;
	}
	return got;
}

static int socket_for(const struct wm_udp *udp, const struct wm_endpoint *to)
{
	if (to->addr.sa.sa_family == AF_INET)
		return udp->fd4;
	if (to->addr.sa.sa_family == AF_INET6)
		return udp->fd6;
	return -1;
}

/*
 * A send from a source address that is no longer ours fails (EINVAL, or
 * ENETUNREACH/EADDRNOTAVAIL when no route leaves from it): worth one retry
 * without it. A full buffer is not such a failure.
 */
static bool stale_source(int err, const struct wm_endpoint *ep)
{
	return wm_endpoint_has_src(ep) && err != EAGAIN && err != EWOULDBLOCK && err != ENOBUFS &&
	       err != EINTR;
}

/* sendmsg of one datagram (or GSO run) to ep; with the sticky source unless told not to. */
static int send_msg(int fd, const struct wm_endpoint *ep, const uint8_t *buf, size_t len,
		    uint16_t segment, bool with_src)
{
	char control[CONTROL_LEN];
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { 0 };
	struct wm_endpoint bare;

	if (!with_src) {
		bare = *ep;
		wm_endpoint_clear_src(&bare);
		ep = &bare;
	}
	msg.msg_name = (void *)&ep->addr;
	msg.msg_namelen = wm_endpoint_socklen(ep);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control;
	msg.msg_controllen = write_control(control, sizeof(control), ep, segment);
	if (!msg.msg_controllen)
		msg.msg_control = NULL;
	return sendmsg(fd, &msg, MSG_DONTWAIT) < 0 ? -errno : 0;
}

int wm_udp_send(struct wm_udp *udp, const struct wm_endpoint *to, const uint8_t *buf, size_t len)
{
	int fd = socket_for(udp, to), err;

	if (fd < 0)
		return -EAFNOSUPPORT;
	err = send_msg(fd, to, buf, len, 0, true);
	if (err < 0 && stale_source(-err, to)) {
		int retry = send_msg(fd, to, buf, len, 0, false);

		return retry < 0 ? err : 1;
	}
	return err;
}

/* Sends a run of same-family slots with one sendmmsg per kernel acceptance. */
static size_t send_run(int fd, struct wm_udp_slot *slots, size_t n)
{
	struct mmsghdr msgs[MAX_BATCH];
	struct iovec iov[MAX_BATCH];
	char control[MAX_BATCH][CONTROL_LEN];
	size_t i, done = 0;

	memset(msgs, 0, n * sizeof(msgs[0]));
	for (i = 0; i < n; i++) {
		iov[i].iov_base = slots[i].buf;
		iov[i].iov_len = slots[i].len;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = (void *)&slots[i].addr.addr;
		msgs[i].msg_hdr.msg_namelen = wm_endpoint_socklen(&slots[i].addr);
		msgs[i].msg_hdr.msg_control = control[i];
		msgs[i].msg_hdr.msg_controllen = write_control(control[i], CONTROL_LEN, &slots[i].addr, 0);
		if (!msgs[i].msg_hdr.msg_controllen)
			msgs[i].msg_hdr.msg_control = NULL;
	}
	while (done < n) {
		int sent = sendmmsg(fd, msgs + done, (unsigned)(n - done), MSG_DONTWAIT);

		if (sent <= 0) {
			/* The first of the rest failed: without a stale source, or lost, as UDP is. */
			if (stale_source(errno, &slots[done].addr) &&
			    send_msg(fd, &slots[done].addr, slots[done].buf, slots[done].len, 0, false) == 0)
				slots[done].src_stale = true;
			done++;
			continue;
		}
		done += (size_t)sent;
	}
	return n;
}

enum {
	GSO_MAX_BYTES = 65000,		/* under the 65,507-byte UDP payload limit */
	GSO_MAX_SEGMENTS = 64,		/* UDP_MAX_SEGMENTS on older kernels */
};

/*
 * How many slots from start can go as one GSO send: same destination, same
 * size, only the last may be shorter.
 */
static size_t gso_run_length(const struct wm_udp_slot *slots, size_t start, size_t n)
{
	size_t seg = slots[start].len, total = seg, k = start + 1;

	while (k < n && k - start < GSO_MAX_SEGMENTS && total + slots[k].len <= GSO_MAX_BYTES &&
	       slots[k].len <= seg && wm_endpoint_equal(&slots[k].addr, &slots[start].addr) &&
	       !memcmp(&slots[k].addr.src, &slots[start].addr.src, sizeof(slots[k].addr.src))) {
		total += slots[k].len;
		if (slots[k++].len < seg)
			break;
	}
	return k - start;
}

/* Gathers a run into one buffer and sends it with UDP_SEGMENT. false: the kernel refused. */
static bool send_gso(struct wm_udp *udp, int fd, struct wm_udp_slot *slots, size_t count)
{
	uint16_t seg = (uint16_t)slots[0].len;
	size_t i, off = 0;
	int err;

	if (!udp->gso_buf && !(udp->gso_buf = malloc(GSO_MAX_BYTES)))
		return false;
	for (i = 0; i < count; i++) {
		memcpy(udp->gso_buf + off, slots[i].buf, slots[i].len);
		off += slots[i].len;
	}
	err = send_msg(fd, &slots[0].addr, udp->gso_buf, off, seg, true);
	if (err < 0 && stale_source(-err, &slots[0].addr) &&
	    send_msg(fd, &slots[0].addr, udp->gso_buf, off, seg, false) == 0) {
		for (i = 0; i < count; i++)
			slots[i].src_stale = true;
		err = 0;
	}
	/* EIO/EINVAL: this path cannot segment (no checksum offload, say): stop trying. */
	if (err == -EIO || err == -EINVAL || err == -EOPNOTSUPP)
		return false;
	return true;	/* sent, or lost as a datagram would be (EAGAIN and the like) */
}

int wm_udp_send_batch(struct wm_udp *udp, struct wm_udp_slot *slots, size_t n)
{
	size_t start = 0, end, run;

	if (n > MAX_BATCH)
		n = MAX_BATCH;
	while (start < n) {
		int fd = socket_for(udp, &slots[start].addr);

		if (fd < 0) {
			start++;
			continue;
		}
		run = udp->gso ? gso_run_length(slots, start, n) : 1;
		if (run > 1) {
			if (send_gso(udp, fd, slots + start, run)) {
				start += run;
				continue;
			}
			udp->gso = false;
		}
		/* Without GSO: a run of one family in one sendmmsg. */
		for (end = start + 1; end < n && socket_for(udp, &slots[end].addr) == fd; end++)
			;
		if (udp->gso)
			end = start + 1;
		send_run(fd, slots + start, end - start);
		start = end;
	}
	return (int)n;
}

void wm_udp_close(struct wm_udp *udp)
{
	free(udp->gso_buf);
	if (udp->fd4 >= 0)
		close(udp->fd4);
	if (udp->fd6 >= 0)
		close(udp->fd6);
	wm_udp_init(udp);
}
