/* SPDX-License-Identifier: MIT */
#include "tun/netlink.h"

#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

enum {
	REQ_MAX = 128,		/* the largest request (an IPv6 address) is 64 bytes */
	RX_MAX = 16384,		/* one RTM_NEWLINK answer is a few KiB */
	RX_DATAGRAMS = 16,	/* give up on an answer after this many datagrams... */
	TIMEOUT_S = 2,		/* ...or this long without one */
	MAX_ERRNO = 4095,
};

static uint32_t next_seq;

/* A request being written into a caller's buffer; len never passes cap. */
struct req {
	uint8_t *buf;
	size_t cap;
	size_t len;
};

static bool put(struct req *r, const void *data, size_t len, size_t space)
{
	if (space > r->cap - r->len)
		return false;
	memcpy(r->buf + r->len, data, len);
	memset(r->buf + r->len + len, 0, space - len);
	r->len += space;
	return true;
}

static bool start(struct req *r, void *buf, size_t cap, uint16_t type, uint16_t flags,
		  uint32_t seq, const void *body, size_t body_len)
{
	struct nlmsghdr h = {
		.nlmsg_type = type,
		.nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | flags),
		.nlmsg_seq = seq,
	};

	r->buf = buf;
	r->cap = cap;
	r->len = 0;
	return put(r, &h, sizeof(h), NLMSG_HDRLEN) && put(r, body, body_len, NLMSG_ALIGN(body_len));
}

static bool put_attr(struct req *r, uint16_t type, const void *data, size_t len)
{
	struct rtattr a = { .rta_len = (unsigned short)RTA_LENGTH(len), .rta_type = type };

	if (RTA_SPACE(len) > r->cap - r->len)
		return false;
	return put(r, &a, sizeof(a), RTA_LENGTH(0)) && put(r, data, len, RTA_ALIGN(len));
}

/* Stores the total length in the header; the request is complete. */
static int finish(struct req *r)
{
	uint32_t len = (uint32_t)r->len;

	memcpy(r->buf + offsetof(struct nlmsghdr, nlmsg_len), &len, sizeof(len));
	return (int)len;
}

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

static int check_prefix(int ifindex, int family, const uint8_t *addr, uint8_t prefixlen)
{
	if (!addr_len(family))
		return -EAFNOSUPPORT;
	if (ifindex <= 0 || !addr || prefixlen > 8 * addr_len(family))
		return -EINVAL;
	return 0;
}

int wm_netlink_build_link_get(void *buf, size_t cap, uint32_t seq, const char *ifname)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct req r;
	size_t n;

	if (!ifname)
		return -EINVAL;
	n = strnlen(ifname, IFNAMSIZ);
	if (n == 0 || n == IFNAMSIZ)
		return -EINVAL;
	if (!start(&r, buf, cap, RTM_GETLINK, 0, seq, &ifi, sizeof(ifi)) ||
	    !put_attr(&r, IFLA_IFNAME, ifname, n + 1))
		return -ENOBUFS;
	return finish(&r);
}

int wm_netlink_build_link_up(void *buf, size_t cap, uint32_t seq, int ifindex, bool up)
{
	struct ifinfomsg ifi = {
		.ifi_family = AF_UNSPEC,
		.ifi_index = ifindex,
		.ifi_flags = up ? IFF_UP : 0,
		.ifi_change = IFF_UP,	/* touch no other flag */
	};
	struct req r;

	if (ifindex <= 0)
		return -EINVAL;
	if (!start(&r, buf, cap, RTM_NEWLINK, 0, seq, &ifi, sizeof(ifi)))
		return -ENOBUFS;
	return finish(&r);
}

int wm_netlink_build_link_mtu(void *buf, size_t cap, uint32_t seq, int ifindex, unsigned mtu)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };
	uint32_t v = mtu;
	struct req r;

	if (ifindex <= 0)
		return -EINVAL;
	if (!start(&r, buf, cap, RTM_NEWLINK, 0, seq, &ifi, sizeof(ifi)) ||
	    !put_attr(&r, IFLA_MTU, &v, sizeof(v)))
		return -ENOBUFS;
	return finish(&r);
}

int wm_netlink_build_addr(void *buf, size_t cap, uint32_t seq, bool add, int ifindex,
			  int family, const uint8_t *addr, uint8_t prefixlen)
{
	struct ifaddrmsg ifa = {
		.ifa_family = (uint8_t)family,
		.ifa_prefixlen = prefixlen,
		.ifa_scope = RT_SCOPE_UNIVERSE,
		.ifa_index = (uint32_t)ifindex,
	};
	int err = check_prefix(ifindex, family, addr, prefixlen);
	struct req r;

	if (err)
		return err;
	/* No DAD wait: it would leave the address tentative (unusable) for a second or more. */
	if (add && family == AF_INET6)
		ifa.ifa_flags = IFA_F_NODAD;
	/* LOCAL is our address; ADDRESS equal to it means "no peer address" (not a /32 p2p). */
	if (!start(&r, buf, cap, add ? RTM_NEWADDR : RTM_DELADDR,
		   add ? NLM_F_CREATE | NLM_F_REPLACE : 0, seq, &ifa, sizeof(ifa)) ||
	    !put_attr(&r, IFA_LOCAL, addr, addr_len(family)) ||
	    !put_attr(&r, IFA_ADDRESS, addr, addr_len(family)))
		return -ENOBUFS;
	return finish(&r);
}

int wm_netlink_build_route_in(void *buf, size_t cap, uint32_t seq, bool add, int ifindex,
			      int family, const uint8_t *dst, uint8_t prefixlen, uint32_t table)
{
	struct rtmsg rtm = {
		.rtm_family = (uint8_t)family,
		.rtm_dst_len = prefixlen,
		/* Tables past 255 only fit in RTA_TABLE; rtm_table then says "see there". */
		.rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC,
		.rtm_type = RTN_UNICAST,
	};
	int err = check_prefix(ifindex, family, dst, prefixlen);
	uint32_t oif = (uint32_t)ifindex;
	uint8_t net[16] = { 0 };
	struct req r;

	if (err)
		return err;
	if (table == RT_TABLE_UNSPEC)
		return -EINVAL;
	if (add) {
		rtm.rtm_protocol = RTPROT_BOOT;	/* what `ip route add` uses */
		rtm.rtm_scope = family == AF_INET ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
	} else {
		/* Protocol 0 and scope NOWHERE: delete whatever route matches prefix and device. */
		rtm.rtm_scope = RT_SCOPE_NOWHERE;
	}
	/* The kernel refuses an IPv4 prefix with host bits set (-EINVAL): clear them. */
	memcpy(net, dst, prefixlen / 8u + (prefixlen % 8 != 0));
	if (prefixlen % 8)
		net[prefixlen / 8] &= (uint8_t)(0xff00 >> (prefixlen % 8));
	if (!start(&r, buf, cap, add ? RTM_NEWROUTE : RTM_DELROUTE,
		   add ? NLM_F_CREATE | NLM_F_REPLACE : 0, seq, &rtm, sizeof(rtm)) ||
	    (prefixlen && !put_attr(&r, RTA_DST, net, addr_len(family))) ||
	    !put_attr(&r, RTA_OIF, &oif, sizeof(oif)) ||
	    (table != RT_TABLE_MAIN && !put_attr(&r, RTA_TABLE, &table, sizeof(table))))
		return -ENOBUFS;
	return finish(&r);
}

int wm_netlink_build_route(void *buf, size_t cap, uint32_t seq, bool add, int ifindex,
			   int family, const uint8_t *dst, uint8_t prefixlen)
{
	return wm_netlink_build_route_in(buf, cap, seq, add, ifindex, family, dst, prefixlen,
					 RT_TABLE_MAIN);
}

/* The rule's selector and action as `ip rule` sends them (FRA_* attributes, iproute2 order). */
int wm_netlink_build_rule(void *buf, size_t cap, uint32_t seq, bool add,
			  const struct wm_netlink_rule *rule)
{
	struct fib_rule_hdr frh = {
		.family = (uint8_t)rule->family,
		.table = rule->table < 256 ? (uint8_t)rule->table : RT_TABLE_UNSPEC,
		.action = FR_ACT_TO_TBL,
		.flags = rule->invert ? FIB_RULE_INVERT : 0,
	};
	uint32_t mask = 0xffffffff, suppress = (uint32_t)rule->suppress_prefixlen;
	struct req r;

	if (!addr_len(rule->family))
		return -EAFNOSUPPORT;
	if (rule->table == RT_TABLE_UNSPEC || (rule->invert && !rule->fwmark) ||
	    rule->suppress_prefixlen < -1 || rule->suppress_prefixlen > 128)
		return -EINVAL;
	if (!start(&r, buf, cap, add ? RTM_NEWRULE : RTM_DELRULE,
		   add ? NLM_F_CREATE | NLM_F_EXCL : 0, seq, &frh, sizeof(frh)) ||
	    !put_attr(&r, FRA_PRIORITY, &rule->priority, sizeof(rule->priority)) ||
	    (rule->fwmark && (!put_attr(&r, FRA_FWMARK, &rule->fwmark, sizeof(rule->fwmark)) ||
			      !put_attr(&r, FRA_FWMASK, &mask, sizeof(mask)))) ||
	    !put_attr(&r, FRA_TABLE, &rule->table, sizeof(rule->table)) ||
	    (rule->suppress_prefixlen >= 0 &&
	     !put_attr(&r, FRA_SUPPRESS_PREFIXLEN, &suppress, sizeof(suppress))))
		return -ENOBUFS;
	return finish(&r);
}

int wm_netlink_parse_reply(const void *buf, size_t len, uint32_t seq, int *ifindex)
{
	const uint8_t *p = buf;
	size_t off = 0;

	while (len - off >= NLMSG_HDRLEN) {
		const uint8_t *payload = p + off + NLMSG_HDRLEN;
		struct nlmsghdr h;
		size_t plen;

		memcpy(&h, p + off, sizeof(h));
		if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > len - off)
			return -EBADMSG;
		plen = h.nlmsg_len - NLMSG_HDRLEN;
		if (h.nlmsg_seq == seq && h.nlmsg_type == NLMSG_ERROR) {
			int e;

			if (plen < sizeof(e))
				return -EBADMSG;
			memcpy(&e, payload, sizeof(e));
			return e > 0 || e < -MAX_ERRNO ? -EBADMSG : e;
		}
		if (h.nlmsg_seq == seq && h.nlmsg_type == RTM_NEWLINK && ifindex) {
			struct ifinfomsg ifi;

			if (plen < sizeof(ifi))
				return -EBADMSG;
			memcpy(&ifi, payload, sizeof(ifi));
			if (ifi.ifi_index <= 0)
				return -EBADMSG;	/* the kernel numbers interfaces from 1 */
			*ifindex = ifi.ifi_index;
		}
		if (NLMSG_ALIGN(h.nlmsg_len) >= len - off)
			break;
		off += NLMSG_ALIGN(h.nlmsg_len);
	}
	return 1;
}

/* Sends one request and waits (bounded) for the kernel's ack. 0 or -errno. */
static int transact(const void *req, size_t len, uint32_t seq, int *ifindex)
{
	union {
		struct nlmsghdr h;
		uint8_t b[RX_MAX];
	} rx;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = TIMEOUT_S };
	int fd, err = -ETIMEDOUT, one = 1;
	ssize_t sent;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		err = -errno;
		goto out;
	}
	/* Acks without a copy of our request; older kernels ignore this and copy it. */
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	sent = sendto(fd, req, len, 0, (struct sockaddr *)&kernel, sizeof(kernel));
	if (sent != (ssize_t)len) {
		err = sent < 0 ? -errno : -EIO;
		goto out;
	}
	for (int i = 0; i < RX_DATAGRAMS; i++) {
		struct sockaddr_nl from;
		socklen_t from_len = sizeof(from);
		ssize_t n;

		memset(&from, 0, sizeof(from));
		n = recvfrom(fd, rx.b, sizeof(rx.b), MSG_TRUNC, (struct sockaddr *)&from, &from_len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
			goto out;
		}
		if (from_len < sizeof(from) || from.nl_family != AF_NETLINK || from.nl_pid != 0)
			continue;	/* only the kernel answers */
		if ((size_t)n > sizeof(rx.b)) {
			err = -EMSGSIZE;
			goto out;
		}
		err = wm_netlink_parse_reply(rx.b, (size_t)n, seq, ifindex);
		if (err != 1)
			goto out;
		err = -ETIMEDOUT;
	}
out:
	close(fd);
	return err;
}

/* Requests are built here, aligned for the kernel's structures. */
union reqbuf {
	struct nlmsghdr h;
	uint8_t b[REQ_MAX];
};

static uint32_t take_seq(void)
{
	return __atomic_add_fetch(&next_seq, 1, __ATOMIC_RELAXED);
}

/* len is what the build function returned: the request's length or -errno. */
static int send_req(const union reqbuf *rb, uint32_t seq, int len)
{
	return len < 0 ? len : transact(rb->b, (size_t)len, seq, NULL);
}

int wm_netlink_link_index(const char *ifname)
{
	union reqbuf rb;
	uint32_t seq = take_seq();
	int index = 0, n = wm_netlink_build_link_get(rb.b, sizeof(rb.b), seq, ifname);

	if (n < 0)
		return n;
	n = transact(rb.b, (size_t)n, seq, &index);
	if (n < 0)
		return n;
	return index > 0 ? index : -EBADMSG;
}

int wm_netlink_link_set_up(int ifindex, bool up)
{
	union reqbuf rb;
	uint32_t seq = take_seq();

	return send_req(&rb, seq, wm_netlink_build_link_up(rb.b, sizeof(rb.b), seq, ifindex, up));
}

int wm_netlink_link_set_mtu(int ifindex, unsigned mtu)
{
	union reqbuf rb;
	uint32_t seq = take_seq();

	return send_req(&rb, seq, wm_netlink_build_link_mtu(rb.b, sizeof(rb.b), seq, ifindex, mtu));
}

int wm_netlink_addr_add(int ifindex, int family, const uint8_t *addr, uint8_t prefixlen)
{
	union reqbuf rb;
	uint32_t seq = take_seq();

	return send_req(&rb, seq, wm_netlink_build_addr(rb.b, sizeof(rb.b), seq, true, ifindex,
							 family, addr, prefixlen));
}

int wm_netlink_addr_del(int ifindex, int family, const uint8_t *addr, uint8_t prefixlen)
{
	union reqbuf rb;
	uint32_t seq = take_seq();

	return send_req(&rb, seq, wm_netlink_build_addr(rb.b, sizeof(rb.b), seq, false, ifindex,
							 family, addr, prefixlen));
}

int wm_netlink_route_add(int ifindex, int family, const uint8_t *dst, uint8_t prefixlen)
{
	union reqbuf rb;
	uint32_t seq = take_seq();

	return send_req(&rb, seq, wm_netlink_build_route(rb.b, sizeof(rb.b), seq, true, ifindex,
							  family, dst, prefixlen));
}

int wm_netlink_route_del(int ifindex, int family, const uint8_t *dst, uint8_t prefixlen)
{
	union reqbuf rb;
	uint32_t seq = take_seq();

	return send_req(&rb, seq, wm_netlink_build_route(rb.b, sizeof(rb.b), seq, false, ifindex,
							  family, dst, prefixlen));
}

int wm_netlink_monitor_open(void)
{
	struct sockaddr_nl sa = {
		.nl_family = AF_NETLINK,
		.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
	};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

bool wm_netlink_is_change(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t off = 0;

	/* The same bounds as wm_netlink_parse_reply: never trust a length field. */
	while (len - off >= NLMSG_HDRLEN) {
		struct nlmsghdr h;

		memcpy(&h, p + off, sizeof(h));
		if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > len - off)
			return false;
		switch (h.nlmsg_type) {
		case RTM_NEWLINK:
		case RTM_DELLINK:
		case RTM_NEWADDR:
		case RTM_DELADDR:
			return true;
		default:
			break;
		}
		if (NLMSG_ALIGN(h.nlmsg_len) >= len - off)
			break;
		off += NLMSG_ALIGN(h.nlmsg_len);
	}
	return false;
}

int wm_netlink_monitor_drain(int fd)
{
	uint8_t buf[8192];
	bool changed = false;
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
		changed |= wm_netlink_is_change(buf, (size_t)n);
	if (n < 0 && errno == ENOBUFS)
		return 1;	/* events were lost: assume something changed */
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
		return -errno;
	return changed;
}

int wm_netlink_route_add_in(int ifindex, int family, const uint8_t *dst, uint8_t prefixlen,
			    uint32_t table)
{
	union reqbuf rb;
	uint32_t seq = take_seq();

	return send_req(&rb, seq, wm_netlink_build_route_in(rb.b, sizeof(rb.b), seq, true,
							     ifindex, family, dst, prefixlen,
							     table));
}

int wm_netlink_route_del_in(int ifindex, int family, const uint8_t *dst, uint8_t prefixlen,
			    uint32_t table)
{
	union reqbuf rb;
	uint32_t seq = take_seq();

	return send_req(&rb, seq, wm_netlink_build_route_in(rb.b, sizeof(rb.b), seq, false,
							     ifindex, family, dst, prefixlen,
							     table));
}

int wm_netlink_rule_add(const struct wm_netlink_rule *rule)
{
	union reqbuf rb;
	uint32_t seq = take_seq();

	return send_req(&rb, seq, wm_netlink_build_rule(rb.b, sizeof(rb.b), seq, true, rule));
}

int wm_netlink_rule_del(const struct wm_netlink_rule *rule)
{
	union reqbuf rb;
	uint32_t seq = take_seq();

	return send_req(&rb, seq, wm_netlink_build_rule(rb.b, sizeof(rb.b), seq, false, rule));
}
