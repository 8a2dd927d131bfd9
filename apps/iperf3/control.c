/*
 * The control connection: single signed state bytes and JSON texts behind a 4-byte big-endian
 * length, buffered both ways so that nothing waits; the cookie; and the parameter and result
 * objects as iperf3 3.12 writes and reads them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ringvisor/kernel.h>

#include "iperf3.h"

#define CONTROL_READ_CHUNK 4096

void control_init(struct control *control, struct net_tcp_socket *socket)
{
	memset(control, 0, sizeof *control);
	control->socket = socket;
}

void control_free(struct control *control)
{
	if (control->socket)
		net_tcp_close(control->socket);
	free(control->input);
	free(control->output);
	memset(control, 0, sizeof *control);
}

static bool reserve(uint8_t **buffer, size_t *capacity, size_t needed)
{
	if (needed <= *capacity)
		return true;
	size_t grown_capacity = *capacity ? *capacity : 1024;
	while (grown_capacity < needed)
		grown_capacity *= 2;
	uint8_t *grown = realloc(*buffer, grown_capacity);
	if (!grown)
		return false;
	*buffer = grown;
	*capacity = grown_capacity;
	return true;
}

static bool flush_output(struct control *control)
{
	bool moved = false;
	while (control->output_length > 0 && !control->error) {
		int sent = net_tcp_send(control->socket, control->output, control->output_length);
		if (sent == NET_ERROR_WOULD_BLOCK)
			break;
		if (sent < 0) {
			control->error = sent;
			break;
		}
		memmove(control->output, control->output + sent,
			control->output_length - (size_t)sent);
		control->output_length -= (size_t)sent;
		moved = true;
	}
	return moved;
}

bool control_service(struct control *control)
{
	if (!control->socket)
		return false;
	bool moved = flush_output(control);
	while (!control->closed && !control->error) {
		if (!reserve(&control->input, &control->input_capacity,
			     control->input_length + CONTROL_READ_CHUNK)) {
			control->error = NET_ERROR_NO_MEMORY;
			break;
		}
		int received =
			net_tcp_receive(control->socket, control->input + control->input_length,
					CONTROL_READ_CHUNK);
		if (received == NET_ERROR_WOULD_BLOCK)
			break;
		moved = true;
		if (received == 0)
			control->closed = true;
		else if (received < 0)
			control->error = received;
		else
			control->input_length += (size_t)received;
	}
	return moved;
}

bool control_queue(struct control *control, const void *data, size_t length)
{
	if (!reserve(&control->output, &control->output_capacity, control->output_length + length))
		return false;
	memcpy(control->output + control->output_length, data, length);
	control->output_length += length;
	flush_output(control);
	return true;
}

bool control_send_state(struct control *control, int8_t state)
{
	return control_queue(control, &state, 1);
}

bool control_send_json(struct control *control, const char *text, size_t length)
{
	uint8_t prefix[4] = { (uint8_t)(length >> 24), (uint8_t)(length >> 16),
			      (uint8_t)(length >> 8), (uint8_t)length };
	return control_queue(control, prefix, sizeof prefix) &&
	       control_queue(control, text, length);
}

bool control_output_empty(const struct control *control)
{
	return control->output_length == 0;
}

static void consume(struct control *control, size_t length)
{
	memmove(control->input, control->input + length, control->input_length - length);
	control->input_length -= length;
}

int control_take(struct control *control, void *data, size_t length)
{
	if (control->input_length < length)
		return 0;
	memcpy(data, control->input, length);
	consume(control, length);
	return 1;
}

int control_take_json(struct control *control, char **text)
{
	if (control->input_length < 4)
		return 0;
	const uint8_t *p = control->input;
	uint32_t length = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	if (length == 0 || length > IPERF_MAX_JSON)
		return -1;
	if (control->input_length < 4 + (size_t)length)
		return 0;
	char *copy = malloc((size_t)length + 1);
	if (!copy)
		return -1;
	memcpy(copy, p + 4, length);
	copy[length] = '\0';
	consume(control, 4 + (size_t)length);
	*text = copy;
	return 1;
}

/* ---- cookies and names -------------------------------------------------------------------- */

void cookie_make(char cookie[IPERF_COOKIE_SIZE])
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	static uint64_t state;
	state ^= clock_read_tsc() * 0x9e3779b97f4a7c15ull;
	for (int index = 0; index < IPERF_COOKIE_SIZE - 1; index++) {
		/* xorshift64* */
		state ^= state >> 12;
		state ^= state << 25;
		state ^= state >> 27;
		uint64_t random = state * 0x2545f4914f6cdd1dull;
		cookie[index] = alphabet[random >> 59];
	}
	cookie[IPERF_COOKIE_SIZE - 1] = '\0';
}

const char *state_name(int state)
{
	switch (state) {
	case TEST_START:
		return "TEST_START";
	case TEST_RUNNING:
		return "TEST_RUNNING";
	case TEST_END:
		return "TEST_END";
	case PARAM_EXCHANGE:
		return "PARAM_EXCHANGE";
	case CREATE_STREAMS:
		return "CREATE_STREAMS";
	case SERVER_TERMINATE:
		return "SERVER_TERMINATE";
	case CLIENT_TERMINATE:
		return "CLIENT_TERMINATE";
	case EXCHANGE_RESULTS:
		return "EXCHANGE_RESULTS";
	case DISPLAY_RESULTS:
		return "DISPLAY_RESULTS";
	case IPERF_START:
		return "IPERF_START";
	case IPERF_DONE:
		return "IPERF_DONE";
	case ACCESS_DENIED:
		return "ACCESS_DENIED";
	case SERVER_ERROR:
		return "SERVER_ERROR";
	default:
		return "unknown state";
	}
}

/* ---- parameters --------------------------------------------------------------------------- */

char *parameters_write(const struct settings *settings, size_t *length)
{
	struct json_writer writer;
	json_writer_init(&writer);
	json_begin_object(&writer, NULL);
	json_write_bool(&writer, settings->udp ? "udp" : "tcp", true);
	json_write_uint(&writer, "omit", settings->omit);
	json_write_uint(&writer, "time", settings->time);
	json_write_uint(&writer, "num", settings->bytes);
	json_write_uint(&writer, "blockcount", settings->blocks);
	if (settings->nodelay)
		json_write_bool(&writer, "nodelay", true);
	json_write_uint(&writer, "parallel", settings->parallel);
	if (settings->reverse)
		json_write_bool(&writer, "reverse", true);
	if (settings->bidirectional)
		json_write_bool(&writer, "bidirectional", true);
	json_write_uint(&writer, "len", settings->length);
	if (settings->udp)
		json_write_uint(&writer, "bandwidth", settings->bandwidth);
	json_write_uint(&writer, "pacing_timer", 1000);
	if (settings->udp_counters_64bit)
		json_write_bool(&writer, "udp_counters_64bit", true);
	json_write_string(&writer, "client_version", "3.12");
	json_end_object(&writer);
	return json_writer_finish(&writer, length);
}

static bool read_unsigned(const struct json_document *document, const struct json_value *root,
			  const char *key, uint64_t maximum, uint64_t *out, char *error,
			  size_t error_size)
{
	const struct json_value *value = json_member(document, root, key);
	if (!value)
		return true;
	int64_t number = json_int(value, -1);
	if (value->type != JSON_NUMBER || number < 0 || (uint64_t)number > maximum) {
		snprintf(error, error_size, "parameter \"%s\" is not a number from 0 to %llu", key,
			 (unsigned long long)maximum);
		return false;
	}
	*out = (uint64_t)number;
	return true;
}

bool parameters_read(const char *text, struct settings *settings, char *error, size_t error_size,
		     int32_t *iperf_error)
{
	struct json_document document;
	*iperf_error = IPERF_ERROR_RECEIVE_PARAMETERS;
	if (!json_parse(&document, text, error, error_size))
		return false;
	const struct json_value *root = json_root(&document);
	bool ok = root->type == JSON_OBJECT;
	if (!ok)
		snprintf(error, error_size, "the parameters are not a JSON object");

	/* Defaults of a server: TCP, 128 KiB writes; the client's keys override them. */
	memset(settings, 0, sizeof *settings);
	settings->time = 10;
	settings->parallel = 1;
	settings->bandwidth = IPERF_DEFAULT_UDP_RATE;
	uint64_t time = settings->time, omit = 0, parallel = 1, length = 0;
	settings->udp = json_bool(json_member(&document, root, "udp"), false);
	settings->reverse = json_bool(json_member(&document, root, "reverse"), false);
	settings->bidirectional = json_bool(json_member(&document, root, "bidirectional"), false);
	settings->nodelay = json_bool(json_member(&document, root, "nodelay"), false);
	settings->udp_counters_64bit =
		json_bool(json_member(&document, root, "udp_counters_64bit"), false);
	*iperf_error = IPERF_ERROR_RECEIVE_PARAMETERS;
	ok = ok && read_unsigned(&document, root, "time", 86400, &time, error, error_size);
	ok = ok && read_unsigned(&document, root, "omit", 86400, &omit, error, error_size);
	ok = ok && read_unsigned(&document, root, "num", UINT64_MAX >> 1, &settings->bytes, error,
				 error_size);
	ok = ok && read_unsigned(&document, root, "blockcount", UINT64_MAX >> 1, &settings->blocks,
				 error, error_size);
	ok = ok && read_unsigned(&document, root, "bandwidth", UINT64_MAX >> 1,
				 &settings->bandwidth, error, error_size);
	if (ok)
		*iperf_error = IPERF_ERROR_STREAMS;
	ok = ok && read_unsigned(&document, root, "parallel", IPERF_MAX_STREAMS, &parallel, error,
				 error_size);
	if (ok)
		*iperf_error = IPERF_ERROR_BLOCK_SIZE;
	ok = ok && read_unsigned(&document, root, "len",
				 settings->udp ? IPERF_MAX_UDP_LENGTH : IPERF_MAX_TCP_LENGTH,
				 &length, error, error_size);
	json_document_free(&document);
	if (!ok)
		return false;
	settings->time = (uint32_t)time;
	settings->omit = (uint32_t)omit;
	settings->parallel = parallel ? (uint32_t)parallel : 1;
	if (length == 0)
		length = settings->udp ? IPERF_DEFAULT_UDP_LENGTH : IPERF_DEFAULT_TCP_LENGTH;
	settings->length = (uint32_t)length;
	size_t header = settings->udp_counters_64bit ? 16 : 12;
	if (settings->udp && settings->length < header) {
		*iperf_error = IPERF_ERROR_BLOCK_SIZE;
		snprintf(error, error_size, "UDP length %u is below the %zu-byte header",
			 settings->length, header);
		return false;
	}
	if (settings->bidirectional && 2 * settings->parallel > IPERF_MAX_STREAMS) {
		*iperf_error = IPERF_ERROR_STREAMS;
		snprintf(error, error_size, "too many streams");
		return false;
	}
	return true;
}

/* ---- results ------------------------------------------------------------------------------ */

char *results_write(const struct test *test, size_t *length)
{
	struct json_writer writer;
	double elapsed = (double)(test->end_ns - test->start_ns) / 1e9;
	bool sends = false;
	for (unsigned index = 0; index < test->stream_count; index++)
		sends |= test->streams[index].sender;
	json_writer_init(&writer);
	json_begin_object(&writer, NULL);
	/* We cannot measure the guest's CPU use from inside it (yet). */
	json_write_double(&writer, "cpu_util_total", 0);
	json_write_double(&writer, "cpu_util_user", 0);
	json_write_double(&writer, "cpu_util_system", 0);
	json_write_int(&writer, "sender_has_retransmits",
		       !sends ? -1 : (test->settings.udp ? 0 : 1));
	json_begin_array(&writer, "streams");
	for (unsigned index = 0; index < test->stream_count; index++) {
		const struct stream *stream = &test->streams[index];
		int64_t retransmits =
			stream->sender && !test->settings.udp ? stream->retransmits : -1;
		json_begin_object(&writer, NULL);
		json_write_int(&writer, "id", stream->id);
		json_write_uint(&writer, "bytes", stream->bytes);
		json_write_int(&writer, "retransmits", retransmits);
		json_write_double(&writer, "jitter", stream->sender ? 0 : stream->jitter);
		json_write_int(&writer, "errors", stream->sender ? 0 : stream->errors);
		json_write_uint(&writer, "packets",
				stream->sender ? stream->packets_sent : stream->packet_count);
		json_write_double(&writer, "start_time", 0);
		json_write_double(&writer, "end_time", elapsed);
		json_end_object(&writer);
	}
	json_end_array(&writer);
	json_end_object(&writer);
	return json_writer_finish(&writer, length);
}

bool results_read(const char *text, struct test *test, char *error, size_t error_size)
{
	struct json_document document;
	if (!json_parse(&document, text, error, error_size))
		return false;
	const struct json_value *root = json_root(&document);
	const struct json_value *streams = json_member(&document, root, "streams");
	bool ok = true;
	if (root->type != JSON_OBJECT || !streams || streams->type != JSON_ARRAY) {
		snprintf(error, error_size, "the results have no \"streams\" array");
		ok = false;
	}
	if (ok) {
		test->peer_cpu_total =
			json_double(json_member(&document, root, "cpu_util_total"), 0);
		test->peer_cpu_user = json_double(json_member(&document, root, "cpu_util_user"), 0);
		test->peer_cpu_system =
			json_double(json_member(&document, root, "cpu_util_system"), 0);
		test->peer_sender_has_retransmits =
			json_int(json_member(&document, root, "sender_has_retransmits"), -1);
		for (const struct json_value *item = json_first(&document, streams); item;
		     item = json_next(&document, item)) {
			int64_t id = json_int(json_member(&document, item, "id"), -1);
			struct stream *stream = NULL;
			for (unsigned index = 0; index < test->stream_count; index++)
				if (test->streams[index].id == id)
					stream = &test->streams[index];
			if (!stream)
				continue; /* iperf3 ignores ids it does not know, too */
			struct peer_stream_result *result = &stream->peer_result;
			result->present = true;
			result->bytes =
				(uint64_t)json_int(json_member(&document, item, "bytes"), 0);
			result->retransmits =
				json_int(json_member(&document, item, "retransmits"), -1);
			result->jitter = json_double(json_member(&document, item, "jitter"), 0);
			result->errors = json_int(json_member(&document, item, "errors"), 0);
			result->packets = json_int(json_member(&document, item, "packets"), 0);
			result->end_time = json_double(json_member(&document, item, "end_time"), 0);
		}
	}
	json_document_free(&document);
	return ok;
}
