/* SPDX-License-Identifier: MIT */
/*
 * Linux TUN offloads, sans I/O. With IFF_VNET_HDR every TUN read and write
 * starts with a virtio_net_hdr; a read may carry a TCP or UDP "super-packet" of
 * up to 64 KiB with a partial checksum (GSO), and a write may hand the kernel
 * one (GRO in reverse). wm_gso_split turns a read into plain, fully
 * checksummed IP packets; wm_gro_coalesce merges in-order TCP segments of a
 * batch bound for the TUN. Neither allocates, reads a clock or does I/O.
 */
#ifndef WM_OFFLOAD_H
#define WM_OFFLOAD_H

#include <stddef.h>
#include <stdint.h>

/*
 * struct virtio_net_hdr, the legacy 10-byte layout TUN uses (virtio 1.2
 * §5.1.6). Its 16-bit fields are in host order: TUN uses native order unless
 * TUNSETVNETLE/BE is set (as wireguard-go assumes too).
 */
enum { WM_VNET_HDR_LEN = 10 };

enum {
	WM_VNET_F_NEEDS_CSUM = 1,	/* checksum partial: fill from csum_start */
	WM_VNET_F_DATA_VALID = 2,	/* checksum already checked (reads only) */
};

enum {
	WM_VNET_GSO_NONE = 0,
	WM_VNET_GSO_TCPV4 = 1,
	WM_VNET_GSO_TCPV6 = 4,
	WM_VNET_GSO_UDP_L4 = 5,		/* virtio 1.2; Linux 6.2 (USO) */
	WM_VNET_GSO_ECN = 0x80,		/* TCP with CWR on the first segment */
};

/* TUNSETOFFLOAD bits (<linux/if_tun.h>; older headers lack the USO ones). */
enum {
	WM_TUN_F_CSUM = 0x01,
	WM_TUN_F_TSO4 = 0x02,
	WM_TUN_F_TSO6 = 0x04,
	WM_TUN_F_TSO_ECN = 0x08,
	WM_TUN_F_USO4 = 0x20,
	WM_TUN_F_USO6 = 0x40,
};

struct wm_vnet_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
};

/* Decodes the header at the start of buf. 0, or -EINVAL when len is too short. */
int wm_vnet_hdr_parse(struct wm_vnet_hdr *hdr, const uint8_t *buf, size_t len);

/* Encodes hdr into buf. */
void wm_vnet_hdr_write(uint8_t buf[WM_VNET_HDR_LEN], const struct wm_vnet_hdr *hdr);

/*
 * Splits one TUN read (vnet header + IP packet, in_len bytes) into plain IP
 * packets with complete checksums: out[k] gets packet k, out_len[k] its
 * length, for k below the returned count. out holds max_out buffers of
 * out_cap_each bytes, none overlapping in.
 *
 * GSO_NONE is copied, with its checksum completed when NEEDS_CSUM is set.
 * TCPV4/TCPV6/UDP_L4 are cut every gso_size payload bytes: IPv4 ID + k, IP
 * lengths, TCP sequence + k * gso_size, FIN/PSH on the last segment only, CWR
 * on the first only, UDP length, and every checksum recomputed. IPv4 options
 * are copied into each segment. The header length comes from the packet
 * itself: hdr_len is only checked not to exceed it (the kernel may report the
 * whole first buffer there).
 *
 * Returns the number of packets (>= 1), -EINVAL for a header or packet this
 * cannot split (unknown flags or gso_type, IP version not matching it, an
 * IPv4 fragment, IPv6 extension headers, csum_start/csum_offset not those of
 * the TCP/UDP header, gso_size 0, truncated or inconsistent lengths), or
 * -ENOBUFS when the packets do not fit max_out buffers of out_cap_each. Either
 * error means drop and count; nothing is written to out then.
 */
int wm_gso_split(const uint8_t *in, size_t in_len, uint8_t *const out[], size_t out_len[],
		 size_t out_cap_each, size_t max_out);

/* One packet of a batch bound for the TUN. */
struct wm_gro_packet {
	uint8_t *data;	/* an IP packet; the WM_VNET_HDR_LEN bytes before it are writable */
	size_t len;	/* its length; grows as later segments are appended to it */
	size_t cap;	/* bytes writable from data on: how far len may grow */
};

/*
 * Coalesces the batch pkts[0..n) for one TUN write each. TCP segments of one
 * flow (addresses and ports) merge into the first of their run when they
 * follow it in sequence with equal IP (TOS/traffic class, TTL/hop limit, DF,
 * flow label) and TCP (ACK number, window, flags, urgent pointer, options)
 * headers, a payload no larger than the first's (a shorter one ends the run),
 * no SYN/FIN/RST/URG/CWR, PSH only on the last, valid checksums, IPv4 without
 * options or fragmentation (and with IDs counting up unless DF), IPv6 without
 * extension headers, up to 65535 bytes. A merged packet gets a GSO vnet header
 * (NEEDS_CSUM, pseudo-header checksum in the TCP checksum field); every other
 * packet written gets a zero one. UDP is never coalesced.
 *
 * Fills write[] (room for n) with the indices of the packets to write, in the
 * order to write them; packet i is then pkts[i].data - WM_VNET_HDR_LEN for
 * pkts[i].len + WM_VNET_HDR_LEN bytes. Packets of one flow keep their order.
 * Returns how many to write, or -EINVAL if n exceeds INT_MAX.
 */
int wm_gro_coalesce(struct wm_gro_packet *pkts, size_t n, size_t write[]);

#endif
