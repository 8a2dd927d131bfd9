/*
 * tcp_check_host: the host twin of the tcp-check guest (tests/guests/tcp-check), with the same byte
 * pattern (tests/guests/tcp-check/tcp_check_pattern.h) and the same options, over plain sockets.
 *
 *   tcp_check_host listen PORT | connect ADDRESS PORT
 *                  send BYTES | receive BYTES | echo BYTES | quit
 *                  [cycles N] [concurrent N] [timeout SECONDS] [bind ADDRESS]
 *                  [half-close] [abort] [abort-at BYTES] [expect-refused]
 *
 * Every connection carries BYTES bytes of the pattern; cycles N and concurrent K make N * K
 * connections, at most K at a time. How each one ends (the guest never closes first, so it keeps
 * no TIME_WAIT; see tests/guests/tcp-check/tcp_check.c):
 *   send      writes BYTES, shuts down its side, reads until the peer's FIN (any byte: failure).
 *   receive   reads and checks BYTES, shuts down its side, reads until the peer's FIN (any byte
 *             more: failure). half-close: shuts down its side as soon as it is connected.
 *   echo      (to an echo server such as tcp-echo) writes BYTES while reading them back and
 *             checking them, shuts down its side once all is written, and expects exactly BYTES
 *             back and then the FIN.
 *   abort     resets the connection (SO_LINGER 0) where it would have shut down: after writing
 *             everything (send), after receiving everything (receive), after writing everything
 *             and reading all of it back (echo: the peer's connection is then idle).
 *   abort-at N  resets the connection as soon as N bytes are written (send, echo): in the middle
 *             of the transfer, with data on its way both ways.
 *   quit      (to tcp-echo) sends `!quit\n`, expects `!bye\n`, shuts down its side, and expects
 *             the FIN back.
 *   expect-refused  connect only; success is ECONNREFUSED (a RST answering the SYN).
 *
 * Prints `tcp_check_host: listening on ADDRESS:PORT` when a listener is ready, then
 * `tcp_check_host: OK BYTES bytes in SECONDS s (MBIT Mbit/s)` or `tcp_check_host: FAILED at
 * byte N: why`, and `tcp_check_host: retransmits N` (the kernel's, summed over connections).
 * Exits 0 on OK, 1 on FAILED, 2 on bad usage or a socket error before any connection.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../../tests/guests/tcp-check/tcp_check_pattern.h"

#define CHUNK_BYTES (256 * 1024)
#define MAX_CONCURRENT 4096

enum action { SEND, RECEIVE, ECHO, QUIT };

struct connection {
	int fd; /* -1: free slot */
	unsigned long index;
	bool connecting;
	bool write_shut;
	bool eof; /* the peer's FIN came */
	uint64_t sent, received;
};

static bool listening, half_close, abort_at_end, expect_refused;
static uint64_t abort_at = UINT64_MAX;
static enum action action;
static struct sockaddr_in peer, local = { .sin_family = AF_INET };
static uint64_t bytes;
static unsigned long cycles = 1, concurrent = 1, total, started, completed;
static uint64_t timeout_ns;
static struct connection *connections;
static struct pollfd *pollfds;
static struct connection **owners; /* of each pollfds entry; NULL for the listener */
static int listener = -1;
static uint8_t send_buffer[CHUNK_BYTES], receive_buffer[CHUNK_BYTES];
static uint64_t start_ns, retransmits;

static uint64_t now_ns(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static void close_connection(struct connection *connection, bool reset)
{
	struct tcp_info info;
	socklen_t length = sizeof info;
	if (getsockopt(connection->fd, IPPROTO_TCP, TCP_INFO, &info, &length) == 0)
		retransmits += info.tcpi_total_retrans;
	if (reset) {
		struct linger linger = { .l_onoff = 1, .l_linger = 0 };
		setsockopt(connection->fd, SOL_SOCKET, SO_LINGER, &linger, sizeof linger);
	}
	close(connection->fd);
	connection->fd = -1;
}

static void print_retransmits(void)
{
	printf("tcp_check_host: retransmits %llu\n", (unsigned long long)retransmits);
}

__attribute__((noreturn, format(printf, 3, 4))) static void
fail(const struct connection *connection, uint64_t at, const char *format, ...)
{
	va_list arguments;
	printf("tcp_check_host: FAILED at byte %llu: ", (unsigned long long)at);
	va_start(arguments, format);
	vprintf(format, arguments);
	va_end(arguments);
	if (connection)
		printf(" (connection %lu of %lu)", connection->index + 1, total);
	printf("\n");
	for (unsigned long slot = 0; slot < concurrent; slot++)
		if (connections[slot].fd >= 0)
			close_connection(&connections[slot], true);
	print_retransmits();
	exit(1);
}

static void finish_connection(struct connection *connection, bool reset)
{
	close_connection(connection, reset);
	completed++;
}

static void shut_write(struct connection *connection)
{
	if (connection->write_shut)
		return;
	if (shutdown(connection->fd, SHUT_WR) < 0)
		fail(connection, connection->sent, "shutdown: %s", strerror(errno));
	connection->write_shut = true;
}

static void begin(struct connection *connection, int fd, bool connecting)
{
	connection->fd = fd;
	connection->index = started++;
	connection->connecting = connecting;
	connection->write_shut = false;
	connection->eof = false;
	connection->sent = 0;
	connection->received = 0;
	if (start_ns == 0)
		start_ns = now_ns();
	if (!connecting && half_close)
		shut_write(connection);
}

static void start_connection(struct connection *connection)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fail(NULL, 0, "socket: %s", strerror(errno));
	if (local.sin_addr.s_addr != 0 && bind(fd, (struct sockaddr *)&local, sizeof local) < 0)
		fail(NULL, 0, "bind: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&peer, sizeof peer) < 0 && errno != EINPROGRESS) {
		int error = errno;
		close(fd);
		if (expect_refused && error == ECONNREFUSED) {
			printf("tcp_check_host: connection refused, as expected\n");
			exit(0);
		}
		fail(NULL, 0, "connect: %s", strerror(error));
	}
	begin(connection, fd, true);
}

/* The connection's events, as poll() reported them. Returns when it can do no more now. */
static void service(struct connection *connection, short revents)
{
	if (connection->connecting) {
		if (!(revents & (POLLOUT | POLLERR | POLLHUP)))
			return;
		int error = 0;
		socklen_t length = sizeof error;
		getsockopt(connection->fd, SOL_SOCKET, SO_ERROR, &error, &length);
		if (error) {
			if (expect_refused && error == ECONNREFUSED) {
				printf("tcp_check_host: connection refused, as expected\n");
				exit(0);
			}
			fail(connection, 0, "connect: %s", strerror(error));
		}
		if (expect_refused)
			fail(connection, 0, "the connection was accepted, not refused");
		connection->connecting = false;
		if (half_close)
			shut_write(connection);
	}

	/* Write. */
	while (action != RECEIVE && connection->sent < bytes && (revents & POLLOUT)) {
		uint64_t left = bytes - connection->sent;
		size_t length = left < CHUNK_BYTES ? (size_t)left : CHUNK_BYTES;
		tcp_check_fill(send_buffer, connection->sent, length);
		ssize_t written = send(connection->fd, send_buffer, length, MSG_NOSIGNAL);
		if (written < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			fail(connection, connection->sent, "send: %s", strerror(errno));
		}
		connection->sent += (uint64_t)written;
	}
	if (connection->sent >= abort_at) {
		finish_connection(connection, true);
		return;
	}
	if (action != RECEIVE && connection->sent == bytes && !connection->write_shut) {
		if (abort_at_end && action == SEND) {
			finish_connection(connection, true);
			return;
		}
		if (!abort_at_end) /* echo with abort: no FIN, the reset follows the echo */
			shut_write(connection);
	}

	/* Read. */
	while (!connection->eof) {
		ssize_t length = recv(connection->fd, receive_buffer, sizeof receive_buffer, 0);
		if (length < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			fail(connection, connection->received, "recv: %s", strerror(errno));
		}
		if (length == 0) {
			connection->eof = true;
			if (action != SEND && connection->received < bytes)
				fail(connection, connection->received, "the stream ended early");
			if (action == ECHO && connection->sent < bytes)
				fail(connection, connection->sent,
				     "the peer closed before all was sent");
			break;
		}
		if (action == SEND)
			fail(connection, 0, "the peer sent data to the sender");
		uint64_t room = bytes - connection->received;
		size_t expected = (uint64_t)length < room ? (size_t)length : (size_t)room;
		size_t good = tcp_check_verify(receive_buffer, connection->received, expected);
		if (good < expected)
			fail(connection, connection->received + good, "wrong byte");
		if ((uint64_t)length > room)
			fail(connection, bytes, "more bytes than were sent");
		connection->received += (uint64_t)length;
		if (action == ECHO && connection->received == bytes && abort_at_end) {
			finish_connection(connection, true);
			return;
		}
		if (action == RECEIVE && connection->received == bytes) {
			if (abort_at_end) {
				finish_connection(connection, true);
				return;
			}
			shut_write(connection);
		}
	}
	/* The end: the peer's FIN came, and (a sender whose peer half-closed early) all is sent. */
	if (connection->eof && (action == RECEIVE || connection->sent == bytes))
		finish_connection(connection, false);
}

static bool parse_number(const char *text, unsigned long long maximum, unsigned long long *value)
{
	char *end;
	if (text[0] < '0' || text[0] > '9')
		return false;
	errno = 0;
	*value = strtoull(text, &end, 10);
	return errno == 0 && *end == '\0' && *value <= maximum;
}

static bool parse_arguments(int argc, char **argv)
{
	unsigned long long value;
	int next;
	peer.sin_family = AF_INET;
	if (argc >= 3 && strcmp(argv[1], "listen") == 0) {
		listening = true;
		next = 2;
	} else if (argc >= 4 && strcmp(argv[1], "connect") == 0) {
		if (inet_pton(AF_INET, argv[2], &peer.sin_addr) != 1)
			return false;
		next = 3;
	} else {
		return false;
	}
	if (!parse_number(argv[next++], 65535, &value) || value == 0)
		return false;
	peer.sin_port = htons((uint16_t)value);
	local.sin_port = listening ? peer.sin_port : 0;
	if (next < argc && strcmp(argv[next], "quit") == 0 && !listening) {
		action = QUIT;
		next--; /* no BYTES: the options start right after */
	} else {
		if (next + 1 >= argc)
			return false;
		if (strcmp(argv[next], "send") == 0)
			action = SEND;
		else if (strcmp(argv[next], "receive") == 0)
			action = RECEIVE;
		else if (strcmp(argv[next], "echo") == 0 && !listening)
			action = ECHO;
		else
			return false;
		if (!parse_number(argv[next + 1], 1ull << 50, &value))
			return false;
		bytes = value;
	}
	for (next += 2; next < argc; next++) {
		const char *name = argv[next];
		if (strcmp(name, "half-close") == 0) {
			half_close = true;
			continue;
		}
		if (strcmp(name, "abort") == 0) {
			abort_at_end = true;
			continue;
		}
		if (strcmp(name, "expect-refused") == 0 && !listening) {
			expect_refused = true;
			continue;
		}
		if (next + 1 >= argc)
			return false;
		const char *argument = argv[++next];
		if (strcmp(name, "bind") == 0) {
			if (inet_pton(AF_INET, argument, &local.sin_addr) != 1)
				return false;
			continue;
		}
		if (!parse_number(argument, 1ull << 50, &value))
			return false;
		if (strcmp(name, "cycles") == 0 && value >= 1)
			cycles = (unsigned long)value;
		else if (strcmp(name, "concurrent") == 0 && value >= 1 && value <= MAX_CONCURRENT)
			concurrent = (unsigned long)value;
		else if (strcmp(name, "abort-at") == 0 && !listening)
			abort_at = value;
		else if (strcmp(name, "timeout") == 0)
			timeout_ns = value * 1000000000ull;
		else
			return false;
	}
	return true;
}

static int open_listener(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, (struct sockaddr *)&local, sizeof local) < 0 ||
	    listen(fd, (int)(concurrent * 2 + 128)) < 0) {
		fprintf(stderr, "tcp_check_host: cannot listen on port %u: %s\n",
			ntohs(local.sin_port), strerror(errno));
		exit(2);
	}
	char text[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &local.sin_addr, text, sizeof text);
	printf("tcp_check_host: listening on %s:%u\n", text, ntohs(local.sin_port));
	fflush(stdout);
	return fd;
}

/* Asks tcp-echo to exit: `!quit\n`, then `!bye\n` and the end of the stream must come back. */
static int quit(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval limit = { .tv_sec = timeout_ns ? (time_t)(timeout_ns / 1000000000) : 10 };
	char answer[64];
	size_t length = 0;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit) < 0 ||
	    connect(fd, (struct sockaddr *)&peer, sizeof peer) < 0 ||
	    send(fd, "!quit\n", 6, MSG_NOSIGNAL) != 6) {
		printf("tcp_check_host: FAILED at byte 0: quit: %s\n", strerror(errno));
		return 1;
	}
	/* The answer, then our FIN (tcp-echo closes after it, so the guest keeps no TIME_WAIT),
	 * then its FIN. */
	bool shut = false;
	for (;;) {
		ssize_t got = recv(fd, answer + length, sizeof answer - 1 - length, 0);
		if (got < 0) {
			printf("tcp_check_host: FAILED at byte %zu: quit: %s\n", length,
			       strerror(errno));
			return 1;
		}
		if (got == 0 || (length += (size_t)got) == sizeof answer - 1)
			break;
		if (!shut && length >= 5) {
			shutdown(fd, SHUT_WR);
			shut = true;
		}
	}
	close(fd);
	answer[length] = '\0';
	if (strcmp(answer, "!bye\n") != 0) {
		printf("tcp_check_host: FAILED at byte 0: quit: the answer was '%s'\n", answer);
		return 1;
	}
	printf("tcp_check_host: OK quit answered !bye\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (!parse_arguments(argc, argv)) {
		fprintf(stderr,
			"usage: tcp_check_host listen PORT | connect ADDRESS PORT\n"
			"                      send BYTES | receive BYTES | echo BYTES | quit\n"
			"                      [cycles N] [concurrent N] [timeout SECONDS]\n"
			"                      [bind ADDRESS] [half-close] [abort] [abort-at "
			"BYTES]\n"
			"                      [expect-refused]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (action == QUIT)
		return quit();
	total = cycles * concurrent;
	connections = calloc(concurrent, sizeof *connections);
	pollfds = calloc(concurrent + 1, sizeof *pollfds);
	owners = calloc(concurrent + 1, sizeof *owners);
	if (!connections || !pollfds || !owners) {
		fprintf(stderr, "tcp_check_host: out of memory\n");
		return 2;
	}
	for (unsigned long slot = 0; slot < concurrent; slot++)
		connections[slot].fd = -1;
	if (listening)
		listener = open_listener();
	uint64_t deadline = timeout_ns ? now_ns() + timeout_ns : UINT64_MAX;

	while (completed < total) {
		/* Fill free slots: connect, or accept what is waiting. */
		for (unsigned long slot = 0; slot < concurrent && started < total; slot++) {
			if (connections[slot].fd >= 0)
				continue;
			if (!listening) {
				start_connection(&connections[slot]);
				continue;
			}
			int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
			if (fd < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK ||
				    errno == ECONNABORTED)
					break;
				fail(NULL, 0, "accept: %s", strerror(errno));
			}
			begin(&connections[slot], fd, false);
		}
		nfds_t count = 0;
		for (unsigned long slot = 0; slot < concurrent; slot++) {
			struct connection *connection = &connections[slot];
			if (connection->fd < 0)
				continue;
			short events = connection->eof ? 0 : POLLIN;
			if (connection->connecting ||
			    (action != RECEIVE && connection->sent < bytes))
				events |= POLLOUT;
			pollfds[count] = (struct pollfd){ .fd = connection->fd, .events = events };
			owners[count++] = connection;
		}
		if (listening && started < total) {
			pollfds[count] = (struct pollfd){ .fd = listener, .events = POLLIN };
			owners[count++] = NULL;
		}
		uint64_t now = now_ns();
		if (now >= deadline) {
			for (unsigned long slot = 0; slot < concurrent; slot++)
				if (connections[slot].fd >= 0)
					fail(&connections[slot], connections[slot].received,
					     "timed out (sent %llu)",
					     (unsigned long long)connections[slot].sent);
			fail(NULL, 0, "timed out waiting for a connection (%lu of %lu done)",
			     completed, total);
		}
		uint64_t wait_ms = deadline == UINT64_MAX ? 1000 : (deadline - now) / 1000000 + 1;
		int ready = poll(pollfds, count, (int)(wait_ms > 1000 ? 1000 : wait_ms));
		if (ready < 0) {
			if (errno == EINTR)
				continue;
			fail(NULL, 0, "poll: %s", strerror(errno));
		}
		for (nfds_t i = 0; i < count; i++)
			if (owners[i] && pollfds[i].revents && owners[i]->fd == pollfds[i].fd)
				service(owners[i], pollfds[i].revents);
	}
	uint64_t elapsed = now_ns() - start_ns;
	if (elapsed == 0)
		elapsed = 1;
	double seconds = (double)elapsed / 1e9;
	printf("tcp_check_host: OK %llu bytes in %.3f s (%.1f Mbit/s)\n",
	       (unsigned long long)(bytes * total), seconds,
	       (double)(bytes * total) * 8 / seconds / 1e6);
	print_retransmits();
	if (listener >= 0)
		close(listener);
	free(owners);
	free(pollfds);
	free(connections);
	return 0;
}
