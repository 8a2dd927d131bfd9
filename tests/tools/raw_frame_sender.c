/*
 * raw_frame_sender: sends hand-crafted, malformed Ethernet frames out of an interface through an
 * AF_PACKET socket, for the tests that check a network stack counts and drops them.
 *
 *   raw_frame_sender IFNAME DEST-MAC SRC-IP DST-IP KIND [PORT]
 *
 * The source MAC is IFNAME's own. Every frame but the runt is an IPv4/UDP datagram from SRC-IP
 * port 40000 to DST-IP port PORT (default 9) that is valid except for the one thing KIND breaks:
 *
 *   runt                  10 bytes: shorter than an Ethernet header
 *   bad-ip-checksum       IPv4 header checksum off by one
 *   bad-udp-checksum      UDP checksum off by one (never 0, which would mean "no checksum")
 *   truncated-ip-header   EtherType IPv4 but only 12 bytes of IP header after it
 *   bad-total-length      IPv4 total length 1000, but only 28+16 bytes in the frame
 *   overlapping-fragments two fragments of one datagram: bytes 0-31 and bytes 16-47
 *
 * Frames are sent exactly as built (no padding to 60 bytes). Exits 0 once sent, 1 if the kernel
 * refused a frame (it refuses frames shorter than the device's minimum header length; see the
 * message), 2 on bad usage.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define UDP_SOURCE_PORT 40000

struct frame {
	uint8_t bytes[256];
	size_t length;
};

static uint8_t destination_mac[6], source_mac[6];
static uint32_t source_ip, destination_ip; /* network order */
static uint16_t destination_port = 9;

static void store16(uint8_t *at, uint16_t value)
{
	at[0] = (uint8_t)(value >> 8);
	at[1] = (uint8_t)value;
}

static uint32_t sum16(const uint8_t *data, size_t length, uint32_t sum)
{
	for (size_t i = 0; i + 1 < length; i += 2)
		sum += (uint32_t)(data[i] << 8 | data[i + 1]);
	if (length & 1)
		sum += (uint32_t)data[length - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint8_t *ethernet_header(struct frame *frame, uint16_t type)
{
	memcpy(frame->bytes, destination_mac, 6);
	memcpy(frame->bytes + 6, source_mac, 6);
	store16(frame->bytes + 12, type);
	frame->length = 14;
	return frame->bytes + 14;
}

/* A 20-byte IPv4 header with a correct checksum. */
static void ipv4_header(uint8_t *ip, uint16_t total_length, uint16_t id, uint16_t fragment_field)
{
	memset(ip, 0, 20);
	ip[0] = 0x45;
	store16(ip + 2, total_length);
	store16(ip + 4, id);
	store16(ip + 6, fragment_field);
	ip[8] = 64;
	ip[9] = 17; /* UDP */
	memcpy(ip + 12, &source_ip, 4);
	memcpy(ip + 16, &destination_ip, 4);
	store16(ip + 10, fold(sum16(ip, 20, 0)));
}

static uint16_t udp_checksum(const uint8_t *udp, size_t length)
{
	uint8_t pseudo[12];
	memcpy(pseudo, &source_ip, 4);
	memcpy(pseudo + 4, &destination_ip, 4);
	pseudo[8] = 0;
	pseudo[9] = 17;
	store16(pseudo + 10, (uint16_t)length);
	uint16_t checksum = fold(sum16(udp, length, sum16(pseudo, 12, 0)));
	return checksum == 0 ? 0xffff : checksum;
}

/* A UDP datagram of `payload_length` pattern bytes at `udp`, checksum correct. */
static void udp_datagram(uint8_t *udp, size_t payload_length)
{
	store16(udp, UDP_SOURCE_PORT);
	store16(udp + 2, destination_port);
	store16(udp + 4, (uint16_t)(8 + payload_length));
	store16(udp + 6, 0);
	for (size_t i = 0; i < payload_length; i++)
		udp[8 + i] = (uint8_t)('a' + i % 26);
	store16(udp + 6, udp_checksum(udp, 8 + payload_length));
}

/* A whole, valid IPv4/UDP frame with a 16-byte payload. */
static uint8_t *valid_udp_frame(struct frame *frame, uint16_t id)
{
	uint8_t *ip = ethernet_header(frame, ETHERTYPE_IP);
	udp_datagram(ip + 20, 16);
	ipv4_header(ip, 20 + 8 + 16, id, 0x4000 /* DF */);
	frame->length += 20 + 8 + 16;
	return ip;
}

/* Builds the frames of KIND; returns how many, 0 for an unknown kind. */
static int build(const char *kind, struct frame frames[2])
{
	uint16_t id = (uint16_t)(getpid() ^ 0x5a5a);
	memset(frames, 0, 2 * sizeof *frames);
	if (strcmp(kind, "runt") == 0) {
		ethernet_header(&frames[0], ETHERTYPE_IP);
		frames[0].length = 10;
		return 1;
	}
	if (strcmp(kind, "bad-ip-checksum") == 0) {
		uint8_t *ip = valid_udp_frame(&frames[0], id);
		ip[11] ^= 1; /* changes the sum by 1: never an equivalent checksum */
		return 1;
	}
	if (strcmp(kind, "bad-udp-checksum") == 0) {
		uint8_t *udp = valid_udp_frame(&frames[0], id) + 20;
		uint16_t checksum = (uint16_t)(udp[6] << 8 | udp[7]);
		checksum = checksum == 1 ? 2 : checksum ^ 1; /* 0 would mean "no checksum" */
		store16(udp + 6, checksum);
		return 1;
	}
	if (strcmp(kind, "truncated-ip-header") == 0) {
		uint8_t *ip = valid_udp_frame(&frames[0], id);
		(void)ip;
		frames[0].length = 14 + 12;
		return 1;
	}
	if (strcmp(kind, "bad-total-length") == 0) {
		uint8_t *ip = valid_udp_frame(&frames[0], id);
		ipv4_header(ip, 1000, id, 0x4000); /* checksum correct for the wrong length */
		return 1;
	}
	if (strcmp(kind, "overlapping-fragments") == 0) {
		/* One datagram: UDP header + 40 bytes (48 bytes of IP payload). The first fragment
		 * carries bytes 0-31 (more fragments), the second bytes 16-47 (the last): bytes
		 * 16-31 come twice. */
		uint8_t datagram[48];
		udp_datagram(datagram, 40);
		uint8_t *ip = ethernet_header(&frames[0], ETHERTYPE_IP);
		memcpy(ip + 20, datagram, 32);
		ipv4_header(ip, 20 + 32, id, 0x2000 /* MF */ | 0);
		frames[0].length += 20 + 32;
		ip = ethernet_header(&frames[1], ETHERTYPE_IP);
		memcpy(ip + 20, datagram + 16, 32);
		ipv4_header(ip, 20 + 32, id, 16 / 8);
		frames[1].length += 20 + 32;
		return 2;
	}
	return 0;
}

static int parse_mac(const char *text, uint8_t mac[6])
{
	unsigned int parts[6];
	char extra;
	if (sscanf(text, "%x:%x:%x:%x:%x:%x%c", &parts[0], &parts[1], &parts[2], &parts[3],
		   &parts[4], &parts[5], &extra) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (parts[i] > 255)
			return -1;
		mac[i] = (uint8_t)parts[i];
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		printf("usage: raw_frame_sender IFNAME DEST-MAC SRC-IP DST-IP KIND [PORT]\n"
		       "KIND: runt, bad-ip-checksum, bad-udp-checksum, truncated-ip-header,\n"
		       "      bad-total-length, overlapping-fragments\n");
		return 0;
	}
	if (argc != 6 && argc != 7) {
		fprintf(stderr,
			"usage: raw_frame_sender IFNAME DEST-MAC SRC-IP DST-IP KIND [PORT]\n");
		return 2;
	}
	const char *interface = argv[1], *kind = argv[5];
	if (parse_mac(argv[2], destination_mac) != 0) {
		fprintf(stderr, "raw_frame_sender: '%s' is not a MAC address\n", argv[2]);
		return 2;
	}
	if (inet_pton(AF_INET, argv[3], &source_ip) != 1 ||
	    inet_pton(AF_INET, argv[4], &destination_ip) != 1) {
		fprintf(stderr, "raw_frame_sender: bad IPv4 address\n");
		return 2;
	}
	if (argc == 7) {
		char *end;
		long port = strtol(argv[6], &end, 10);
		if (*end != '\0' || port < 1 || port > 65535) {
			fprintf(stderr, "raw_frame_sender: '%s' is not a port\n", argv[6]);
			return 2;
		}
		destination_port = (uint16_t)port;
	}
	int sock = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (sock < 0) {
		perror("raw_frame_sender: socket(AF_PACKET)");
		return 2;
	}
	struct ifreq request;
	memset(&request, 0, sizeof request);
	if (strlen(interface) >= sizeof request.ifr_name) {
		fprintf(stderr, "raw_frame_sender: interface name '%s' too long\n", interface);
		return 2;
	}
	strcpy(request.ifr_name, interface);
	if (ioctl(sock, SIOCGIFHWADDR, &request) != 0) {
		fprintf(stderr, "raw_frame_sender: no interface '%s': %s\n", interface,
			strerror(errno));
		return 2;
	}
	memcpy(source_mac, request.ifr_hwaddr.sa_data, 6);
	struct sockaddr_ll link = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_IP),
		.sll_ifindex = (int)if_nametoindex(interface),
		.sll_halen = 6,
	};
	memcpy(link.sll_addr, destination_mac, 6);

	struct frame frames[2];
	int count = build(kind, frames);
	if (count == 0) {
		fprintf(stderr, "raw_frame_sender: unknown KIND '%s'\n", kind);
		return 2;
	}
	for (int i = 0; i < count; i++) {
		ssize_t sent = sendto(sock, frames[i].bytes, frames[i].length, 0,
				      (struct sockaddr *)&link, sizeof link);
		if (sent != (ssize_t)frames[i].length) {
			fprintf(stderr, "raw_frame_sender: %s frame %d of %zu bytes on %s: %s\n",
				kind, i + 1, frames[i].length, interface,
				sent < 0 ? strerror(errno) : "short write");
			if (sent < 0 && errno == EINVAL && frames[i].length < 14)
				fprintf(stderr,
					"raw_frame_sender: the kernel refuses frames shorter "
					"than an Ethernet header on an Ethernet device\n");
			return 1;
		}
	}
	printf("raw_frame_sender: sent %s (%d frame%s) on %s\n", kind, count, count == 1 ? "" : "s",
	       interface);
	return 0;
}
