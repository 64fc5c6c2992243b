/* SPDX-License-Identifier: MIT */
#include "tun/netlink.h"
#include "tun/tun.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/fib_rules.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test/unit/skip.h"

#define BUF 256
#define MAX_ATTRS 8
#define TESTIF "wmnltest0"

/* A request taken apart by the test's own walker (memcpy only: buffers may be unaligned). */
struct msg {
	struct nlmsghdr h;
	uint8_t body[32];
	size_t nattrs;
	struct {
		uint16_t type;
		size_t len;
		const uint8_t *data;
	} attr[MAX_ATTRS];
};

/* Checks that the header's length is len and that the attributes tile the rest exactly. */
static void take_apart(const uint8_t *buf, int len, size_t body_len, struct msg *m)
{
	size_t off;

	ck_assert_int_gt(len, 0);
	memset(m, 0, sizeof(*m));
	memcpy(&m->h, buf, sizeof(m->h));
	ck_assert_uint_eq(m->h.nlmsg_len, (unsigned)len);
	ck_assert_uint_eq(m->h.nlmsg_pid, 0);
	ck_assert(m->h.nlmsg_flags & NLM_F_REQUEST);
	ck_assert(m->h.nlmsg_flags & NLM_F_ACK);
	ck_assert_uint_ge((size_t)len, NLMSG_LENGTH(body_len));
	memcpy(m->body, buf + NLMSG_HDRLEN, body_len);
	off = NLMSG_SPACE(body_len);
	while (off < (size_t)len) {
		struct rtattr a;

		ck_assert_uint_lt(m->nattrs, MAX_ATTRS);
		ck_assert_uint_ge((size_t)len - off, sizeof(a));
		memcpy(&a, buf + off, sizeof(a));
		ck_assert_uint_ge(a.rta_len, RTA_LENGTH(0));
		ck_assert_uint_le(RTA_ALIGN(a.rta_len), (size_t)len - off);
		for (size_t i = a.rta_len; i < RTA_ALIGN(a.rta_len); i++)
			ck_assert_uint_eq(buf[off + i], 0);
		m->attr[m->nattrs].type = a.rta_type;
		m->attr[m->nattrs].len = a.rta_len - RTA_LENGTH(0);
		m->attr[m->nattrs].data = buf + off + RTA_LENGTH(0);
		m->nattrs++;
		off += RTA_ALIGN(a.rta_len);
	}
	ck_assert_uint_eq(off, (size_t)len);
}

static void ck_attr(const struct msg *m, size_t i, uint16_t type, const void *data, size_t len)
{
	ck_assert_uint_lt(i, m->nattrs);
	ck_assert_uint_eq(m->attr[i].type, type);
	ck_assert_uint_eq(m->attr[i].len, len);
	ck_assert_mem_eq(m->attr[i].data, data, len);
}

static const uint8_t v4[4] = { 100, 64, 1, 2 };
static const uint8_t v6[16] = { 0xfd, 0x77, 0x6d, 0x65, 0x73, 0x68, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

START_TEST(test_build_link_get)
{
	uint8_t buf[BUF];
	struct ifinfomsg ifi;
	struct msg m;

	take_apart(buf, wm_netlink_build_link_get(buf, sizeof(buf), 7, "wm0"), sizeof(ifi), &m);
	ck_assert_uint_eq(m.h.nlmsg_type, RTM_GETLINK);
	ck_assert_uint_eq(m.h.nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	ck_assert_uint_eq(m.h.nlmsg_seq, 7);
	memcpy(&ifi, m.body, sizeof(ifi));
	ck_assert_int_eq(ifi.ifi_family, AF_UNSPEC);
	ck_assert_int_eq(ifi.ifi_index, 0);
	ck_assert_uint_eq(m.nattrs, 1);
	ck_attr(&m, 0, IFLA_IFNAME, "wm0", 4);

	/* The longest name that fits IFNAMSIZ with its NUL. */
	take_apart(buf, wm_netlink_build_link_get(buf, sizeof(buf), 8, "abcdefghijklmno"),
		   sizeof(ifi), &m);
	ck_attr(&m, 0, IFLA_IFNAME, "abcdefghijklmno", 16);
	ck_assert_int_eq(wm_netlink_build_link_get(buf, sizeof(buf), 1, "abcdefghijklmnop"),
			 -EINVAL);
	ck_assert_int_eq(wm_netlink_build_link_get(buf, sizeof(buf), 1, ""), -EINVAL);
	ck_assert_int_eq(wm_netlink_build_link_get(buf, sizeof(buf), 1, NULL), -EINVAL);
}
END_TEST

START_TEST(test_build_link_up_mtu)
{
	uint8_t buf[BUF];
	struct ifinfomsg ifi;
	uint32_t mtu = 1420;
	struct msg m;

	for (int up = 0; up <= 1; up++) {
		take_apart(buf, wm_netlink_build_link_up(buf, sizeof(buf), 9, 42, up), sizeof(ifi),
			   &m);
		ck_assert_uint_eq(m.h.nlmsg_type, RTM_NEWLINK);
		ck_assert_uint_eq(m.h.nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
		memcpy(&ifi, m.body, sizeof(ifi));
		ck_assert_int_eq(ifi.ifi_index, 42);
		ck_assert_uint_eq(ifi.ifi_change, IFF_UP);
		ck_assert_uint_eq(ifi.ifi_flags, up ? IFF_UP : 0);
		ck_assert_uint_eq(m.nattrs, 0);
	}

	take_apart(buf, wm_netlink_build_link_mtu(buf, sizeof(buf), 10, 42, 1420), sizeof(ifi), &m);
	ck_assert_uint_eq(m.h.nlmsg_type, RTM_NEWLINK);
	ck_assert_uint_eq(m.h.nlmsg_seq, 10);
	memcpy(&ifi, m.body, sizeof(ifi));
	ck_assert_int_eq(ifi.ifi_index, 42);
	ck_assert_uint_eq(ifi.ifi_change, 0);	/* flags left alone */
	ck_assert_uint_eq(ifi.ifi_flags, 0);
	ck_assert_uint_eq(m.nattrs, 1);
	ck_attr(&m, 0, IFLA_MTU, &mtu, sizeof(mtu));

	ck_assert_int_eq(wm_netlink_build_link_up(buf, sizeof(buf), 1, 0, true), -EINVAL);
	ck_assert_int_eq(wm_netlink_build_link_mtu(buf, sizeof(buf), 1, -3, 1420), -EINVAL);
}
END_TEST

START_TEST(test_build_addr)
{
	uint8_t buf[BUF];
	struct ifaddrmsg ifa;
	struct msg m;

	take_apart(buf, wm_netlink_build_addr(buf, sizeof(buf), 11, true, 5, AF_INET, v4, 10),
		   sizeof(ifa), &m);
	ck_assert_uint_eq(m.h.nlmsg_type, RTM_NEWADDR);
	ck_assert_uint_eq(m.h.nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE);
	memcpy(&ifa, m.body, sizeof(ifa));
	ck_assert_uint_eq(ifa.ifa_family, AF_INET);
	ck_assert_uint_eq(ifa.ifa_prefixlen, 10);
	ck_assert_uint_eq(ifa.ifa_flags, 0);
	ck_assert_uint_eq(ifa.ifa_scope, RT_SCOPE_UNIVERSE);
	ck_assert_uint_eq(ifa.ifa_index, 5);
	ck_assert_uint_eq(m.nattrs, 2);
	ck_attr(&m, 0, IFA_LOCAL, v4, 4);
	ck_attr(&m, 1, IFA_ADDRESS, v4, 4);	/* not masked: it is our address */

	take_apart(buf, wm_netlink_build_addr(buf, sizeof(buf), 12, true, 5, AF_INET6, v6, 48),
		   sizeof(ifa), &m);
	memcpy(&ifa, m.body, sizeof(ifa));
	ck_assert_uint_eq(ifa.ifa_family, AF_INET6);
	ck_assert_uint_eq(ifa.ifa_prefixlen, 48);
	ck_assert_uint_eq(ifa.ifa_flags, IFA_F_NODAD);
	ck_attr(&m, 0, IFA_LOCAL, v6, 16);
	ck_attr(&m, 1, IFA_ADDRESS, v6, 16);

	take_apart(buf, wm_netlink_build_addr(buf, sizeof(buf), 13, false, 5, AF_INET6, v6, 48),
		   sizeof(ifa), &m);
	ck_assert_uint_eq(m.h.nlmsg_type, RTM_DELADDR);
	ck_assert_uint_eq(m.h.nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	memcpy(&ifa, m.body, sizeof(ifa));
	ck_assert_uint_eq(ifa.ifa_flags, 0);
	ck_assert_uint_eq(m.nattrs, 2);
	ck_attr(&m, 0, IFA_LOCAL, v6, 16);

	/* Edges of the prefix length. */
	ck_assert_int_gt(wm_netlink_build_addr(buf, sizeof(buf), 1, true, 5, AF_INET, v4, 32), 0);
	ck_assert_int_gt(wm_netlink_build_addr(buf, sizeof(buf), 1, true, 5, AF_INET6, v6, 128), 0);
	ck_assert_int_gt(wm_netlink_build_addr(buf, sizeof(buf), 1, true, 5, AF_INET, v4, 0), 0);
}
END_TEST

START_TEST(test_build_route)
{
	const uint8_t dst4[4] = { 10, 77, 1, 2 }, net4[4] = { 10, 77, 0, 0 };
	const uint8_t net6[16] = { 0xfd, 0x77, 0x6d, 0x65, 0x73, 0x40 };	/* v6 masked to /42 */
	uint8_t buf[BUF];
	uint32_t oif = 5;
	struct rtmsg rtm;
	struct msg m;

	take_apart(buf, wm_netlink_build_route(buf, sizeof(buf), 14, true, 5, AF_INET, dst4, 16),
		   sizeof(rtm), &m);
	ck_assert_uint_eq(m.h.nlmsg_type, RTM_NEWROUTE);
	ck_assert_uint_eq(m.h.nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE);
	memcpy(&rtm, m.body, sizeof(rtm));
	ck_assert_uint_eq(rtm.rtm_family, AF_INET);
	ck_assert_uint_eq(rtm.rtm_dst_len, 16);
	ck_assert_uint_eq(rtm.rtm_src_len, 0);
	ck_assert_uint_eq(rtm.rtm_table, RT_TABLE_MAIN);
	ck_assert_uint_eq(rtm.rtm_protocol, RTPROT_BOOT);
	ck_assert_uint_eq(rtm.rtm_scope, RT_SCOPE_LINK);
	ck_assert_uint_eq(rtm.rtm_type, RTN_UNICAST);
	ck_assert_uint_eq(m.nattrs, 2);
	ck_attr(&m, 0, RTA_DST, net4, 4);	/* host bits cleared */
	ck_attr(&m, 1, RTA_OIF, &oif, 4);

	take_apart(buf, wm_netlink_build_route(buf, sizeof(buf), 15, false, 5, AF_INET, dst4, 16),
		   sizeof(rtm), &m);
	ck_assert_uint_eq(m.h.nlmsg_type, RTM_DELROUTE);
	ck_assert_uint_eq(m.h.nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	memcpy(&rtm, m.body, sizeof(rtm));
	ck_assert_uint_eq(rtm.rtm_protocol, 0);
	ck_assert_uint_eq(rtm.rtm_scope, RT_SCOPE_NOWHERE);
	ck_assert_uint_eq(rtm.rtm_table, RT_TABLE_MAIN);
	ck_attr(&m, 0, RTA_DST, net4, 4);

	take_apart(buf, wm_netlink_build_route(buf, sizeof(buf), 16, true, 5, AF_INET6, v6, 42),
		   sizeof(rtm), &m);
	memcpy(&rtm, m.body, sizeof(rtm));
	ck_assert_uint_eq(rtm.rtm_family, AF_INET6);
	ck_assert_uint_eq(rtm.rtm_dst_len, 42);
	ck_assert_uint_eq(rtm.rtm_scope, RT_SCOPE_UNIVERSE);
	ck_attr(&m, 0, RTA_DST, net6, 16);
	ck_attr(&m, 1, RTA_OIF, &oif, 4);

	/* /128 is kept whole; /0 (a default route) has no RTA_DST at all. */
	take_apart(buf, wm_netlink_build_route(buf, sizeof(buf), 17, true, 5, AF_INET6, v6, 128),
		   sizeof(rtm), &m);
	ck_attr(&m, 0, RTA_DST, v6, 16);
	take_apart(buf, wm_netlink_build_route(buf, sizeof(buf), 18, true, 5, AF_INET, v4, 0),
		   sizeof(rtm), &m);
	ck_assert_uint_eq(m.nattrs, 1);
	ck_attr(&m, 0, RTA_OIF, &oif, 4);
}
END_TEST

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* Netlink is host-endian: the request for `ip route replace 10.77.0.0/16 dev #5`, by hand. */
START_TEST(test_build_route_known_bytes)
{
	static const uint8_t want[] = {
		0x2c, 0, 0, 0,  0x18, 0,  0x05, 0x05,  0x44, 0x33, 0x22, 0x11,  0, 0, 0, 0,
		2, 16, 0, 0,  254, 3, 253, 1,  0, 0, 0, 0,
		8, 0, 1, 0,  10, 77, 0, 0,
		8, 0, 4, 0,  5, 0, 0, 0,
	};
	const uint8_t dst[4] = { 10, 77, 1, 2 };
	uint8_t buf[BUF];

	ck_assert_int_eq(wm_netlink_build_route(buf, sizeof(buf), 0x11223344, true, 5, AF_INET,
						dst, 16), sizeof(want));
	ck_assert_mem_eq(buf, want, sizeof(want));
}
END_TEST
#endif

/* A route in a table of its own: RTA_TABLE carries the number; rtm_table says "see there". */
START_TEST(test_build_route_in_table)
{
	const uint32_t table = 41641, oif = 5;
	struct rtmsg rtm;
	uint8_t buf[BUF];
	struct msg m;

	take_apart(buf, wm_netlink_build_route_in(buf, sizeof(buf), 21, true, 5, AF_INET, v4, 0,
						  table), sizeof(rtm), &m);
	ck_assert_uint_eq(m.h.nlmsg_type, RTM_NEWROUTE);
	memcpy(&rtm, m.body, sizeof(rtm));
	ck_assert_uint_eq(rtm.rtm_table, RT_TABLE_UNSPEC);
	ck_assert_uint_eq(rtm.rtm_dst_len, 0);
	ck_assert_uint_eq(m.nattrs, 2);
	ck_attr(&m, 0, RTA_OIF, &oif, 4);
	ck_attr(&m, 1, RTA_TABLE, &table, 4);

	take_apart(buf, wm_netlink_build_route_in(buf, sizeof(buf), 22, false, 5, AF_INET6, v6, 0,
						  table), sizeof(rtm), &m);
	ck_assert_uint_eq(m.h.nlmsg_type, RTM_DELROUTE);
	memcpy(&rtm, m.body, sizeof(rtm));
	ck_assert_uint_eq(rtm.rtm_family, AF_INET6);
	ck_attr(&m, 1, RTA_TABLE, &table, 4);

	/* A small table fits in the header too; main is what build_route sends (no RTA_TABLE). */
	take_apart(buf, wm_netlink_build_route_in(buf, sizeof(buf), 23, true, 5, AF_INET, v4, 16,
						  100), sizeof(rtm), &m);
	memcpy(&rtm, m.body, sizeof(rtm));
	ck_assert_uint_eq(rtm.rtm_table, 100);
	take_apart(buf, wm_netlink_build_route_in(buf, sizeof(buf), 24, true, 5, AF_INET, v4, 16,
						  RT_TABLE_MAIN), sizeof(rtm), &m);
	ck_assert_uint_eq(m.nattrs, 2);
	ck_assert_int_eq(wm_netlink_build_route_in(buf, sizeof(buf), 25, true, 5, AF_INET, v4, 0,
						   RT_TABLE_UNSPEC), -EINVAL);
}
END_TEST

/* `ip rule add not fwmark 0xa2a9 lookup 41641 pref 32761`, and the suppress rule. */
START_TEST(test_build_rule)
{
	const struct wm_netlink_rule not_marked = {
		.family = AF_INET, .priority = 32761, .table = 41641, .fwmark = 0xa2a9,
		.invert = true, .suppress_prefixlen = -1,
	};
	const struct wm_netlink_rule suppress = {
		.family = AF_INET6, .priority = 32760, .table = RT_TABLE_MAIN,
		.suppress_prefixlen = 0,
	};
	const uint32_t prio = 32761, mark = 0xa2a9, mask = 0xffffffff, table = 41641;
	const uint32_t prio2 = 32760, main_table = RT_TABLE_MAIN, zero = 0;
	struct fib_rule_hdr frh;
	uint8_t buf[BUF];
	struct msg m;

	take_apart(buf, wm_netlink_build_rule(buf, sizeof(buf), 31, true, &not_marked),
		   sizeof(frh), &m);
	ck_assert_uint_eq(m.h.nlmsg_type, RTM_NEWRULE);
	ck_assert_uint_eq(m.h.nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
	ck_assert_uint_eq(m.h.nlmsg_seq, 31);
	memcpy(&frh, m.body, sizeof(frh));
	ck_assert_uint_eq(frh.family, AF_INET);
	ck_assert_uint_eq(frh.table, RT_TABLE_UNSPEC);
	ck_assert_uint_eq(frh.action, FR_ACT_TO_TBL);
	ck_assert_uint_eq(frh.flags, FIB_RULE_INVERT);
	ck_assert_uint_eq(frh.dst_len, 0);
	ck_assert_uint_eq(frh.src_len, 0);
	ck_assert_uint_eq(m.nattrs, 4);
	ck_attr(&m, 0, FRA_PRIORITY, &prio, 4);
	ck_attr(&m, 1, FRA_FWMARK, &mark, 4);
	ck_attr(&m, 2, FRA_FWMASK, &mask, 4);
	ck_attr(&m, 3, FRA_TABLE, &table, 4);

	take_apart(buf, wm_netlink_build_rule(buf, sizeof(buf), 32, false, &suppress),
		   sizeof(frh), &m);
	ck_assert_uint_eq(m.h.nlmsg_type, RTM_DELRULE);
	ck_assert_uint_eq(m.h.nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	memcpy(&frh, m.body, sizeof(frh));
	ck_assert_uint_eq(frh.family, AF_INET6);
	ck_assert_uint_eq(frh.table, RT_TABLE_MAIN);
	ck_assert_uint_eq(frh.flags, 0);
	ck_assert_uint_eq(m.nattrs, 3);
	ck_attr(&m, 0, FRA_PRIORITY, &prio2, 4);
	ck_attr(&m, 1, FRA_TABLE, &main_table, 4);
	ck_attr(&m, 2, FRA_SUPPRESS_PREFIXLEN, &zero, 4);
}
END_TEST

START_TEST(test_build_rule_bad_args)
{
	struct wm_netlink_rule r = {
		.family = AF_INET, .priority = 1, .table = 41641, .suppress_prefixlen = -1,
	};
	uint8_t buf[BUF];

	ck_assert_int_gt(wm_netlink_build_rule(buf, sizeof(buf), 1, true, &r), 0);
	r.invert = true;	/* "not" what? an inverted rule needs a mark */
	ck_assert_int_eq(wm_netlink_build_rule(buf, sizeof(buf), 1, true, &r), -EINVAL);
	r.invert = false;
	r.table = RT_TABLE_UNSPEC;
	ck_assert_int_eq(wm_netlink_build_rule(buf, sizeof(buf), 1, true, &r), -EINVAL);
	r.table = 41641;
	r.suppress_prefixlen = 129;
	ck_assert_int_eq(wm_netlink_build_rule(buf, sizeof(buf), 1, true, &r), -EINVAL);
	r.suppress_prefixlen = -1;
	r.family = AF_UNIX;
	ck_assert_int_eq(wm_netlink_build_rule(buf, sizeof(buf), 1, true, &r), -EAFNOSUPPORT);
	r.family = AF_INET;
	r.fwmark = 7;
	/* Too small a buffer: nothing past cap is written, whatever the cut. */
	for (size_t cap = 0; cap < 64; cap++) {
		int n = wm_netlink_build_rule(buf, cap, 1, true, &r);

		ck_assert(n == -ENOBUFS || (n > 0 && (size_t)n <= cap));
	}
}
END_TEST

START_TEST(test_build_bad_args)
{
	uint8_t buf[BUF];

	ck_assert_int_eq(wm_netlink_build_addr(buf, sizeof(buf), 1, true, 5, AF_UNIX, v4, 8),
			 -EAFNOSUPPORT);
	ck_assert_int_eq(wm_netlink_build_addr(buf, sizeof(buf), 1, true, 5, AF_INET, v4, 33),
			 -EINVAL);
	ck_assert_int_eq(wm_netlink_build_addr(buf, sizeof(buf), 1, true, 5, AF_INET6, v6, 129),
			 -EINVAL);
	ck_assert_int_eq(wm_netlink_build_addr(buf, sizeof(buf), 1, false, 0, AF_INET, v4, 8),
			 -EINVAL);
	ck_assert_int_eq(wm_netlink_build_addr(buf, sizeof(buf), 1, true, 5, AF_INET, NULL, 8),
			 -EINVAL);
	ck_assert_int_eq(wm_netlink_build_route(buf, sizeof(buf), 1, true, 5, AF_PACKET, v4, 8),
			 -EAFNOSUPPORT);
	ck_assert_int_eq(wm_netlink_build_route(buf, sizeof(buf), 1, true, 5, AF_INET, v4, 255),
			 -EINVAL);
	ck_assert_int_eq(wm_netlink_build_route(buf, sizeof(buf), 1, false, -1, AF_INET6, v6, 64),
			 -EINVAL);
	ck_assert_int_eq(wm_netlink_build_route(buf, sizeof(buf), 1, true, 5, AF_INET6, NULL, 0),
			 -EINVAL);

	/* The calls check before they open a socket: these need no privilege. */
	ck_assert_int_eq(wm_netlink_addr_add(1, AF_UNIX, v4, 8), -EAFNOSUPPORT);
	ck_assert_int_eq(wm_netlink_addr_del(1, AF_INET, v4, 40), -EINVAL);
	ck_assert_int_eq(wm_netlink_route_add(0, AF_INET, v4, 8), -EINVAL);
	ck_assert_int_eq(wm_netlink_route_del(1, AF_INET6, NULL, 8), -EINVAL);
	ck_assert_int_eq(wm_netlink_link_set_up(0, true), -EINVAL);
	ck_assert_int_eq(wm_netlink_link_set_mtu(-1, 1280), -EINVAL);
	ck_assert_int_eq(wm_netlink_link_index("a-name-much-too-long"), -EINVAL);
}
END_TEST

/* Builds request kind k (0..6) into buf of cap bytes. */
static int build_kind(int k, uint8_t *buf, size_t cap)
{
	switch (k) {
	case 0: return wm_netlink_build_link_get(buf, cap, 1, "abcdefghijklmno");
	case 1: return wm_netlink_build_link_up(buf, cap, 1, 3, true);
	case 2: return wm_netlink_build_link_mtu(buf, cap, 1, 3, 9000);
	case 3: return wm_netlink_build_addr(buf, cap, 1, true, 3, AF_INET, v4, 10);
	case 4: return wm_netlink_build_addr(buf, cap, 1, true, 3, AF_INET6, v6, 48);
	case 5: return wm_netlink_build_route(buf, cap, 1, false, 3, AF_INET, v4, 10);
	default: return wm_netlink_build_route(buf, cap, 1, true, 3, AF_INET6, v6, 64);
	}
}

/* Every too-small buffer is refused without a byte written past its end; any alignment works. */
START_TEST(test_build_bounds)
{
	uint8_t ref[BUF], buf[BUF + 8];

	for (int k = 0; k <= 6; k++) {
		int len = build_kind(k, ref, sizeof(ref));

		ck_assert_int_gt(len, 0);
		ck_assert_int_le(len, 128);	/* fits the module's request buffer */
		ck_assert_int_eq(len % 4, 0);
		for (int cap = 0; cap < len; cap++) {
			memset(buf, 0xa5, sizeof(buf));
			ck_assert_int_eq(build_kind(k, buf + 1, (size_t)cap), -ENOBUFS);
			for (size_t i = (size_t)cap + 1; i < sizeof(buf); i++)
				ck_assert_uint_eq(buf[i], 0xa5);
		}
		for (int shift = 0; shift < 4; shift++) {
			memset(buf, 0xa5, sizeof(buf));
			ck_assert_int_eq(build_kind(k, buf + shift, (size_t)len), len);
			ck_assert_mem_eq(buf + shift, ref, (size_t)len);
			ck_assert_uint_eq(buf[shift + len], 0xa5);
		}
	}
	ck_assert_int_eq(wm_netlink_build_link_up(NULL, 0, 1, 3, true), -ENOBUFS);
}
END_TEST

/* Appends a netlink message to a reply being made at buf+*off. */
static void put_msg(uint8_t *buf, size_t *off, uint16_t type, uint32_t seq, const void *payload,
		    size_t len)
{
	struct nlmsghdr h = { .nlmsg_len = (uint32_t)NLMSG_LENGTH(len), .nlmsg_type = type,
			      .nlmsg_seq = seq, .nlmsg_pid = 1234 };

	memcpy(buf + *off, &h, sizeof(h));
	if (len)
		memcpy(buf + *off + NLMSG_HDRLEN, payload, len);
	memset(buf + *off + NLMSG_LENGTH(len), 0, NLMSG_ALIGN(len) - len);
	*off += NLMSG_SPACE(len);
}

static void put_ack(uint8_t *buf, size_t *off, uint32_t seq, int error)
{
	struct nlmsgerr e = { .error = error, .msg = { .nlmsg_len = 16, .nlmsg_seq = seq } };

	put_msg(buf, off, NLMSG_ERROR, seq, &e, sizeof(e));
}

START_TEST(test_parse_acks)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = 17 };
	uint8_t buf[BUF], attrs[40] = { 0 };
	size_t off = 0;
	int index = 0;

	put_ack(buf, &off, 5, 0);
	ck_assert_int_eq(wm_netlink_parse_reply(buf, off, 5, NULL), 0);
	ck_assert_int_eq(wm_netlink_parse_reply(buf, off, 6, NULL), 1);	/* someone else's */

	off = 0;
	put_ack(buf, &off, 5, -EEXIST);
	ck_assert_int_eq(wm_netlink_parse_reply(buf, off, 5, NULL), -EEXIST);

	/* An answer then the ack, in one datagram, after a stray message. */
	off = 0;
	put_ack(buf, &off, 4, -EPERM);
	memcpy(attrs, &ifi, sizeof(ifi));
	put_msg(buf, &off, RTM_NEWLINK, 5, attrs, sizeof(attrs));
	put_ack(buf, &off, 5, 0);
	ck_assert_int_eq(wm_netlink_parse_reply(buf, off, 5, &index), 0);
	ck_assert_int_eq(index, 17);

	/* Only the answer so far: keep reading. NOOP is skipped. */
	off = 0;
	put_msg(buf, &off, NLMSG_NOOP, 5, NULL, 0);
	put_msg(buf, &off, RTM_NEWLINK, 5, &ifi, sizeof(ifi));
	index = 0;
	ck_assert_int_eq(wm_netlink_parse_reply(buf, off, 5, &index), 1);
	ck_assert_int_eq(index, 17);
	ck_assert_int_eq(wm_netlink_parse_reply(buf, 0, 5, &index), 1);
	/* Trailing bytes too few for a header are not a message. */
	ck_assert_int_eq(wm_netlink_parse_reply(buf, NLMSG_HDRLEN - 1, 5, &index), 1);

	/* An ack capped to its error code (NETLINK_CAP_ACK with no request copy). */
	off = 0;
	put_msg(buf, &off, NLMSG_ERROR, 5, &(int){ -ENODEV }, sizeof(int));
	ck_assert_int_eq(wm_netlink_parse_reply(buf, off, 5, NULL), -ENODEV);
}
END_TEST

START_TEST(test_parse_malformed)
{
	struct ifinfomsg ifi = { .ifi_index = 3 };
	struct nlmsghdr h;
	uint8_t buf[BUF];
	size_t off = 0;
	int index = 0;

	/* Length past the datagram, and below a header. */
	put_ack(buf, &off, 5, 0);
	ck_assert_int_eq(wm_netlink_parse_reply(buf, off - 1, 5, NULL), -EBADMSG);
	memcpy(&h, buf, sizeof(h));
	h.nlmsg_len = NLMSG_HDRLEN - 1;
	memcpy(buf, &h, sizeof(h));
	ck_assert_int_eq(wm_netlink_parse_reply(buf, off, 5, NULL), -EBADMSG);

	/* An error message too short for its code; a positive or absurd code. */
	off = 0;
	put_msg(buf, &off, NLMSG_ERROR, 5, "ab", 2);
	ck_assert_int_eq(wm_netlink_parse_reply(buf, off, 5, NULL), -EBADMSG);
	off = 0;
	put_ack(buf, &off, 5, 12);
	ck_assert_int_eq(wm_netlink_parse_reply(buf, off, 5, NULL), -EBADMSG);
	off = 0;
	put_ack(buf, &off, 5, -100000);
	ck_assert_int_eq(wm_netlink_parse_reply(buf, off, 5, NULL), -EBADMSG);

	/* A link answer too short for an ifinfomsg. */
	off = 0;
	put_msg(buf, &off, RTM_NEWLINK, 5, &ifi, sizeof(ifi) - 1);
	ck_assert_int_eq(wm_netlink_parse_reply(buf, off, 5, &index), -EBADMSG);
	ck_assert_int_eq(index, 0);
}
END_TEST

/* Random and truncated datagrams (fixed seed) never read out of bounds (run under ASan). */
START_TEST(test_parse_random)
{
	uint8_t good[BUF], *p;
	size_t off = 0;

	srandom(20240613);
	put_msg(good, &off, RTM_NEWLINK, 9, &(struct ifinfomsg){ .ifi_index = 2 },
		sizeof(struct ifinfomsg));
	put_ack(good, &off, 9, 0);
	for (size_t n = 0; n <= off; n++) {
		int index = 0, r;

		p = malloc(n ? n : 1);
		memcpy(p, good, n);
		r = wm_netlink_parse_reply(p, n, 9, &index);
		ck_assert(r == 1 || r == 0 || r == -EBADMSG);
		if (n == off)
			ck_assert_int_eq(r, 0);
		free(p);
	}
	for (int iter = 0; iter < 20000; iter++) {
		size_t n = (size_t)random() % 96;
		int index, r;

		p = malloc(n ? n : 1);
		for (size_t i = 0; i < n; i++)
			p[i] = (uint8_t)random();
		/* Plausible lengths more often than not, so the walk goes deeper. */
		if (n >= 4 && random() % 2) {
			uint32_t l = (uint32_t)(random() % (n + 8));

			memcpy(p, &l, sizeof(l));
		}
		r = wm_netlink_parse_reply(p, n, (uint32_t)random() % 2, &index);
		ck_assert(r == 1 || r == -EBADMSG || (r <= 0 && r >= -4095));
		free(p);
	}
}
END_TEST

/* Asking for a link index needs no privilege: check it against if_nametoindex. */
START_TEST(test_link_index_unprivileged)
{
	ck_assert_int_eq(wm_netlink_link_index("lo"), (int)if_nametoindex("lo"));
	ck_assert_int_eq(wm_netlink_link_index("wmnl-nonesuch"), -ENODEV);
}
END_TEST

/*
 * The live cases run in a private network namespace of their own (Check forks each test,
 * so the namespace dies with the test's process) and touch nothing outside it.
 */
static bool private_netns(const char *test)
{
	if (geteuid() != 0) {
		wm_test_skip_line(test, "needs root (a network namespace of its own)");
		return false;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		wm_test_skip_line(test, "needs a network namespace of its own (unshare(CLONE_NEWNET): %s)",
				  strerror(errno));
		return false;
	}
	return true;
}

#define NEED_NETNS()                             \
	do {                                     \
		if (!private_netns(__func__))    \
			return;                  \
	} while (0)

/* Makes TESTIF (gone when tun is closed) and returns its index. */
static int make_tun(struct wm_tun *tun)
{
	int index;

	ck_assert_int_eq(wm_tun_open(tun, TESTIF, false), 0);
	index = wm_netlink_link_index(TESTIF);
	ck_assert_int_gt(index, 0);
	ck_assert_int_eq(index, (int)if_nametoindex(TESTIF));
	return index;
}

static unsigned link_flags(void)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(s, 0);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, TESTIF);
	ck_assert_int_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	close(s);
	return (unsigned)(uint16_t)ifr.ifr_flags;
}

static unsigned mask_bits(const uint8_t *m, size_t n)
{
	unsigned bits = 0;

	for (size_t i = 0; i < n; i++)
		bits += (unsigned)__builtin_popcount(m[i]);
	return bits;
}

/* Whether getifaddrs lists addr/prefixlen on TESTIF. */
static bool has_addr(int family, const uint8_t *addr, unsigned prefixlen)
{
	struct ifaddrs *all, *i;
	bool found = false;

	ck_assert_int_eq(getifaddrs(&all), 0);
	for (i = all; i; i = i->ifa_next) {
		const uint8_t *a, *m;
		size_t n;

		if (!i->ifa_addr || i->ifa_addr->sa_family != family || strcmp(i->ifa_name, TESTIF))
			continue;
		if (family == AF_INET) {
			a = (const uint8_t *)&((struct sockaddr_in *)i->ifa_addr)->sin_addr;
			m = (const uint8_t *)&((struct sockaddr_in *)i->ifa_netmask)->sin_addr;
			n = 4;
		} else {
			a = ((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr.s6_addr;
			m = ((struct sockaddr_in6 *)i->ifa_netmask)->sin6_addr.s6_addr;
			n = 16;
		}
		if (!memcmp(a, addr, n) && mask_bits(m, n) == prefixlen)
			found = true;
	}
	freeifaddrs(all);
	return found;
}

/* Whether the main table routes dst/prefixlen via TESTIF, read from /proc (per namespace). */
static bool has_route(int family, const uint8_t *dst, unsigned prefixlen)
{
	FILE *f = fopen(family == AF_INET ? "/proc/net/route" : "/proc/net/ipv6_route", "r");
	char line[512], dev[IFNAMSIZ + 1], hex[33], want[33];
	bool found = false;
	unsigned d, m, len;
	uint32_t want4, mask4;

	ck_assert_ptr_nonnull(f);
	memcpy(&want4, dst, 4);
	mask4 = family == AF_INET && prefixlen ? htonl(~0u << (32 - prefixlen)) : 0;
	for (int i = 0; i < 16 && family == AF_INET6; i++)
		sprintf(want + 2 * i, "%02x", dst[i]);
	while (fgets(line, sizeof(line), f)) {
		if (family == AF_INET) {
			/* Iface Destination Gateway Flags RefCnt Use Metric Mask: raw __be32 in %X */
			if (sscanf(line, "%16s %x %*x %*x %*d %*d %*d %x", dev, &d, &m) == 3 &&
			    !strcmp(dev, TESTIF) && d == want4 && m == mask4)
				found = true;
		} else if (sscanf(line, "%32s %x %*s %*x %*s %*x %*x %*x %*x %16s", hex, &len,
				  dev) == 3 && !strcmp(dev, TESTIF) && len == prefixlen &&
			   !strcmp(hex, want)) {
			found = true;
		}
	}
	fclose(f);
	return found;
}

START_TEST(test_ns_link)
{
	struct wm_tun tun;
	unsigned mtu = 0;
	int index;

	NEED_NETNS();
	index = make_tun(&tun);
	ck_assert_int_eq(wm_netlink_link_set_mtu(index, 1420), 0);
	ck_assert_int_eq(wm_tun_get_mtu(&tun, &mtu), 0);
	ck_assert_uint_eq(mtu, 1420);
	ck_assert_int_eq(wm_netlink_link_set_mtu(index, 70000), -EINVAL);	/* TUN max 65535 */
	ck_assert_int_eq(wm_tun_get_mtu(&tun, &mtu), 0);
	ck_assert_uint_eq(mtu, 1420);

	ck_assert_uint_eq(link_flags() & IFF_UP, 0);
	ck_assert_int_eq(wm_netlink_link_set_up(index, true), 0);
	ck_assert_uint_eq(link_flags() & IFF_UP, IFF_UP);
	ck_assert_int_eq(wm_netlink_link_set_up(index, false), 0);
	ck_assert_uint_eq(link_flags() & IFF_UP, 0);

	ck_assert_int_eq(wm_netlink_link_set_up(index + 1000, true), -ENODEV);
	ck_assert_int_eq(wm_netlink_link_set_mtu(index + 1000, 1420), -ENODEV);
	wm_tun_close(&tun);
	ck_assert_int_eq(wm_netlink_link_index(TESTIF), -ENODEV);
}
END_TEST

START_TEST(test_ns_addr)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	struct wm_tun tun;
	int index, s;

	NEED_NETNS();
	index = make_tun(&tun);
	ck_assert_int_eq(wm_netlink_link_set_up(index, true), 0);

	ck_assert(!has_addr(AF_INET, v4, 10));
	ck_assert_int_eq(wm_netlink_addr_add(index, AF_INET, v4, 10), 0);
	ck_assert(has_addr(AF_INET, v4, 10));
	ck_assert_int_eq(wm_netlink_addr_add(index, AF_INET, v4, 10), 0);	/* replaced */
	ck_assert_int_eq(wm_netlink_addr_del(index, AF_INET, v4, 10), 0);
	ck_assert(!has_addr(AF_INET, v4, 10));
	ck_assert_int_eq(wm_netlink_addr_del(index, AF_INET, v4, 10), -EADDRNOTAVAIL);

	ck_assert_int_eq(wm_netlink_addr_add(index, AF_INET6, v6, 48), 0);
	ck_assert(has_addr(AF_INET6, v6, 48));
	ck_assert_int_eq(wm_netlink_addr_add(index, AF_INET6, v6, 48), 0);
	/* Not tentative: a socket can bind to it at once. */
	memcpy(sin6.sin6_addr.s6_addr, v6, 16);
	s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sin6, sizeof(sin6)), 0);
	close(s);
	ck_assert_int_eq(wm_netlink_addr_del(index, AF_INET6, v6, 48), 0);
	ck_assert(!has_addr(AF_INET6, v6, 48));
	ck_assert_int_eq(wm_netlink_addr_del(index, AF_INET6, v6, 48), -EADDRNOTAVAIL);

	/* On a link that is down, too (as the daemon does it: addresses first, then up). */
	ck_assert_int_eq(wm_netlink_link_set_up(index, false), 0);
	ck_assert_int_eq(wm_netlink_addr_add(index, AF_INET6, v6, 64), 0);
	ck_assert_int_eq(wm_netlink_addr_add(index, AF_INET, v4, 32), 0);
	ck_assert(has_addr(AF_INET6, v6, 64));
	ck_assert(has_addr(AF_INET, v4, 32));
	ck_assert_int_eq(wm_netlink_addr_add(index + 1000, AF_INET, v4, 32), -ENODEV);
	wm_tun_close(&tun);
}
END_TEST

START_TEST(test_ns_route)
{
	const uint8_t net4[4] = { 10, 77, 0, 0 }, host4[4] = { 10, 77, 3, 4 };
	const uint8_t net6[16] = { 0xfd, 0x77, 0x6d, 0x65, 0x73, 0x68, 0, 1 };
	struct wm_tun tun;
	int index;

	NEED_NETNS();
	index = make_tun(&tun);
	ck_assert_int_eq(wm_netlink_route_add(index, AF_INET, net4, 16), -ENETDOWN);
	ck_assert_int_eq(wm_netlink_link_set_up(index, true), 0);

	ck_assert(!has_route(AF_INET, net4, 16));
	ck_assert_int_eq(wm_netlink_route_add(index, AF_INET, host4, 16), 0);	/* masked */
	ck_assert(has_route(AF_INET, net4, 16));
	ck_assert_int_eq(wm_netlink_route_add(index, AF_INET, net4, 16), 0);	/* replaced */
	ck_assert_int_eq(wm_netlink_route_del(index, AF_INET, net4, 16), 0);
	ck_assert(!has_route(AF_INET, net4, 16));
	ck_assert_int_eq(wm_netlink_route_del(index, AF_INET, net4, 16), -ESRCH);

	ck_assert_int_eq(wm_netlink_route_add(index, AF_INET6, net6, 64), 0);
	ck_assert(has_route(AF_INET6, net6, 64));
	ck_assert_int_eq(wm_netlink_route_add(index, AF_INET6, net6, 64), 0);
	ck_assert_int_eq(wm_netlink_route_del(index, AF_INET6, net6, 64), 0);
	ck_assert(!has_route(AF_INET6, net6, 64));
	ck_assert_int_eq(wm_netlink_route_del(index, AF_INET6, net6, 64), -ESRCH);

	/* A default route through the tunnel (prefix 0), both families, in this namespace only. */
	ck_assert_int_eq(wm_netlink_route_add(index, AF_INET, net4, 0), 0);
	ck_assert(has_route(AF_INET, (const uint8_t[4]){ 0 }, 0));
	ck_assert_int_eq(wm_netlink_route_del(index, AF_INET, net4, 0), 0);
	ck_assert_int_eq(wm_netlink_route_add(index, AF_INET6, net6, 0), 0);
	ck_assert(has_route(AF_INET6, (const uint8_t[16]){ 0 }, 0));
	ck_assert_int_eq(wm_netlink_route_del(index, AF_INET6, net6, 0), 0);
	wm_tun_close(&tun);
}
END_TEST

/* A rule's line in `ip rule`, as the kernel dumps it: whether one with these fields exists. */
static bool has_rule(int family, uint32_t priority, uint32_t table, uint32_t fwmark,
		     bool invert)
{
	struct {
		struct nlmsghdr h;
		struct fib_rule_hdr frh;
	} req = {
		.h = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETRULE,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		.frh = { .family = (uint8_t)family },
	};
	static uint8_t rx[65536];
	bool found = false, done = false;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(send(fd, &req, sizeof(req), 0), (ssize_t)sizeof(req));
	while (!done) {
		ssize_t n = recv(fd, rx, sizeof(rx), 0);
		struct nlmsghdr *h = (struct nlmsghdr *)rx;

		ck_assert_int_gt(n, 0);
		for (; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			struct fib_rule_hdr *f = NLMSG_DATA(h);
			struct rtattr *a = (struct rtattr *)((uint8_t *)f + NLMSG_ALIGN(sizeof(*f)));
			size_t alen = h->nlmsg_len - NLMSG_LENGTH(sizeof(*f));
			uint32_t prio = 0, tab = f->table, mark = 0;

			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
				done = true;
				break;
			}
			for (; RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
				if (a->rta_type == FRA_PRIORITY)
					memcpy(&prio, RTA_DATA(a), 4);
				else if (a->rta_type == FRA_TABLE)
					memcpy(&tab, RTA_DATA(a), 4);
				else if (a->rta_type == FRA_FWMARK)
					memcpy(&mark, RTA_DATA(a), 4);
			}
			found = found || (prio == priority && tab == table && mark == fwmark &&
					  !!(f->flags & FIB_RULE_INVERT) == invert);
		}
	}
	close(fd);
	return found;
}

START_TEST(test_ns_rules_and_table)
{
	const struct wm_netlink_rule r4 = {
		.family = AF_INET, .priority = 32761, .table = 41641, .fwmark = 0xa2a9,
		.invert = true, .suppress_prefixlen = -1,
	};
	struct wm_netlink_rule r6 = r4, sup = {
		.family = AF_INET, .priority = 32760, .table = RT_TABLE_MAIN,
		.suppress_prefixlen = 0,
	};
	const uint8_t zero[16] = { 0 };
	struct wm_tun tun;
	int index;

	NEED_NETNS();
	r6.family = AF_INET6;
	index = make_tun(&tun);
	ck_assert_int_eq(wm_netlink_link_set_up(index, true), 0);

	ck_assert(!has_rule(AF_INET, 32761, 41641, 0xa2a9, true));
	ck_assert_int_eq(wm_netlink_rule_add(&r4), 0);
	ck_assert(has_rule(AF_INET, 32761, 41641, 0xa2a9, true));
	ck_assert(!has_rule(AF_INET6, 32761, 41641, 0xa2a9, true));
	ck_assert_int_eq(wm_netlink_rule_add(&r4), -EEXIST);
	ck_assert_int_eq(wm_netlink_rule_add(&r6), 0);
	ck_assert(has_rule(AF_INET6, 32761, 41641, 0xa2a9, true));
	ck_assert_int_eq(wm_netlink_rule_add(&sup), 0);
	ck_assert(has_rule(AF_INET, 32760, RT_TABLE_MAIN, 0, false));

	ck_assert_int_eq(wm_netlink_route_add_in(index, AF_INET, zero, 0, 41641), 0);
	ck_assert_int_eq(wm_netlink_route_add_in(index, AF_INET6, zero, 0, 41641), 0);
	ck_assert_int_eq(wm_netlink_route_add_in(index, AF_INET, zero, 0, 41641), 0); /* replaced */
	/* Not in main: the table's routes are the table's. */
	ck_assert(!has_route(AF_INET, zero, 0));
	ck_assert_int_eq(wm_netlink_route_del_in(index, AF_INET, zero, 0, 41641), 0);
	ck_assert_int_eq(wm_netlink_route_del_in(index, AF_INET, zero, 0, 41641), -ESRCH);
	ck_assert_int_eq(wm_netlink_route_del_in(index, AF_INET6, zero, 0, 41641), 0);

	ck_assert_int_eq(wm_netlink_rule_del(&sup), 0);
	ck_assert_int_eq(wm_netlink_rule_del(&r4), 0);
	ck_assert(!has_rule(AF_INET, 32761, 41641, 0xa2a9, true));
	ck_assert_int_eq(wm_netlink_rule_del(&r4), -ENOENT);
	ck_assert_int_eq(wm_netlink_rule_del(&r6), 0);
	ck_assert(!has_rule(AF_INET6, 32761, 41641, 0xa2a9, true));
	wm_tun_close(&tun);
}
END_TEST

static Suite *netlink_suite(void)
{
	Suite *s = suite_create("netlink");
	TCase *build = tcase_create("build");
	TCase *parse = tcase_create("parse");
	TCase *live = tcase_create("live");

	tcase_add_test(build, test_build_link_get);
	tcase_add_test(build, test_build_link_up_mtu);
	tcase_add_test(build, test_build_addr);
	tcase_add_test(build, test_build_route);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	tcase_add_test(build, test_build_route_known_bytes);
#endif
	tcase_add_test(build, test_build_route_in_table);
	tcase_add_test(build, test_build_rule);
	tcase_add_test(build, test_build_rule_bad_args);
	tcase_add_test(build, test_build_bad_args);
	tcase_add_test(build, test_build_bounds);
	suite_add_tcase(s, build);

	tcase_add_test(parse, test_parse_acks);
	tcase_add_test(parse, test_parse_malformed);
	tcase_add_test(parse, test_parse_random);
	suite_add_tcase(s, parse);

	tcase_add_test(live, test_link_index_unprivileged);
	tcase_add_test(live, test_ns_link);
	tcase_add_test(live, test_ns_addr);
	tcase_add_test(live, test_ns_route);
	tcase_add_test(live, test_ns_rules_and_table);
	tcase_set_timeout(live, 30);
	suite_add_tcase(s, live);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(netlink_suite());
	int failures;

	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
