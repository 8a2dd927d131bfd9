/*
 * json_writer.c - see json_writer.h. Names and strings are escaped as RFC 8259 asks (quote,
 * backslash, control characters); bytes above 0x7f pass through, as names here are ASCII.
 */
#include "observe/json_writer.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void json_init(struct json_writer *json)
{
	memset(json, 0, sizeof *json);
}

void json_release(struct json_writer *json)
{
	free(json->text);
	json_init(json);
}

void json_reset(struct json_writer *json)
{
	json->length = 0;
	json->depth = 0;
	json->failed = false;
	if (json->text)
		json->text[0] = '\0';
}

static void append(struct json_writer *json, const char *format, ...)
{
	if (json->failed)
		return;
	for (;;) {
		size_t room = json->capacity - json->length;
		va_list list;
		va_start(list, format);
		int written =
			json->text ? vsnprintf(json->text + json->length, room, format, list) : -1;
		va_end(list);
		if (json->text && written >= 0 && (size_t)written < room) {
			json->length += (size_t)written;
			return;
		}
		size_t capacity = json->capacity ? json->capacity * 2 : 4096;
		char *text = realloc(json->text, capacity);
		if (!text) {
			json->failed = true;
			return;
		}
		json->text = text;
		json->capacity = capacity;
	}
}

static void append_quoted(struct json_writer *json, const char *text)
{
	append(json, "\"");
	for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
		if (*c == '"' || *c == '\\')
			append(json, "\\%c", *c);
		else if (*c < 0x20)
			append(json, "\\u%04x", *c);
		else
			append(json, "%c", *c);
	}
	append(json, "\"");
}

static void member(struct json_writer *json, const char *name)
{
	if (!json->first[json->depth])
		append(json, ",");
	json->first[json->depth] = false;
	append_quoted(json, name);
	append(json, ":");
}

static void open_object(struct json_writer *json)
{
	if (json->depth == JSON_DEPTH_MAX) {
		json->failed = true;
		return;
	}
	append(json, "{");
	json->first[++json->depth] = true;
}

void json_begin(struct json_writer *json)
{
	json_reset(json);
	json->first[0] = true;
	open_object(json);
}

void json_object(struct json_writer *json, const char *name)
{
	member(json, name);
	open_object(json);
}

void json_end(struct json_writer *json)
{
	if (json->depth == 0) {
		json->failed = true;
		return;
	}
	json->depth--;
	append(json, "}");
}

void json_number(struct json_writer *json, const char *name, uint64_t value)
{
	member(json, name);
	append(json, "%" PRIu64, value);
}

void json_signed(struct json_writer *json, const char *name, int64_t value)
{
	member(json, name);
	append(json, "%" PRId64, value);
}

void json_string(struct json_writer *json, const char *name, const char *value)
{
	member(json, name);
	append_quoted(json, value);
}
