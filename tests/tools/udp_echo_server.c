/*
 * udp_echo_server: the host twin of the udp-echo guest, the baseline for bench/network_latency.sh
 * and the peer the client's own tests run against.
 *
 *   udp_echo_server PORT [IDLE-SECONDS] [--bind ADDRESS]
 *
 * Prints "udp_echo_server: listening on ADDRESS:PORT" when ready, echoes every datagram to its
 * sender, answers "!quit" with "!bye" and exits 0, and exits 0 after IDLE-SECONDS without a
 * datagram (default: never). Prints "echoed N" at exit.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static unsigned char buffer[65536];

int main(int argc, char **argv)
{
	const char *bind_address = "0.0.0.0";
	long port = -1, idle_seconds = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--bind") == 0 && i + 1 < argc) {
			bind_address = argv[++i];
		} else if (strcmp(argv[i], "--help") == 0) {
			printf("usage: udp_echo_server PORT [IDLE-SECONDS] [--bind ADDRESS]\n");
			return 0;
		} else {
			char *end;
			long value = strtol(argv[i], &end, 10);
			if (*end != '\0' || end == argv[i] || value < 0) {
				fprintf(stderr, "udp_echo_server: bad argument '%s'\n", argv[i]);
				return 2;
			}
			if (port < 0)
				port = value;
			else
				idle_seconds = value;
		}
	}
	if (port < 1 || port > 65535) {
		fprintf(stderr, "usage: udp_echo_server PORT [IDLE-SECONDS] [--bind ADDRESS]\n");
		return 2;
	}
	struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, bind_address, &address.sin_addr) != 1) {
		fprintf(stderr, "udp_echo_server: '%s' is not an IPv4 address\n", bind_address);
		return 2;
	}
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int buffer_size = 4 << 20;
	setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &buffer_size, sizeof buffer_size);
	setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &buffer_size, sizeof buffer_size);
	int discovery = IP_PMTUDISC_DONT;
	setsockopt(sock, IPPROTO_IP, IP_MTU_DISCOVER, &discovery, sizeof discovery);
	if (sock < 0 || bind(sock, (struct sockaddr *)&address, sizeof address) != 0) {
		perror("udp_echo_server: bind");
		return 2;
	}
	printf("udp_echo_server: listening on %s:%ld\n", bind_address, port);
	fflush(stdout);
	unsigned long long echoed = 0;
	for (;;) {
		struct pollfd pfd = { .fd = sock, .events = POLLIN };
		int ready = poll(&pfd, 1, idle_seconds > 0 ? (int)(idle_seconds * 1000) : -1);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready < 0) {
			perror("udp_echo_server: poll");
			return 2;
		}
		if (ready == 0) {
			printf("udp_echo_server: idle for %ld s, exiting\n", idle_seconds);
			break;
		}
		struct sockaddr_in peer;
		socklen_t peer_length = sizeof peer;
		ssize_t got = recvfrom(sock, buffer, sizeof buffer, 0, (struct sockaddr *)&peer,
				       &peer_length);
		if (got < 0)
			continue;
		if (got == 5 && memcmp(buffer, "!quit", 5) == 0) {
			sendto(sock, "!bye", 4, 0, (struct sockaddr *)&peer, peer_length);
			break;
		}
		if (sendto(sock, buffer, (size_t)got, 0, (struct sockaddr *)&peer, peer_length) ==
		    got)
			echoed++;
	}
	printf("echoed %llu\n", echoed);
	return 0;
}
