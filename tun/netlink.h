/* SPDX-License-Identifier: MIT */
/*
 * Linux rtnetlink: configure an interface (up/down, MTU, addresses, device routes) and policy
 * routing (rules, routes in a table of their own) without running `ip`. Each call opens a
 * NETLINK_ROUTE socket, sends one request with NLM_F_ACK, waits at most 2 s for the kernel's
 * answer and closes: blocking, but these are rare configuration steps, never on the data
 * path. Changing anything needs CAP_NET_ADMIN.
 *
 * Addresses are 4 bytes for AF_INET and 16 for AF_INET6, in network byte order.
 */
#ifndef WM_NETLINK_H
#define WM_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The interface's index (>0), or -ENODEV when there is none by that name, or -errno. */
int wm_netlink_link_index(const char *ifname);

/* Brings the interface up or down. 0 or -errno. */
int wm_netlink_link_set_up(int ifindex, bool up);

/* Sets the MTU. 0 or -errno (-EINVAL when the device refuses the value). */
int wm_netlink_link_set_mtu(int ifindex, unsigned mtu);

/*
 * Adds addr/prefixlen to the interface (and with it the kernel's prefix route, as `ip addr
 * add` does). An address already there is replaced, not an error: 0 or -errno. IPv6
 * addresses get IFA_F_NODAD: no duplicate address detection, so the address is usable at
 * once (a point-to-point tunnel has no neighbours to collide with).
 */
int wm_netlink_addr_add(int ifindex, int family, const uint8_t *addr, uint8_t prefixlen);

/* Removes addr/prefixlen. 0, -EADDRNOTAVAIL when it is not there, or -errno. */
int wm_netlink_addr_del(int ifindex, int family, const uint8_t *addr, uint8_t prefixlen);

/*
 * Routes dst/prefixlen through the interface (no gateway) in the main table, replacing a
 * route to the same prefix. Host bits of dst past prefixlen are ignored. The interface
 * must be up (-ENETDOWN otherwise). 0 or -errno.
 */
int wm_netlink_route_add(int ifindex, int family, const uint8_t *dst, uint8_t prefixlen);

/* Removes that route. 0, -ESRCH when there is none, or -errno. */
int wm_netlink_route_del(int ifindex, int family, const uint8_t *dst, uint8_t prefixlen);

/* The same in routing table `table` (1..2^32-1; 254 is main): `ip route replace … table T`. */
int wm_netlink_route_add_in(int ifindex, int family, const uint8_t *dst, uint8_t prefixlen,
			    uint32_t table);
int wm_netlink_route_del_in(int ifindex, int family, const uint8_t *dst, uint8_t prefixlen,
			    uint32_t table);

/*
 * A policy routing rule, as `ip rule add [not] [fwmark M] lookup T [suppress_prefixlength
 * N] pref P` makes it (always with its priority, so that deleting it takes exactly this
 * rule). fwmark 0: no mark selector; invert needs a mark ("not fwmark M").
 */
struct wm_netlink_rule {
	int family;			/* AF_INET or AF_INET6 */
	uint32_t priority;
	uint32_t table;
	uint32_t fwmark;		/* 0: any packet; compared with the mask 0xffffffff */
	bool invert;			/* not fwmark M */
	int suppress_prefixlen;		/* -1: none; N: ignore routes of prefix length <= N */
};

/* Adds the rule: 0, -EEXIST when an identical one is there, or -errno. */
int wm_netlink_rule_add(const struct wm_netlink_rule *rule);

/* Deletes one rule matching it: 0, -ENOENT when there is none, or -errno. */
int wm_netlink_rule_del(const struct wm_netlink_rule *rule);

/*
 * Network change events: a non-blocking socket subscribed to link and address changes (no
 * privilege needed). 0-based fd or -errno.
 */
int wm_netlink_monitor_open(void);

/* Reads every pending event: 1 when a link or address changed (or events were lost), 0 when
 * not, -errno when the socket failed. */
int wm_netlink_monitor_drain(int fd);

/* Whether a datagram from the monitor socket reports a link or address change. */
bool wm_netlink_is_change(const void *buf, size_t len);

/*
 * For tests: the requests the calls above send, built into buf of cap bytes with sequence
 * number seq. Each returns the request's length, -ENOBUFS when cap is too small (nothing
 * past cap is written), -EINVAL or -EAFNOSUPPORT for bad arguments.
 */
int wm_netlink_build_link_get(void *buf, size_t cap, uint32_t seq, const char *ifname);
int wm_netlink_build_link_up(void *buf, size_t cap, uint32_t seq, int ifindex, bool up);
int wm_netlink_build_link_mtu(void *buf, size_t cap, uint32_t seq, int ifindex, unsigned mtu);
int wm_netlink_build_addr(void *buf, size_t cap, uint32_t seq, bool add, int ifindex,
			  int family, const uint8_t *addr, uint8_t prefixlen);
int wm_netlink_build_route(void *buf, size_t cap, uint32_t seq, bool add, int ifindex,
			   int family, const uint8_t *dst, uint8_t prefixlen);
int wm_netlink_build_route_in(void *buf, size_t cap, uint32_t seq, bool add, int ifindex,
			      int family, const uint8_t *dst, uint8_t prefixlen, uint32_t table);
int wm_netlink_build_rule(void *buf, size_t cap, uint32_t seq, bool add,
			  const struct wm_netlink_rule *rule);

/*
 * For tests: reads one datagram (len bytes) from the kernel answering request seq.
 * Returns 0 for a positive ack, the (negative) errno of a negative one, 1 when the ack for
 * seq is not in it yet, -EBADMSG when it is malformed. An RTM_NEWLINK answer for seq
 * stores its interface index in *ifindex (when ifindex is not NULL).
 */
int wm_netlink_parse_reply(const void *buf, size_t len, uint32_t seq, int *ifindex);

#endif
