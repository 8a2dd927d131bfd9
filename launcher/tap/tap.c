/* Opening and configuring a TAP device (see tap.h). */
#include "tap/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ringvisor_abi.h"
#include "fail.h"

#ifndef SIOCBRADDIF
#define SIOCBRADDIF 0x89a2
#endif

/* The host side must not send the guest frames larger than its MTU: same MTU both ends. */
static void set_interface_up(const char *name, unsigned mtu)
{
	int control = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (control < 0)
		fail_errno("socket for configuring %s", name);
	struct ifreq request;
	memset(&request, 0, sizeof request);
	snprintf(request.ifr_name, sizeof request.ifr_name, "%s", name);
	if (ioctl(control, SIOCGIFFLAGS, &request) < 0)
		fail_errno("cannot read the flags of TAP %s", name);
	request.ifr_flags |= IFF_UP;
	struct ifreq mtu_request = request;
	mtu_request.ifr_mtu = (int)mtu;
	if (ioctl(control, SIOCSIFMTU, &mtu_request) < 0)
		fail_errno("cannot set TAP %s's MTU to %u", name, mtu);
	if (ioctl(control, SIOCSIFFLAGS, &request) < 0)
		fail_errno("cannot bring TAP %s up", name);
	close(control);
}

static void attach_to_bridge(const char *name, const char *bridge)
{
	char path[64];
	struct stat status;
	snprintf(path, sizeof path, "/sys/class/net/%s/bridge", bridge);
	if (!if_nametoindex(bridge))
		fail("cannot attach TAP %s to bridge %s: there is no interface named %s", name,
		     bridge, bridge);
	if (stat(path, &status) < 0)
		fail("cannot attach TAP %s to %s: %s is not a bridge", name, bridge, bridge);
	int control = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq request;
	memset(&request, 0, sizeof request);
	snprintf(request.ifr_name, sizeof request.ifr_name, "%s", bridge);
	request.ifr_ifindex = (int)if_nametoindex(name);
	if (control < 0 || ioctl(control, SIOCBRADDIF, &request) < 0)
		fail_errno("cannot attach TAP %s to bridge %s", name, bridge);
	close(control);
}

int tap_open(const char *name, const char *bridge, unsigned mtu)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		fail_errno("cannot open /dev/net/tun for TAP %s", name);
	struct ifreq request;
	memset(&request, 0, sizeof request);
	snprintf(request.ifr_name, sizeof request.ifr_name, "%s", name);
	request.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &request) < 0) {
		int error = errno;
		if (error == EPERM)
			fail("no permission to create or open TAP %s (it needs CAP_NET_ADMIN, or a "
			     "persistent TAP owned by this user)",
			     name);
		if (error == EBUSY)
			fail("TAP %s is busy: another process has it open", name);
		if (error == EINVAL)
			fail("cannot use %s as a TAP: an interface of another kind has that name, "
			     "or its flags differ",
			     name);
		errno = error;
		fail_errno("cannot open TAP %s", name);
	}
	int header_bytes = RINGVISOR_NET_HEADER_BYTES;
	if (ioctl(fd, TUNSETVNETHDRSZ, &header_bytes) < 0)
		fail_errno("TAP %s refuses a %d-byte virtio-net header", name, header_bytes);
	if (tap_set_offloads(fd, 0) < 0)
		fail_errno("TAP %s refuses to turn offloads off", name);
	set_interface_up(name, mtu);
	if (bridge[0])
		attach_to_bridge(name, bridge);
	return fd;
}

int tap_set_offloads(int fd, unsigned offloads)
{
	return ioctl(fd, TUNSETOFFLOAD, offloads) < 0 ? -errno : 0;
}
