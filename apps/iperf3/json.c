/*
 * A small JSON writer and reader, enough for iperf3's parameter and result objects.
 *
 * The writer appends to a growing buffer and puts the commas in itself. The reader parses a
 * whole text into an array of values (objects and arrays link their members through
 * first_child/next_sibling indices) without copying strings: keys and strings point into the
 * text, with their escapes kept (our keys never have any). Numbers keep both a double and, when
 * written as an integer, the exact magnitude: iperf3 writes -1 for "unknown" through an unsigned
 * conversion, as 18446744073709551615, which json_int() turns back into -1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iperf3.h"

#define JSON_MAX_DEPTH 16

/* ---- writer ------------------------------------------------------------------------------- */

void json_writer_init(struct json_writer *writer)
{
	memset(writer, 0, sizeof *writer);
}

static void append(struct json_writer *writer, const char *text, size_t length)
{
	if (writer->failed)
		return;
	if (writer->length + length + 1 > writer->capacity) {
		size_t capacity = writer->capacity ? writer->capacity : 256;
		while (writer->length + length + 1 > capacity)
			capacity *= 2;
		char *grown = realloc(writer->text, capacity);
		if (!grown) {
			writer->failed = true;
			return;
		}
		writer->text = grown;
		writer->capacity = capacity;
	}
	memcpy(writer->text + writer->length, text, length);
	writer->length += length;
	writer->text[writer->length] = '\0';
}

static void append_string(struct json_writer *writer, const char *value)
{
	append(writer, "\"", 1);
	for (const char *c = value; *c; c++) {
		char escaped[8];
		if (*c == '"' || *c == '\\') {
			escaped[0] = '\\';
			escaped[1] = *c;
			append(writer, escaped, 2);
		} else if ((unsigned char)*c < 0x20) {
			snprintf(escaped, sizeof escaped, "\\u%04x", (unsigned)(unsigned char)*c);
			append(writer, escaped, 6);
		} else {
			append(writer, c, 1);
		}
	}
	append(writer, "\"", 1);
}

/* The comma before a member and its key, if it has one. */
static void begin_member(struct json_writer *writer, const char *key)
{
	if (writer->need_comma)
		append(writer, ",", 1);
	writer->need_comma = true;
	if (key) {
		append_string(writer, key);
		append(writer, ":", 1);
	}
}

void json_begin_object(struct json_writer *writer, const char *key)
{
	begin_member(writer, key);
	append(writer, "{", 1);
	writer->need_comma = false;
}

void json_end_object(struct json_writer *writer)
{
	append(writer, "}", 1);
	writer->need_comma = true;
}

void json_begin_array(struct json_writer *writer, const char *key)
{
	begin_member(writer, key);
	append(writer, "[", 1);
	writer->need_comma = false;
}

void json_end_array(struct json_writer *writer)
{
	append(writer, "]", 1);
	writer->need_comma = true;
}

void json_write_int(struct json_writer *writer, const char *key, int64_t value)
{
	char number[32];
	int length = snprintf(number, sizeof number, "%lld", (long long)value);
	begin_member(writer, key);
	append(writer, number, (size_t)length);
}

void json_write_uint(struct json_writer *writer, const char *key, uint64_t value)
{
	char number[32];
	int length = snprintf(number, sizeof number, "%llu", (unsigned long long)value);
	begin_member(writer, key);
	append(writer, number, (size_t)length);
}

void json_write_double(struct json_writer *writer, const char *key, double value)
{
	char number[64];
	/* JSON has no NaN or infinity; nothing we send comes near 1e15. */
	if (!(value > -1e15 && value < 1e15))
		value = 0;
	int length = snprintf(number, sizeof number, "%.9f", value);
	begin_member(writer, key);
	append(writer, number, (size_t)length);
}

void json_write_bool(struct json_writer *writer, const char *key, bool value)
{
	begin_member(writer, key);
	append(writer, value ? "true" : "false", value ? 4 : 5);
}

void json_write_string(struct json_writer *writer, const char *key, const char *value)
{
	begin_member(writer, key);
	append_string(writer, value);
}

char *json_writer_finish(struct json_writer *writer, size_t *length)
{
	if (writer->failed || !writer->text) {
		free(writer->text);
		writer->text = NULL;
		return NULL;
	}
	*length = writer->length;
	char *text = writer->text;
	writer->text = NULL;
	return text;
}

/* ---- reader ------------------------------------------------------------------------------- */

struct parser {
	const char *text;
	const char *position;
	struct json_document *document;
	char *error;
	size_t error_size;
	bool failed;
};

static void fail(struct parser *parser, const char *message)
{
	if (!parser->failed)
		snprintf(parser->error, parser->error_size, "%s at offset %zu", message,
			 (size_t)(parser->position - parser->text));
	parser->failed = true;
}

static void skip_space(struct parser *parser)
{
	while (*parser->position == ' ' || *parser->position == '\t' || *parser->position == '\n' ||
	       *parser->position == '\r')
		parser->position++;
}

static int new_value(struct parser *parser, enum json_type type)
{
	struct json_document *document = parser->document;
	if (document->count == document->capacity) {
		int capacity = document->capacity ? document->capacity * 2 : 64;
		if (capacity > 1 << 20) {
			fail(parser, "too many values");
			return -1;
		}
		struct json_value *grown =
			realloc(document->values, (size_t)capacity * sizeof *grown);
		if (!grown) {
			fail(parser, "out of memory");
			return -1;
		}
		document->values = grown;
		document->capacity = capacity;
	}
	int index = document->count++;
	struct json_value *value = &document->values[index];
	memset(value, 0, sizeof *value);
	value->type = type;
	value->first_child = -1;
	value->next_sibling = -1;
	return index;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* At the opening quote; leaves the position after the closing one. */
static bool parse_string(struct parser *parser, const char **start, size_t *length)
{
	const char *p = parser->position + 1;
	*start = p;
	for (;;) {
		unsigned char c = (unsigned char)*p;
		if (c == '"')
			break;
		if (c == '\0' || c < 0x20) {
			parser->position = p;
			fail(parser, "bad or unterminated string");
			return false;
		}
		if (c == '\\') {
			p++;
			if (*p == 'u') {
				for (int digit = 1; digit <= 4; digit++) {
					if (!is_hex(p[digit])) {
						parser->position = p;
						fail(parser, "bad \\u escape");
						return false;
					}
				}
				p += 4;
			} else if (!strchr("\"\\/bfnrt", *p) || *p == '\0') {
				parser->position = p;
				fail(parser, "bad escape");
				return false;
			}
		}
		p++;
	}
	*length = (size_t)(p - *start);
	parser->position = p + 1;
	return true;
}

static double power_of_ten(int exponent)
{
	double result = 1, base = 10;
	unsigned magnitude = (unsigned)(exponent < 0 ? -exponent : exponent);
	while (magnitude) {
		if (magnitude & 1)
			result *= base;
		base *= base;
		magnitude >>= 1;
	}
	return exponent < 0 ? 1 / result : result;
}

static bool parse_number(struct parser *parser, struct json_value *value)
{
	const char *p = parser->position;
	value->negative = *p == '-';
	if (value->negative)
		p++;
	if (*p < '0' || *p > '9') {
		fail(parser, "bad number");
		return false;
	}
	uint64_t magnitude = 0;
	double mantissa = 0;
	bool saturated = false;
	while (*p >= '0' && *p <= '9') {
		unsigned digit = (unsigned)(*p - '0');
		if (magnitude > (UINT64_MAX - digit) / 10)
			saturated = true;
		else
			magnitude = magnitude * 10 + digit;
		mantissa = mantissa * 10 + digit;
		p++;
	}
	int exponent = 0;
	value->integral = true;
	if (*p == '.') {
		value->integral = false;
		p++;
		if (*p < '0' || *p > '9') {
			parser->position = p;
			fail(parser, "bad fraction");
			return false;
		}
		while (*p >= '0' && *p <= '9') {
			if (mantissa < 1e18) {
				mantissa = mantissa * 10 + (*p - '0');
				exponent--;
			}
			p++;
		}
	}
	if (*p == 'e' || *p == 'E') {
		value->integral = false;
		p++;
		bool negative_exponent = *p == '-';
		if (*p == '+' || *p == '-')
			p++;
		if (*p < '0' || *p > '9') {
			parser->position = p;
			fail(parser, "bad exponent");
			return false;
		}
		int written = 0;
		while (*p >= '0' && *p <= '9') {
			if (written < 10000)
				written = written * 10 + (*p - '0');
			p++;
		}
		exponent += negative_exponent ? -written : written;
	}
	if (exponent > 400)
		exponent = 400;
	if (exponent < -400)
		exponent = -400;
	value->number = mantissa * power_of_ten(exponent);
	if (value->negative)
		value->number = -value->number;
	value->magnitude = saturated ? UINT64_MAX : magnitude;
	parser->position = p;
	return true;
}

static bool literal(struct parser *parser, const char *word)
{
	size_t length = strlen(word);
	if (strncmp(parser->position, word, length) != 0) {
		fail(parser, "unexpected character");
		return false;
	}
	parser->position += length;
	return true;
}

static int parse_value(struct parser *parser, int depth);

/* Parse members until `close`; objects have keys. Links them under `parent`. */
static bool parse_members(struct parser *parser, int parent, bool object, int depth)
{
	char close = object ? '}' : ']';
	int previous = -1;
	parser->position++;
	skip_space(parser);
	if (*parser->position == close) {
		parser->position++;
		return true;
	}
	for (;;) {
		const char *key = NULL;
		size_t key_length = 0;
		skip_space(parser);
		if (object) {
			if (*parser->position != '"') {
				fail(parser, "expected a key");
				return false;
			}
			if (!parse_string(parser, &key, &key_length))
				return false;
			skip_space(parser);
			if (*parser->position != ':') {
				fail(parser, "expected ':'");
				return false;
			}
			parser->position++;
		}
		int child = parse_value(parser, depth + 1);
		if (child < 0)
			return false;
		struct json_value *values = parser->document->values;
		values[child].key = key;
		values[child].key_length = key_length;
		if (previous < 0)
			values[parent].first_child = child;
		else
			values[previous].next_sibling = child;
		previous = child;
		skip_space(parser);
		if (*parser->position == ',') {
			parser->position++;
			continue;
		}
		if (*parser->position == close) {
			parser->position++;
			return true;
		}
		fail(parser, object ? "expected ',' or '}'" : "expected ',' or ']'");
		return false;
	}
}

static int parse_value(struct parser *parser, int depth)
{
	if (depth > JSON_MAX_DEPTH) {
		fail(parser, "nested too deeply");
		return -1;
	}
	skip_space(parser);
	char c = *parser->position;
	int index;
	switch (c) {
	case '{':
	case '[':
		index = new_value(parser, c == '{' ? JSON_OBJECT : JSON_ARRAY);
		if (index < 0 || !parse_members(parser, index, c == '{', depth))
			return -1;
		return index;
	case '"': {
		index = new_value(parser, JSON_STRING);
		if (index < 0)
			return -1;
		const char *start;
		size_t length;
		if (!parse_string(parser, &start, &length))
			return -1;
		parser->document->values[index].string = start;
		parser->document->values[index].string_length = length;
		return index;
	}
	case 't':
		index = new_value(parser, JSON_TRUE);
		return index >= 0 && literal(parser, "true") ? index : -1;
	case 'f':
		index = new_value(parser, JSON_FALSE);
		return index >= 0 && literal(parser, "false") ? index : -1;
	case 'n':
		index = new_value(parser, JSON_NULL);
		return index >= 0 && literal(parser, "null") ? index : -1;
	default:
		if (c == '-' || (c >= '0' && c <= '9')) {
			index = new_value(parser, JSON_NUMBER);
			if (index < 0 || !parse_number(parser, &parser->document->values[index]))
				return -1;
			return index;
		}
		fail(parser, c ? "unexpected character" : "unexpected end");
		return -1;
	}
}

bool json_parse(struct json_document *document, const char *text, char *error, size_t error_size)
{
	memset(document, 0, sizeof *document);
	struct parser parser = {
		.text = text,
		.position = text,
		.document = document,
		.error = error,
		.error_size = error_size,
	};
	int root = parse_value(&parser, 0);
	if (root == 0) {
		skip_space(&parser);
		if (*parser.position != '\0')
			fail(&parser, "text after the value");
	}
	if (root != 0 || parser.failed) {
		json_document_free(document);
		return false;
	}
	return true;
}

void json_document_free(struct json_document *document)
{
	free(document->values);
	memset(document, 0, sizeof *document);
}

const struct json_value *json_root(const struct json_document *document)
{
	return document->count > 0 ? &document->values[0] : NULL;
}

const struct json_value *json_first(const struct json_document *document,
				    const struct json_value *container)
{
	if (!container || (container->type != JSON_OBJECT && container->type != JSON_ARRAY) ||
	    container->first_child < 0)
		return NULL;
	return &document->values[container->first_child];
}

const struct json_value *json_next(const struct json_document *document,
				   const struct json_value *value)
{
	return value->next_sibling < 0 ? NULL : &document->values[value->next_sibling];
}

const struct json_value *json_member(const struct json_document *document,
				     const struct json_value *object, const char *key)
{
	if (!object || object->type != JSON_OBJECT)
		return NULL;
	size_t length = strlen(key);
	for (const struct json_value *member = json_first(document, object); member;
	     member = json_next(document, member))
		if (member->key_length == length && memcmp(member->key, key, length) == 0)
			return member;
	return NULL;
}

int64_t json_int(const struct json_value *value, int64_t fallback)
{
	if (!value)
		return fallback;
	if (value->type == JSON_TRUE)
		return 1;
	if (value->type == JSON_FALSE)
		return 0;
	if (value->type != JSON_NUMBER)
		return fallback;
	if (value->integral && value->magnitude != UINT64_MAX) {
		/* Two's complement on purpose: 18446744073709551615 is iperf3's -1. */
		uint64_t bits = value->negative ? 0 - value->magnitude : value->magnitude;
		return (int64_t)bits;
	}
	if (value->integral)
		return value->negative ? INT64_MIN : -1;
	/* cJSON re-encodes that -1 as 1.8446744073709552e+19. */
	if (value->number >= 9.2e18)
		return -1;
	if (value->number <= -9.2e18)
		return INT64_MIN;
	return (int64_t)value->number;
}

double json_double(const struct json_value *value, double fallback)
{
	if (!value || value->type != JSON_NUMBER)
		return fallback;
	return value->number;
}

bool json_bool(const struct json_value *value, bool fallback)
{
	if (!value)
		return fallback;
	if (value->type == JSON_TRUE)
		return true;
	if (value->type == JSON_FALSE || value->type == JSON_NULL)
		return false;
	if (value->type == JSON_NUMBER)
		return value->number != 0;
	return fallback;
}
