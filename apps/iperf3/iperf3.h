/*
 * iperf3: an iperf3-compatible server and client for the Ringvisor guest, speaking the wire
 * protocol of iperf3 3.12 (as esnet/iperf at tag 3.12 speaks it) over the guest's network stack.
 *
 *	iperf3 -s [-p PORT] [-1] [-i SECONDS]
 *	iperf3 -c ADDRESS [-p PORT] [-t SECONDS] [-R] [-P N] [-u [-b RATE]] [-l LEN] [-N] ...
 *	iperf3 --loopback [client options]   (a quiet server on 127.0.0.1 and a client, one loop)
 *
 * Files: main.c (options, start-up), control.c (the control connection: state bytes and
 * length-prefixed JSON, cookies, parameter and result objects), json.c (writer and reader),
 * tcp_stream.c and udp_stream.c (moving test data), results.c (interval and summary lines),
 * server.c and client.c (the two state machines). Everything runs from one event-loop poller
 * plus timers; no call ever blocks.
 */
#ifndef IPERF3_H
#define IPERF3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <net.h>
#include <ringvisor/event_loop.h>

/* ---- protocol constants (iperf3 3.12) ------------------------------------------------------ */

#define IPERF_DEFAULT_PORT 5201
#define IPERF_COOKIE_SIZE 37 /* 36 characters and a NUL */
#define IPERF_DEFAULT_TCP_LENGTH (128u * 1024)
#define IPERF_DEFAULT_UDP_LENGTH 1460 /* iperf3 uses the control connection's MSS */
#define IPERF_DEFAULT_UDP_RATE 1048576ull
#define IPERF_MAX_TCP_LENGTH (1024u * 1024)
#define IPERF_MAX_UDP_LENGTH 65507u
#define IPERF_MAX_STREAMS 128
#define IPERF_MAX_JSON (256u * 1024)
#define IPERF_LOOPBACK_ADDRESS 0x7f000001u    /* 127.0.0.1 */
#define IPERF_UDP_CONNECT_MESSAGE 0x36373839u /* sent in host (little-endian) byte order */
#define IPERF_UDP_CONNECT_REPLY 0x39383736u

/* iperf3's error numbers (i_errno) that a server sends after SERVER_ERROR. */
#define IPERF_ERROR_STREAMS 6		   /* "number of parallel streams too large" */
#define IPERF_ERROR_BLOCK_SIZE 7	   /* "block size too large" */
#define IPERF_ERROR_RECEIVE_PARAMETERS 114 /* "unable to receive parameters from client" */

enum iperf_state {
	TEST_START = 1,
	TEST_RUNNING = 2,
	TEST_END = 4,
	PARAM_EXCHANGE = 9,
	CREATE_STREAMS = 10,
	SERVER_TERMINATE = 11,
	CLIENT_TERMINATE = 12,
	EXCHANGE_RESULTS = 13,
	DISPLAY_RESULTS = 14,
	IPERF_START = 15,
	IPERF_DONE = 16,
	ACCESS_DENIED = -1,
	SERVER_ERROR = -2,
};

/* ---- options and test parameters ---------------------------------------------------------- */

struct settings {
	bool udp;
	bool reverse;
	bool bidirectional;
	bool nodelay;
	bool udp_counters_64bit;
	uint32_t time;	    /* seconds */
	uint32_t omit;	    /* accepted, ignored */
	uint32_t parallel;  /* streams per direction */
	uint32_t length;    /* bytes per write / datagram */
	uint64_t bytes;	    /* -n: stop after this many bytes (0: by time) */
	uint64_t blocks;    /* -k: stop after this many blocks (0: by time) */
	uint64_t bandwidth; /* UDP bits per second per stream (0: unlimited) */
};

struct options {
	bool server;
	bool one_off;
	uint32_t address; /* client: the server's IPv4 address */
	uint16_t port;
	uint32_t interval; /* seconds between interval lines; 0: none */
	bool length_given, bandwidth_given;
	bool counters; /* --counters: print the NICs' counters at exit */
	bool loopback; /* --loopback: client to a quiet server on 127.0.0.1, both in this guest */
	struct settings settings;
};

/* ---- a test and its streams --------------------------------------------------------------- */

/* What the other side said about a stream in its results. */
struct peer_stream_result {
	bool present;
	uint64_t bytes;
	int64_t retransmits;
	double jitter;
	int64_t errors;
	int64_t packets;
	double end_time;
};

struct stream {
	int id; /* 1, 3, 4, 5, ... as iperf3 numbers them */
	bool sender;
	struct net_tcp_socket *tcp;
	struct net_udp_socket *udp; /* the client's own socket, or the server's shared one */
	struct net_udp_endpoint peer;
	bool ready;    /* client: connected and cookie sent (TCP) or hello answered (UDP) */
	bool finished; /* the peer ended the data connection */
	uint64_t bytes, interval_bytes;
	size_t block_offset;
	uint64_t retransmits_at_start;
	int64_t retransmits; /* TCP sender: at test_stop(); -1 otherwise */
	/* UDP sending */
	uint64_t packets_sent, interval_packets;
	/* UDP receiving, as iperf_udp_recv() counts */
	uint64_t packet_count; /* highest counter seen */
	uint64_t packets_received;
	int64_t errors; /* lost */
	uint64_t out_of_order;
	double jitter, previous_transit;
	bool have_transit;
	struct peer_stream_result peer_result;
};

struct test {
	struct settings settings;
	bool is_server;
	struct stream *streams;
	unsigned stream_count;
	unsigned expected_streams;
	uint64_t start_ns, end_ns;
	bool running; /* data is moving */
	bool sending; /* our sending streams may send */
	uint64_t bytes_sent_total, blocks_sent_total;
	uint8_t *pattern; /* `length` bytes of data to send, allocated once per test */
	uint8_t *scratch; /* where received data goes */
	size_t scratch_size;
	struct timer pace_timer;     /* wakes the loop when a UDP datagram is due */
	struct timer interval_timer; /* interval lines */
	uint32_t interval;
	uint64_t interval_start_ns;
	bool interval_due;
	/* from the peer's results */
	double peer_cpu_total, peer_cpu_user, peer_cpu_system;
	int64_t peer_sender_has_retransmits;
};

/* ---- control connection (control.c) ------------------------------------------------------- */

struct control {
	struct net_tcp_socket *socket;
	uint8_t *input;
	size_t input_length, input_capacity;
	uint8_t *output;
	size_t output_length, output_capacity;
	bool closed; /* the peer finished (end of stream) */
	int error;   /* a negative net_error, or 0 */
};

void control_init(struct control *control, struct net_tcp_socket *socket);
void control_free(struct control *control); /* closes the socket if any */
/* Reads what is there and sends what is queued; true if anything moved. */
bool control_service(struct control *control);
/* Queue bytes to send (sent by control_service or at once if there is room). */
bool control_queue(struct control *control, const void *data, size_t length);
bool control_send_state(struct control *control, int8_t state);
bool control_send_json(struct control *control, const char *text, size_t length);
/* Take exactly `length` buffered bytes: 1 taken, 0 not yet there. */
int control_take(struct control *control, void *data, size_t length);
/* Take one length-prefixed JSON text (NUL-terminated, caller frees): 1, 0 not yet, -1 too big. */
int control_take_json(struct control *control, char **text);
bool control_output_empty(const struct control *control);

void cookie_make(char cookie[IPERF_COOKIE_SIZE]);
const char *state_name(int state);

/* Parameter and result objects. */
char *parameters_write(const struct settings *settings, size_t *length);
/* On failure also the i_errno to send with SERVER_ERROR. */
bool parameters_read(const char *text, struct settings *settings, char *error, size_t error_size,
		     int32_t *iperf_error);
char *results_write(const struct test *test, size_t *length);
bool results_read(const char *text, struct test *test, char *error, size_t error_size);

/* ---- JSON (json.c) ------------------------------------------------------------------------ */

struct json_writer {
	char *text;
	size_t length, capacity;
	bool failed;
	bool need_comma;
};

void json_writer_init(struct json_writer *writer);
void json_begin_object(struct json_writer *writer, const char *key);
void json_end_object(struct json_writer *writer);
void json_begin_array(struct json_writer *writer, const char *key);
void json_end_array(struct json_writer *writer);
void json_write_int(struct json_writer *writer, const char *key, int64_t value);
void json_write_uint(struct json_writer *writer, const char *key, uint64_t value);
void json_write_double(struct json_writer *writer, const char *key, double value);
void json_write_bool(struct json_writer *writer, const char *key, bool value);
void json_write_string(struct json_writer *writer, const char *key, const char *value);
/* The text (caller frees), or NULL if memory ran out. */
char *json_writer_finish(struct json_writer *writer, size_t *length);

enum json_type {
	JSON_NULL,
	JSON_FALSE,
	JSON_TRUE,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT
};

struct json_value {
	enum json_type type;
	const char *key; /* raw (escapes kept), in the parsed text; NULL outside objects */
	size_t key_length;
	const char *string; /* raw contents of a string */
	size_t string_length;
	double number;
	bool integral; /* written without fraction or exponent */
	bool negative;
	uint64_t magnitude; /* integral: the absolute value, saturated */
	int first_child;    /* index, -1 if none */
	int next_sibling;   /* index, -1 if none */
};

struct json_document {
	struct json_value *values;
	int count, capacity;
};

/* Parse text (kept alive by the caller); false and a message on bad input. */
bool json_parse(struct json_document *document, const char *text, char *error, size_t error_size);
void json_document_free(struct json_document *document);
/* The root value (index 0). */
const struct json_value *json_root(const struct json_document *document);
const struct json_value *json_member(const struct json_document *document,
				     const struct json_value *object, const char *key);
const struct json_value *json_first(const struct json_document *document,
				    const struct json_value *container);
const struct json_value *json_next(const struct json_document *document,
				   const struct json_value *value);
/* Conversions; `fallback` when the value is missing or of another type. */
int64_t json_int(const struct json_value *value, int64_t fallback);
double json_double(const struct json_value *value, double fallback);
bool json_bool(const struct json_value *value, bool fallback);

/* ---- streams (tcp_stream.c, udp_stream.c) -------------------------------------------------- */

struct stream *test_add_stream(struct test *test, bool sender);
bool test_prepare(struct test *test, uint32_t interval); /* buffers, timers; false: no memory */
void test_start(struct test *test);			 /* TEST_RUNNING: the clock starts */
void test_stop(struct test *test);			 /* no more sending; end time */
void test_close_streams(struct test *test); /* data connections (server, at TEST_END) */
void test_free(struct test *test);	    /* closes every stream */
struct stream *test_find_udp_stream(struct test *test, const struct net_udp_endpoint *peer);
uint64_t test_elapsed_ns(const struct test *test);
/* Move data on every stream; true if anything moved. */
bool test_service(struct test *test);
/* True if -n/-k says the sender is done. */
bool test_send_limit_reached(const struct test *test);

bool tcp_stream_service(struct test *test, struct stream *stream);
/* Send what is due on a UDP sending stream; *next_due_ns is when the next datagram is due. */
bool udp_stream_send(struct test *test, struct stream *stream, uint64_t now_ns,
		     uint64_t *next_due_ns);
void udp_stream_receive(struct test *test, struct stream *stream, const uint8_t *datagram,
			size_t length, uint64_t now_ns);
/* Drain a UDP socket into the test's streams (by peer endpoint when `only` is NULL). */
bool udp_socket_drain(struct test *test, struct net_udp_socket *socket, struct stream *only);

/* ---- output (results.c) ------------------------------------------------------------------- */

void print_interval(struct test *test);
void print_summary(const struct test *test);
const char *format_bytes(char *buffer, size_t size, double bytes);
void print_address(const char *prefix, uint32_t address, uint16_t port);

/* ---- the two roles ------------------------------------------------------------------------ */

int server_run(const struct options *options);
/* The server's setup and poller without running the loop (for --loopback, where the client
 * runs it): -1 when listening, else an exit code. server_stop() removes the poller. */
int server_start(const struct options *options);
void server_stop(void);
int client_run(const struct options *options);

#endif
