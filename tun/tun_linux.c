/* SPDX-License-Identifier: MIT */
#include "tun/tun.h"
#include "tun/offload.h"

#ifdef __linux__

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static int set_nonblocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* Asks for as many offloads as the kernel grants; the vnet header is already on. */
static void enable_offloads(struct wm_tun *tun)
{
	static const unsigned attempts[] = {
		WM_TUN_F_CSUM | WM_TUN_F_TSO4 | WM_TUN_F_TSO6 | WM_TUN_F_USO4 | WM_TUN_F_USO6,
		WM_TUN_F_CSUM | WM_TUN_F_TSO4 | WM_TUN_F_TSO6,
	};
	unsigned i;

	for (i = 0; i < sizeof(attempts) / sizeof(attempts[0]); i++) {
		if (ioctl(tun->fd, TUNSETOFFLOAD, (unsigned long)attempts[i]) == 0) {
			tun->offloads = attempts[i];
			return;
		}
	}
	tun->offloads = 0;
}

int wm_tun_open(struct wm_tun *tun, const char *name, bool offload)
{
	int hdr_len = WM_VNET_HDR_LEN;
	struct ifreq ifr;
	int fd, err;

	memset(tun, 0, sizeof(*tun));
	tun->fd = -1;
	if (strlen(name) >= WM_TUN_NAME_LEN)
		return -ENAMETOOLONG;
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0);
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	err = set_nonblocking(fd);
	if (err < 0) {
		close(fd);
		return err;
	}
	tun->fd = fd;
	memcpy(tun->name, ifr.ifr_name, WM_TUN_NAME_LEN - 1);
	if (offload && ioctl(fd, TUNSETVNETHDRSZ, &hdr_len) == 0) {
		tun->vnet_hdr = true;
		enable_offloads(tun);
	}
	/* A persistent interface outlives us; one we created goes when the fd closes. */
	memset(&ifr, 0, sizeof(ifr));
	tun->created = ioctl(fd, TUNGETIFF, &ifr) == 0 && !(ifr.ifr_flags & IFF_PERSIST);
	return 0;
}

int wm_tun_adopt(struct wm_tun *tun, int fd, const char *name)
{
	struct ifreq ifr;
	int err;

	memset(tun, 0, sizeof(*tun));
	tun->fd = -1;
	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) < 0)
		return -errno;
	err = set_nonblocking(fd);
	if (err < 0)
		return err;
	tun->fd = fd;
	memcpy(tun->name, ifr.ifr_name[0] ? ifr.ifr_name : name, WM_TUN_NAME_LEN - 1);
	tun->created = !(ifr.ifr_flags & IFF_PERSIST);
	/*
	 * wireguard-go's parent hands over a TUN opened without IFF_NO_PI, and
	 * TUNGETIFF cannot tell (it reports IFF_NOFILTER, the same bit, for every
	 * queue without a filter): assume the packet-information header, as
	 * wireguard-go does.
	 */
	tun->packet_info = true;
	tun->vnet_hdr = ifr.ifr_flags & IFF_VNET_HDR;
	return 0;
}

int wm_tun_read_batch(struct wm_tun *tun, struct wm_tun_slot *slots, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint8_t pi[4];
		struct iovec iov[2] = { { pi, sizeof(pi) }, { slots[i].buf, slots[i].cap } };
		ssize_t r = tun->packet_info ? readv(tun->fd, iov, 2)
					     : read(tun->fd, slots[i].buf, slots[i].cap);

		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				break;
			return i ? (int)i : -errno;
		}
		if (tun->packet_info)
			r = r >= (ssize_t)sizeof(pi) ? r - (ssize_t)sizeof(pi) : 0;
		slots[i].len = (size_t)r;
	}
	return (int)i;
}

int wm_tun_write_batch(struct wm_tun *tun, const struct wm_tun_slot *slots, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		ssize_t w;

		if (tun->packet_info) {
			/* flags 0, then the EtherType of the packet's IP version. */
			uint8_t pi[4] = { 0, 0, 0x08, 0x00 };
			struct iovec iov[2] = { { pi, sizeof(pi) }, { slots[i].buf, slots[i].len } };

			if (slots[i].len && (slots[i].buf[0] >> 4) == 6) {
				pi[2] = 0x86;
				pi[3] = 0xdd;
			}
			w = writev(tun->fd, iov, 2);
		} else {
			w = write(tun->fd, slots[i].buf, slots[i].len);
		}
		/* A full TUN queue drops the packet, as a NIC would; TCP recovers. */
		if (w < 0 && errno != EAGAIN && errno != ENOBUFS)
			return i ? (int)i : -errno;
	}
	return (int)i;
}

static int ifreq_ioctl(const struct wm_tun *tun, unsigned long request, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (s < 0)
		s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	memcpy(ifr->ifr_name, tun->name, WM_TUN_NAME_LEN);
	if (ioctl(s, request, ifr) < 0)
		err = -errno;
	close(s);
	return err;
}

int wm_tun_get_mtu(const struct wm_tun *tun, unsigned *mtu)
{
	struct ifreq ifr;
	int err;

	memset(&ifr, 0, sizeof(ifr));
	err = ifreq_ioctl(tun, SIOCGIFMTU, &ifr);
	if (err == 0)
		*mtu = (unsigned)ifr.ifr_mtu;
	return err;
}

int wm_tun_set_mtu(const struct wm_tun *tun, unsigned mtu)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_mtu = (int)mtu;
	return ifreq_ioctl(tun, SIOCSIFMTU, &ifr);
}

void wm_tun_close(struct wm_tun *tun)
{
	if (tun->fd >= 0)
		close(tun->fd);
	tun->fd = -1;
}

#endif
